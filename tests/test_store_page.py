"""The store chat page in headless Chromium: a buyer chats, sends an order card — also from a
phone — survives a dropped connection without losing or duplicating anything, reads 已读 only
once a person has read a message, is told honestly when nobody can take them, and reads no
code or English anywhere on the page."""

import re
import shutil

import pytest
import requests
from sqlalchemy import select, update

from bot import clock
from bot.service import agents
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Agent, Buyer, Conversation, Message, Order, OrderStatus
from tests.helpers import renderings

pytestmark = [pytest.mark.servers, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BOT_REPLIES = ".msg.bot:not(.typing) .bubble"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


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


def open_page(browser, servers, **context):
    page = browser.new_context(**context).new_page()
    page.goto(servers.urls["console"] + "/")
    page.wait_for_selector("body[data-ready='1']")
    return page


@pytest.fixture()
def page(browser, servers):
    page = open_page(browser, servers)
    yield page
    page.context.close()


@pytest.fixture()
def phone(browser, servers):
    page = open_page(browser, servers, **PHONE)
    yield page
    page.context.close()


@pytest.fixture()
def agents_away(servers):
    """Nobody on duty (the demo agents start away; a test before may have changed that)."""
    with session_scope() as s:
        before = {a.id: a.status for a in s.execute(select(Agent)).scalars()}
        s.execute(update(Agent).values(status="away"))
    yield
    with session_scope() as s:
        for agent_id, status in before.items():
            s.execute(update(Agent).where(Agent.id == agent_id).values(status=status))


def bot_texts(page):
    return page.locator(BOT_REPLIES).all_inner_texts()


def wait_for_bot(page, count=1):
    page.wait_for_function(f"document.querySelectorAll('{BOT_REPLIES}').length >= {count}", timeout=30000)


def as_shown(texts):
    return [t.replace("[微笑]", "🙂").replace("[抱拳]", "🙏").replace("[玫瑰]", "🌹") for t in texts]


def say(page, text):
    before = len(bot_texts(page))
    page.fill("#text", text)
    page.press("#text", "Enter")
    wait_for_bot(page, before + 1)


def nick_of(page):
    return page.get_attribute("#me", "data-nick")


def conversation_of(nick):
    with session_scope() as s:
        buyer_id = s.execute(select(Buyer.id).where(Buyer.nick == nick)).scalar_one()
        return s.execute(select(Conversation.id).where(Conversation.buyer_id == buyer_id)).scalar_one()


def receipts(page):
    return page.locator(".msg.buyer .receipt").all_inner_texts()


def codes_and_english(text):
    """What the rendered page must not show: words of Latin letters (outside URLs and order
    numbers) and emoticon codes like [微笑]."""
    text = re.sub(r"https?://\S+", "", text)
    text = re.sub(r"\d{12,20}", "", text)
    return re.findall(r"[a-z_]{4,}", text) + re.findall(r"\[[^\[\]\s]{1,6}\]", text)


# --- chatting --------------------------------------------------------------------------------------


def test_buyer_chats_with_the_bot(page):
    assert "青衫男装旗舰店" in page.title()
    say(page, "包邮吗")
    assert bot_texts(page)[-1] in as_shown(renderings("logistics.free_shipping"))
    page.wait_for_timeout(2000)  # a poll or two: the bot's answer is no person's read
    assert receipts(page) == [""]


def test_enter_sends_shift_enter_breaks_the_line_and_an_input_method_is_left_alone(page):
    page.fill("#text", "包邮吗")
    page.press("#text", "Shift+Enter")
    page.keyboard.type("今天能发吗")
    assert page.input_value("#text") == "包邮吗\n今天能发吗"
    # Enter that confirms a 拼音 candidate is the input method's, not a send
    for composing in ({"isComposing": True}, {"keyCode": 229}):
        page.eval_on_selector(
            "#text",
            "(t, extra) => t.dispatchEvent(new KeyboardEvent('keydown',"
            " {key: 'Enter', bubbles: true, cancelable: true, ...extra}))",
            composing,
        )
    page.wait_for_timeout(300)
    assert page.locator(".msg.buyer").count() == 0 and page.input_value("#text") == "包邮吗\n今天能发吗"

    page.press("#text", "Enter")
    wait_for_bot(page)
    assert page.input_value("#text") == ""
    assert page.locator(".msg.buyer .bubble").all_inner_texts() == ["包邮吗\n今天能发吗"]


def test_each_new_visitor_gets_a_nick_of_their_own(browser, servers):
    first = open_page(browser, servers)
    nick = nick_of(first)
    assert re.fullmatch(r"访客\d{4}", nick), nick
    say(first, "在吗")
    with session_scope() as s:  # the agents see the same nick
        assert s.execute(select(Buyer).where(Buyer.nick == nick)).scalar_one().id.startswith("guest_")

    second = open_page(browser, servers)
    assert re.fullmatch(r"访客\d{4}", nick_of(second)) and nick_of(second) != nick
    assert second.locator("#buyer option").first.inner_text() == nick_of(second)

    first.reload()
    first.wait_for_selector("body[data-ready='1']")
    assert nick_of(first) == nick  # the same visitor after a reload, with their conversation
    assert first.locator(".msg.buyer .bubble").all_inner_texts() == ["在吗"]
    first.context.close()
    second.context.close()


def test_returning_buyer_sends_an_order_card(page):
    page.select_option("#buyer", "tb_regular")
    page.wait_for_selector("#order-list li")  # a buyer with orders sees them first
    cards, answers = page.locator(".msg.buyer .order-card").count(), len(bot_texts(page))
    page.locator("#order-list li").first.click()
    wait_for_bot(page, answers + 1)
    assert "尾号" in bot_texts(page)[-1]
    assert page.locator(".msg.buyer .order-card").count() == cards + 1

    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.input_value("#buyer") == "tb_regular"  # a reload keeps who the buyer is
    assert page.locator(".msg.buyer .order-card").count() == cards + 1  # read back as cards


def test_a_buyer_on_a_phone_sends_an_order_card(phone):
    phone.select_option("#buyer", "tb_regular")
    phone.wait_for_selector("#order-list li", state="attached")
    cards, answers = phone.locator(".msg.buyer .order-card").count(), len(bot_texts(phone))
    assert not phone.is_visible("#order-list li")  # no side panel on a phone …
    phone.tap("#more")  # … but a + with the buyer's orders
    phone.tap(".more-panel [data-open='orders']")
    shipped = phone.locator("#order-list li", has_text="已发货").first
    shipped.wait_for(state="visible")
    box = shipped.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    tail = shipped.locator(".order-no").inner_text()[2:6]
    shipped.tap()

    phone.wait_for_function(f"document.querySelectorAll('.msg.buyer .order-card').length > {cards}")
    card = phone.locator(".msg.buyer .order-card").last
    assert not phone.is_visible("#order-list li")  # the sheet closed
    with session_scope() as s:
        order = s.execute(
            select(Order).where(
                Order.buyer_id == "tb_regular", Order.status == OrderStatus.SHIPPED, Order.id.endswith(tail)
            )
        ).scalar_one()
        titles = [item.product.title for item in order.items]
        amount = f"¥{order.total_fen / 100:.2f}".rstrip("0").rstrip(".")
    shown = card.inner_text()
    assert all(t in shown for t in titles) and "已发货" in shown and "合计 " + amount in shown
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # the card fits the screen
    card.locator("img").first.wait_for()
    phone.wait_for_function("[...document.querySelectorAll('.msg.buyer .order-card img')].pop().naturalWidth > 0")

    wait_for_bot(phone, answers + 1)
    assert f"尾号{tail}" in bot_texts(phone)[-1] and "已发货" in bot_texts(phone)[-1]


def test_a_product_card_shows_its_picture_name_and_price(page):
    page.click(".tab[data-tab='products']")
    page.locator("#product-list li", has_text="经典纯棉圆领短袖T恤").click()
    card = page.locator(".msg.buyer .product-card")
    card.wait_for()
    assert "经典纯棉圆领短袖T恤" in card.inner_text() and "¥79" in card.inner_text()
    card.locator("img").wait_for()
    page.wait_for_function("document.querySelector('.msg.buyer .product-card img').naturalWidth > 0")
    wait_for_bot(page)
    assert "经典纯棉圆领短袖T恤" in bot_texts(page)[-1]


def test_product_pictures_come_in_the_colour_asked_for(servers):
    base = servers.urls["console"] + "/products/"
    white = requests.get(base + "QS-T001.svg", params={"color": "白色"}, timeout=10)
    black = requests.get(base + "QS-T001.svg", params={"color": "黑色"}, timeout=10)
    assert white.status_code == black.status_code == 200 and white.headers["Content-Type"].startswith("image/svg")
    assert "#f3f3f0" in white.text and "#2e2f33" in black.text and white.text != black.text
    hoodie = requests.get(base + "QS-H001.svg", timeout=10).text
    assert "<svg" in hoodie and hoodie != white.text  # each kind of garment drawn as itself
    assert requests.get(base + "QS-NOPE.svg", timeout=10).status_code == 404


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


def test_an_emoticon_from_the_picker_is_understood(page):
    page.click("#emoji-toggle")
    page.click("#emoticons button[data-code='[赞]']")
    page.wait_for_function(f"document.querySelectorAll('{BOT_REPLIES}').length >= 1")
    assert bot_texts(page)[-1] in as_shown(renderings("dialogue.affirm"))
    assert page.locator(".msg.buyer .bubble").last.inner_text() == "👍"


# --- 已读, and who can help -----------------------------------------------------------------------


def test_read_only_once_a_person_has_read_it(page):
    say(page, "包邮吗")  # the bot answers: nobody has read it
    page.wait_for_timeout(3500)  # two polls
    assert "已读" not in receipts(page) and "未读" not in receipts(page)
    conversation = conversation_of(nick_of(page))

    with session_scope() as s:  # an agent opens the conversation (the workbench sets read_at)
        s.execute(update(Message).where(Message.conversation_id == conversation).values(read_at=clock.now()))
    page.wait_for_function("[...document.querySelectorAll('.msg.buyer .receipt')].some(r => r.textContent === '已读')")
    assert receipts(page) == ["已读"]

    # With a person: 未读 until they read it, then 已读 — and no bot answer meanwhile.
    with session_scope() as s:
        xiaomei = s.execute(select(Agent.id).where(Agent.login == "xiaomei")).scalar_one()
        s.execute(
            update(Conversation).where(Conversation.id == conversation).values(handled_by="agent", agent_id=xiaomei)
        )
    try:
        page.fill("#text", "我想问问衣服洗了缩水怎么办")
        page.press("#text", "Enter")
        page.wait_for_function(
            "[...document.querySelectorAll('.msg.buyer .receipt')].map(r => r.textContent).join() === '已读,未读'",
            timeout=15000,
        )
        page.wait_for_timeout(3500)
        assert receipts(page) == ["已读", "未读"] and len(bot_texts(page)) == 1
        assert "小美" in page.inner_text("#service-banner")
        with session_scope() as s:
            s.execute(update(Message).where(Message.conversation_id == conversation).values(read_at=clock.now()))
        page.wait_for_function(
            "[...document.querySelectorAll('.msg.buyer .receipt')].map(r => r.textContent).join() === '已读,已读'"
        )
    finally:
        with session_scope() as s:
            s.execute(
                update(Conversation).where(Conversation.id == conversation).values(handled_by="bot", agent_id=None)
            )


def test_with_nobody_online_the_page_says_so_and_where_the_buyer_waits(phone, agents_away):
    banner = phone.locator("#service-banner")
    banner.wait_for()
    assert "人工客服暂不在线" in banner.inner_text() and "排队" not in banner.inner_text()
    say(phone, "转人工")
    phone.wait_for_selector("#service-banner.offline", timeout=10000)
    shown = banner.inner_text()
    assert "客服暂时不在线" in shown and "已为您留言排队" in shown
    with session_scope() as s:
        conv = s.get(Conversation, conversation_of(nick_of(phone)))
        place = agents.place_in_queue(s, conv, shop(), clock.now())
        assert place is not None and place.agents_on_duty == 0
        s.execute(update(Conversation).where(Conversation.id == conv.id).values(handled_by="bot", queued_at=None))
    assert f"第{place.position}位" in shown
    box = banner.bounding_box()
    assert box["y"] < 200 and box["width"] <= 390  # at the top of a phone's screen, not in the chat


def test_the_page_api_needs_the_buyers_own_cookie(servers):
    base = servers.urls["console"]
    for path in ("/api/history", "/api/service", "/api/orders"):
        assert requests.get(base + path, timeout=10).status_code == 401
    forged = {"xiaoer_buyer": "tb_regular.0123456789abcdef0123456789abcdef"}
    assert requests.get(base + "/api/history", cookies=forged, timeout=10).status_code == 401
    assert requests.get(base + "/api/service", cookies=forged, timeout=10).status_code == 401
    with requests.Session() as http:
        http.post(base + "/api/session", json={"buyer_id": "tb_newbie"}, timeout=10)
        assert http.get(base + "/api/history", timeout=10).json()["buyer_id"] == "tb_newbie"
        assert http.get(base + "/api/service", timeout=10).json()["handled_by"] in ("bot", "queue", "agent")
        # asking to be a visitor gives a visitor, not the buyer this browser was
        guest = http.post(base + "/api/session", json={"guest": True}, timeout=10).json()
        assert guest["buyer_id"].startswith("guest_") and re.fullmatch(r"访客\d{4}", guest["nick"])


# --- no codes, no English ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_page_shows_no_code_or_english(browser, servers, agents_away, size):
    page = open_page(browser, servers, **(PHONE if size == "phone" else {"viewport": {"width": 1366, "height": 800}}))
    try:
        page.select_option("#buyer", "tb_regular")
        page.wait_for_selector("#order-list li", state="attached")
        if size == "phone":
            page.tap("#more")
            page.tap(".more-panel [data-open='products']")
        else:
            page.click(".tab[data-tab='products']")
        before = len(bot_texts(page))
        page.locator("#product-list li", has_text="经典纯棉圆领短袖T恤").click()
        wait_for_bot(page, before + 1)
        if size == "phone":
            page.tap("#more")
            page.tap(".more-panel [data-open='orders']")
        else:
            page.click(".tab[data-tab='orders']")
        before = len(bot_texts(page))
        page.locator("#order-list li", has_text="退款中").first.click()
        wait_for_bot(page, before + 1)
        say(page, "在吗")  # answered with [微笑]: shown as 🙂
        say(page, "转人工")
        page.wait_for_selector("#service-banner.offline", timeout=10000)
        if size == "phone":
            page.tap("#emoji-toggle-phone")
        else:
            page.click("#emoji-toggle")
        shown = page.evaluate("document.body.innerText")
        assert "🙂" in shown and "退款中" in shown
        assert codes_and_english(shown) == []
    finally:
        with session_scope() as s:
            s.execute(
                update(Conversation)
                .where(Conversation.buyer_id == "tb_regular")
                .values(handled_by="bot", agent_id=None, queued_at=None)
            )
        page.context.close()
