"""The store chat page in headless Chromium: a buyer chats, sends an order card, survives a
dropped connection without losing or duplicating anything."""

import shutil

import pytest
import requests

from tests.helpers import renderings

pytestmark = [pytest.mark.servers, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BOT_REPLIES = ".msg.bot:not(.typing) .bubble"


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, servers):
    context = browser.new_context()
    page = context.new_page()
    page.goto(servers.urls["console"] + "/")
    page.wait_for_selector("body[data-ready='1']")
    yield page
    context.close()


def bot_texts(page):
    return page.locator(BOT_REPLIES).all_inner_texts()


def as_shown(texts):
    return [t.replace("[微笑]", "🙂").replace("[抱拳]", "🙏").replace("[玫瑰]", "🌹") for t in texts]


def test_buyer_chats_with_the_bot(page):
    assert "青衫男装旗舰店" in page.title()
    page.fill("#text", "包邮吗")
    page.press("#text", "Enter")
    page.wait_for_function(f"document.querySelectorAll('{BOT_REPLIES}').length >= 1")
    assert bot_texts(page)[-1] in as_shown(renderings("logistics.free_shipping"))
    assert page.locator(".msg.buyer .meta").last.inner_text() == "已读"


def test_returning_buyer_sends_an_order_card(page):
    page.select_option("#buyer", "tb_regular")
    page.wait_for_selector("#order-list li")
    page.locator("#order-list li").first.click()
    page.wait_for_function(f"document.querySelectorAll('{BOT_REPLIES}').length >= 1")
    assert "尾号" in bot_texts(page)[-1]


def test_a_dropped_connection_is_retried_once_and_shown_once(page):
    dropped = []

    def drop_first(route):
        if not dropped:
            dropped.append(route.request.post_data)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/chat", drop_first)
    page.fill("#text", "能发顺丰吗")
    page.press("#text", "Enter")
    page.wait_for_function(f"document.querySelectorAll('{BOT_REPLIES}').length >= 1", timeout=30000)
    assert dropped, "the first attempt should have been cut"
    assert len(page.locator(".msg.buyer").all()) == 1 and len(bot_texts(page)) == 1

    page.unroute("**/api/chat")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    buyers = page.locator(".msg.buyer .bubble").all_inner_texts()
    assert buyers.count("能发顺丰吗") == 1 and len(bot_texts(page)) == 1


def test_the_page_api_needs_the_buyers_own_cookie(servers):
    base = servers.urls["console"]
    assert requests.get(base + "/api/history", timeout=10).status_code == 401
    forged = {"xiaoer_buyer": "tb_regular.0123456789abcdef0123456789abcdef"}
    assert requests.get(base + "/api/history", cookies=forged, timeout=10).status_code == 401
    with requests.Session() as http:
        http.post(base + "/api/session", json={"buyer_id": "tb_newbie"}, timeout=10)
        assert http.get(base + "/api/history", timeout=10).json()["buyer_id"] == "tb_newbie"


def test_an_emoticon_from_the_picker_is_understood(page):
    page.click("#emoticons button[data-code='[赞]']")
    page.wait_for_function(f"document.querySelectorAll('{BOT_REPLIES}').length >= 1")
    assert bot_texts(page)[-1] in as_shown(renderings("dialogue.affirm"))
    assert page.locator(".msg.buyer .bubble").last.inner_text() == "👍"
