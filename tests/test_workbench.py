"""The agent workbench and the queue, through the real pages in headless Chromium and the
real servers: login, a waiting buyer, one-click suggested replies reaching the buyer's
page, capacity, and a queue that counts down as agents free up."""

import shutil

import pytest
import requests
from sqlalchemy import select, update

from bot.store.db import session_scope
from bot.store.models import Agent, Conversation, Message, Shop
from tests.helpers import console_event, console_post, matches, new_buyer

pytestmark = [pytest.mark.servers, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _reset(max_sessions):
    with session_scope() as s:
        s.execute(update(Agent).values(status="away", max_sessions=max_sessions))
        s.execute(
            update(Conversation)
            .where(Conversation.handled_by != "bot")
            .values(handled_by="bot", agent_id=None, queued_at=None)
        )
        s.execute(update(Shop).values(mode="auto"))


@pytest.fixture()
def pool(servers):
    """No one waiting, agents away with room for one buyer each; afterwards put back."""
    _reset(max_sessions=1)
    yield
    _reset(max_sessions=12)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
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
        yield b
        b.close()


def log_in(browser, servers, login):
    page = browser.new_context().new_page()
    page.goto(servers.urls["console"] + "/workbench")
    assert page.url.endswith("/login")  # the workbench needs a login
    page.fill("#user", login)
    page.fill("#password", "xiaoer123")
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    return page


def set_status(page, status):
    page.select_option("#status", status)
    page.wait_for_function(f"document.getElementById('status').value === '{status}'")


def buyer_says(servers, buyer, text):
    resp = console_post(servers, console_event(buyer, text))
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_agent_answers_a_buyer_with_a_suggested_reply(browser, servers, pool):
    agent = log_in(browser, servers, "xiaomei")
    set_status(agent, "online")

    buyer_page = browser.new_context().new_page()
    buyer_page.goto(servers.urls["console"] + "/")
    buyer_page.wait_for_selector("body[data-ready='1']")
    buyer_page.fill("#text", "转人工")
    buyer_page.press("#text", "Enter")
    buyer_page.wait_for_function("document.querySelectorAll('.msg.bot:not(.typing)').length >= 1")

    agent.wait_for_selector("#mine li")
    agent.click("#mine li")
    buyer_page.fill("#text", "包邮吗")
    buyer_page.press("#text", "Enter")
    # the suggestions for 包邮吗 replace those shown for the earlier 转人工
    first = agent.locator(".suggestion .use", has_text="99").first
    first.wait_for(timeout=15000)
    assert len(agent.locator(".suggestion").all()) == 3
    first.click()

    buyer_page.wait_for_function(
        "[...document.querySelectorAll('.msg .meta')].some(m => m.textContent === '人工客服')", timeout=15000
    )
    shown = buyer_page.locator(".msg.bot .bubble").last.inner_text()
    with session_scope() as s:
        sent = s.execute(select(Message).where(Message.sender == "agent").order_by(Message.id.desc())).scalars().first()
        assert sent.phrase_id and sent.intent and sent.edited is False  # the agent's choice: a label for trainers
    assert "99" in shown and shown == sent.text.replace("[微笑]", "🙂").replace("[抱拳]", "🙏").replace("[玫瑰]", "🌹")


def test_capacity_then_a_queue_that_counts_down(browser, servers, pool):
    first_agent = log_in(browser, servers, "xiaomei")
    second_agent = log_in(browser, servers, "laowang")
    set_status(first_agent, "online")
    set_status(second_agent, "online")

    buyers = [new_buyer() for _ in range(4)]
    for buyer in buyers[:2]:
        buyer_says(servers, buyer, "转人工")
    with session_scope() as s:
        holders = [
            s.execute(select(Conversation).where(Conversation.buyer_id == b)).scalar_one().agent_id for b in buyers[:2]
        ]
    assert None not in holders and holders[0] != holders[1]  # each agent's limit of one is respected

    third = buyer_says(servers, buyers[2], "转人工")["replies"][0]["text"]
    fourth = buyer_says(servers, buyers[3], "转人工")["replies"][0]["text"]
    assert matches(third, "peak.agents_busy") and matches(fourth, "peak.agents_busy")
    assert "1" in third and "2" in fourth

    queue_page = first_agent.context.new_page()
    queue_page.goto(servers.urls["console"] + "/queue")
    queue_page.wait_for_function("document.querySelectorAll('#waiting tr').length === 2")

    # the second buyer is done: the agent gives them back; the queue moves up
    first_agent.click("#mine li")
    first_agent.wait_for_selector("#give-back:not([hidden])")
    first_agent.click("#give-back")
    queue_page.wait_for_function("document.querySelectorAll('#waiting tr').length === 1", timeout=10000)
    with session_scope() as s:
        third_conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyers[2])).scalar_one()
        fourth_conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyers[3])).scalar_one()
        assert third_conv.handled_by == "agent"
        update_for_fourth = (
            s.execute(select(Message.text).where(Message.conversation_id == fourth_conv.id, Message.kind == "notice"))
            .scalars()
            .all()
        )
    assert any(matches(t, "peak.queue_update") and "1" in t for t in update_for_fourth)


def test_a_handed_off_buyer_talks_to_the_agent_not_the_bot(servers, pool):
    with session_scope() as s:
        s.execute(update(Agent).where(Agent.login == "ajie").values(status="online"))
    buyer = new_buyer()
    buyer_says(servers, buyer, "我要退款")
    buyer_says(servers, buyer, "转人工")  # after a refund question: an after-sales agent (阿杰)
    later = buyer_says(servers, buyer, "包邮吗")
    assert later["handled_by"] == "agent" and later["replies"] == []
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert conv.handled_by == "agent" and conv.skill == "aftersale"
        stored = s.execute(
            select(Message).where(Message.conversation_id == conv.id, Message.text == "包邮吗")
        ).scalar_one()
        assert stored.answered_at is not None  # delivered to the agent, not lost


def test_pages_need_a_login_and_agents_stay_in_their_shop(servers):
    base = servers.urls["console"]
    assert requests.get(base + "/workbench", allow_redirects=False, timeout=10).status_code == 302
    assert requests.get(base + "/api/queue", timeout=10).status_code == 401
    assert (
        requests.post(base + "/api/login", json={"login": "xiaomei", "password": "nope"}, timeout=10).status_code == 401
    )
    forged = {"xiaoer_session": "1.0123456789abcdef0123456789abcdef"}
    assert requests.get(base + "/api/queue", cookies=forged, timeout=10).status_code == 401
