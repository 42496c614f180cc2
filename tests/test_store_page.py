"""The store chat page in headless Chromium: a buyer chats with the bot."""
import shutil

import pytest

pytestmark = [pytest.mark.servers, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def page(servers):
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        page = browser.new_page()
        page.goto(servers.urls["console"] + "/")
        page.wait_for_selector("#product-list li")
        yield page
        browser.close()


def test_buyer_chats_with_the_bot(page):
    from tests.helpers import renderings

    assert "青衫男装旗舰店" in page.title()
    page.fill("#text", "包邮吗")
    page.press("#text", "Enter")
    reply = page.locator(".msg.bot:not(.typing) .bubble").last
    reply.wait_for(timeout=30000)
    text = reply.inner_text()
    expected = [t.replace("[微笑]", "🙂") for t in renderings("logistics.free_shipping")]
    assert text in expected
    assert page.locator(".msg.buyer .meta").last.inner_text() == "已读"


def test_quick_question_chip_and_handoff(page):
    page.click("#chips button:text('转人工')")
    page.wait_for_function("document.querySelectorAll('.msg.bot:not(.typing)').length >= 2")
    assert "人工" in page.locator(".msg.bot:not(.typing) .bubble").last.inner_text()
