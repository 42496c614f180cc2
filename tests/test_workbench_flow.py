"""The workbench a Qianniu user would switch to.

First the service floor on the shop database (bot/service/casework.py, inbox.py and the
store's read receipts): unread counts and 已读, who waits since when, transfer to a colleague
with a note, internal notes, tags, states (resolving serves the queue), history search, and
the refusals in Chinese. Then an agent's whole shift through the real pages in headless
Chromium against the real servers: a new buyer appears without a reload with their unread
count and wait timer, take over, a "/" phrase filled with the buyer's order, transfer with a
note that the colleague sees, resolve, search the history.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import bcrypt
import pytest
import requests
from sqlalchemy import select, update

from bot.console.workbench import _refusal
from bot.service import agents, casework, inbox
from bot.service.suggestions import HANDOFF_WORDS, confidence_label, suggest
from bot.shop.config import shop
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import (
    Agent,
    Buyer,
    Conversation,
    ConversationNote,
    Message,
    NoteKind,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    Shop,
)
from tests.factories import buyer_with_order
from tests.helpers import console_event, console_post, new_buyer
from tests.test_workbench import browser, log_in, set_status  # noqa: F401  (the browser fixture)

NOW = datetime(2026, 11, 20, 10, 30)


# --- the service floor, on the shop database ---------------------------------------------------


def _agent(session, name, skills=("presale",), status="online", limit=3, role="agent", shop_id="qingshan"):
    a = Agent(
        shop_id=shop_id,
        login=name,
        name=name,
        skills=list(skills),
        max_sessions=limit,
        status=status,
        role=role,
        password_hash=bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode(),
    )
    session.add(a)
    session.flush()
    return a


def _conversation(session, buyer="b1", nick="阿强"):
    session.add(Buyer(id=buyer, shop_id="qingshan", nick=nick, created_at=NOW - timedelta(days=30)))
    conv = Conversation(shop_id="qingshan", buyer_id=buyer, started_at=NOW, last_message_at=NOW)
    session.add(conv)
    session.flush()
    return conv


def _held_by(session, agent, buyer="b1", nick="阿强"):
    conv = _conversation(session, buyer, nick)
    agents.request_agent(session, conv, "buyer_asked", "presale", NOW)
    assert conv.agent_id == agent.id
    return conv


def _say(session, conv, text, at, sender="buyer", kind="text"):
    direction = "in" if sender == "buyer" else "out"
    message_id = f"m{at}" if sender == "buyer" else None
    msg = conversations.record(session, conv, direction, sender, text, message_id=message_id, kind=kind)
    msg.created_at = NOW + timedelta(seconds=at)
    session.flush()
    return msg


def test_unread_counts_until_the_holding_agent_reads(shop_db):
    mei = _agent(shop_db, "mei")
    other = _agent(shop_db, "other")
    conv = _held_by(shop_db, mei)
    _say(shop_db, conv, "在吗", 1)
    _say(shop_db, conv, "", 2, kind="enter_shop")  # not a message to read
    _say(shop_db, conv, "包邮吗", 3)
    assert conversations.unread_counts(shop_db, [conv.id]) == {conv.id: 2}

    assert inbox.read(shop_db, other, conv, NOW) == 0  # a colleague looking is not the buyer's agent reading
    assert conversations.unread_counts(shop_db, [conv.id]) == {conv.id: 2}
    assert inbox.read(shop_db, mei, conv, NOW) == 3
    shop_db.expire_all()
    stored = shop_db.execute(select(Message).where(Message.conversation_id == conv.id)).scalars().all()
    assert all(m.read_at == NOW for m in stored) and conversations.unread_counts(shop_db, [conv.id]) == {}


def test_a_buyer_waits_from_their_oldest_unanswered_message(shop_db):
    mei = _agent(shop_db, "mei")
    conv = _conversation(shop_db)
    _say(shop_db, conv, "在吗", 0)
    _say(shop_db, conv, "亲，在的", 1, sender="bot")
    first = _say(shop_db, conv, "转人工", 10)
    conv.queued_at = NOW + timedelta(seconds=10, milliseconds=5)  # the handoff, during the bot's turn
    agents.take_over(conv, mei)
    _say(shop_db, conv, "正在为您转接人工客服", 11, sender="bot")  # what the bot says then answers nothing
    _say(shop_db, conv, "人呢", 20)
    assert conversations.waiting_since(shop_db, [conv.id])[conv.id].id == first.id

    _say(shop_db, conv, "您好，我是客服mei", 30, sender="agent")
    assert conversations.waiting_since(shop_db, [conv.id]) == {}
    later = _say(shop_db, conv, "能便宜点吗", 40)
    [row] = inbox.rows(shop_db, [conv], NOW + timedelta(seconds=52), mei)
    assert row["wait_since_id"] == later.id and row["wait_seconds"] == 12 and row["unread"] == 4
    assert row["buyer"] == "阿强" and row["reason"] == "客服主动接管" and row["last"] == "能便宜点吗"


def test_taking_over_from_the_bot_starts_no_wait_for_what_the_bot_answered(shop_db):
    mei = _agent(shop_db, "mei")
    conv = _conversation(shop_db)
    _say(shop_db, conv, "包邮吗", 0)
    _say(shop_db, conv, "满99包邮", 1, sender="bot")
    agents.take_over(conv, mei, NOW + timedelta(seconds=5))
    assert conv.queued_at == NOW + timedelta(seconds=5) and conversations.waiting_since(shop_db, [conv.id]) == {}


def test_transfer_to_an_online_colleague_of_the_shop_with_a_note(shop_db):
    mei = _agent(shop_db, "mei")
    jie = _agent(shop_db, "jie", skills=("aftersale",))
    away = _agent(shop_db, "away", status="away")
    full = _agent(shop_db, "full", limit=0)
    shop_db.add(Shop(id="other", name="别家"))
    outsider = _agent(shop_db, "outsider", shop_id="other")
    conv = _held_by(shop_db, mei)

    refused = [(away.id, "不在线"), (full.id, "接待已满"), (outsider.id, "没有这位同事"), (mei.id, "已经由")]
    for target, reason in refused:
        with pytest.raises(casework.DeskError, match=reason):
            casework.transfer(shop_db, conv, mei, target, "", NOW)
    with pytest.raises(casework.Invalid, match="请选择"):
        casework.transfer(shop_db, conv, mei, "jie", "", NOW)
    with pytest.raises(casework.Invalid, match="500"):
        casework.transfer(shop_db, conv, mei, jie.id, "长" * 501, NOW)
    assert conv.agent_id == mei.id  # nothing changed

    assert casework.transfer(shop_db, conv, mei, jie.id, "买家要换L码，库存已核实", NOW) is jie
    assert (conv.handled_by, conv.agent_id) == ("agent", jie.id)
    note = casework.latest_transfer(shop_db, conv)
    assert (note.kind, note.agent_id, note.to_agent_id) == ("transfer", mei.id, jie.id)
    assert note.text == "买家要换L码，库存已核实"
    [row] = inbox.rows(shop_db, [conv], NOW, jie)
    assert row["transfer"] == {"from": "mei", "note": "买家要换L码，库存已核实"}
    joined = shop_db.execute(select(Message).where(Message.kind == "notice")).scalars().all()
    assert any("jie" in m.text for m in joined)  # the buyer is told who serves them now
    with pytest.raises(casework.NotAllowed, match="请先接管"):
        casework.own_conversation(shop_db, mei, conv.id)  # no longer hers


def test_notes_are_internal_and_checked(shop_db):
    mei = _agent(shop_db, "mei")
    conv = _held_by(shop_db, mei)
    for bad, reason in [("", "不能为空"), ("   ", "不能为空"), (None, "要填文字"), ("字" * 501, "最多500")]:
        with pytest.raises(casework.Invalid, match=reason):
            casework.add_note(shop_db, conv, mei, bad, NOW)
    casework.add_note(shop_db, conv, mei, "答应周五前发货\x07", NOW)
    [note] = casework.notes(shop_db, conv)
    assert (note.kind, note.text) == (NoteKind.NOTE, "答应周五前发货")
    assert inbox.notes_json(shop_db, [note])[0]["author"] == "mei"
    # notes are never messages: the buyer's chat holds nothing of it
    assert not shop_db.execute(select(Message).where(Message.text.contains("周五"))).scalars().all()


def test_tags_are_short_unique_and_removable(shop_db):
    conv = _conversation(shop_db)
    assert casework.add_tag(conv, " 尺码 ") == ["尺码"]
    assert casework.add_tag(conv, "尺码") == ["尺码"]
    casework.add_tag(conv, "大客户")
    for bad, reason in [("", "不能为空"), ("超过八个字的长标签啊", "最多8"), ("两 个", "空格"), (3, "要填文字")]:
        with pytest.raises(casework.Invalid, match=reason):
            casework.add_tag(conv, bad)
    for i in range(6):
        casework.add_tag(conv, f"标签{i}")
    with pytest.raises(casework.Invalid, match="最多8个标签"):
        casework.add_tag(conv, "再来一个")
    assert casework.remove_tag(conv, "尺码")[0] == "大客户"
    shop_db.flush()
    shop_db.expire_all()
    assert "尺码" not in shop_db.get(Conversation, conv.id).tags


def test_states_and_resolving_frees_the_place_for_the_queue(shop_db):
    mei = _agent(shop_db, "mei", limit=1)
    conv = _held_by(shop_db, mei)
    waiting = _conversation(shop_db, "b2", "小李")
    agents.request_agent(shop_db, waiting, "buyer_asked", "presale", NOW)
    assert waiting.handled_by == "queue"

    casework.set_state(shop_db, conv, mei, "waiting_buyer", shop(), NOW)
    assert conv.state == "waiting_buyer" and conv.agent_id == mei.id  # still hers
    with pytest.raises(casework.Invalid, match="进行中、等待买家、已解决"):
        casework.set_state(shop_db, conv, mei, "closed", shop(), NOW)

    casework.set_state(shop_db, conv, mei, "resolved", shop(), NOW)
    assert (conv.state, conv.resolved_at, conv.handled_by, conv.agent_id) == ("resolved", NOW, "bot", None)
    assert (waiting.handled_by, waiting.agent_id) == ("agent", mei.id)  # the queue was served
    assert inbox.state_label(conv.state) == "已解决"

    # the buyer writing again reopens it
    conversations.record_inbound(shop_db, conv, "again", "还有个问题", "text", None)
    shop_db.expire_all()
    assert shop_db.get(Conversation, conv.id).state == "open"


def test_only_own_conversations_and_only_the_shops(shop_db):
    mei = _agent(shop_db, "mei")
    boss = _agent(shop_db, "boss", role="supervisor")
    shop_db.add(Shop(id="other", name="别家"))
    outsider = _agent(shop_db, "outsider", shop_id="other")
    conv = _held_by(shop_db, mei)
    with pytest.raises(casework.NotAllowed, match="不是本店的会话"):
        casework.conversation_of_shop(shop_db, outsider, conv.id)
    with pytest.raises(casework.Invalid, match="会话编号不对"):
        casework.conversation_of_shop(shop_db, mei, "1 or 1=1")
    with pytest.raises(casework.NotAllowed, match="不是本店"):
        casework.conversation_of_shop(shop_db, mei, 99999)
    assert casework.own_conversation(shop_db, boss, conv.id) is conv  # a supervisor may act on it
    with pytest.raises(casework.NotAllowed, match="请先接管"):
        casework.own_conversation(shop_db, boss, _conversation(shop_db, "b3").id)  # the bot's: take it first


def _order(session, buyer_id, order_id, sku="QS-T001"):
    product = Product(shop_id="qingshan", sku=sku, title="经典纯棉圆领短袖T恤", category="T恤", price_fen=7900,
                      material="棉")  # fmt: skip
    session.add(product)
    session.flush()
    order = Order(id=order_id, shop_id="qingshan", buyer_id=buyer_id, status=OrderStatus.PAID, created_at=NOW,
                  paid_at=NOW, goods_fen=7900, express="YTO", receiver_name="王强", receiver_phone="138",
                  province="浙江", city="杭州", address="x", note="",
                  items=[OrderItem(product_id=product.id, color="黑色", size="L", quantity=1,
                                   unit_price_fen=7900)])  # fmt: skip
    session.add(order)
    session.flush()
    return order


def test_history_search_by_nick_text_order_and_tag_within_the_shop(shop_db):
    mei = _agent(shop_db, "mei")
    shop_db.add(Shop(id="other", name="别家"))
    outsider = _agent(shop_db, "outsider", shop_id="other")
    first = _conversation(shop_db, "b1", "爱穿T恤的阿强")
    second = _conversation(shop_db, "b2", "小李")
    _say(shop_db, first, "这件会不会起球", 1)
    _say(shop_db, second, "什么时候发货", 2)
    _order(shop_db, "b2", "3000000000000004321")
    casework.add_tag(second, "催发货")
    elsewhere = Conversation(shop_id="other", buyer_id="b9", started_at=NOW, last_message_at=NOW)
    shop_db.add(elsewhere)
    shop_db.flush()
    conversations.record(shop_db, elsewhere, "in", "buyer", "会不会起球", message_id="x")

    def found(query, who=mei):
        return [(f.conversation.id, f.matched) for f in casework.search_history(shop_db, who, query)]

    assert found("阿强") == [(first.id, "买家")]
    assert found("起球") == [(first.id, "聊天内容")]  # not the other shop's buyer
    assert found("4321") == [(second.id, "订单号")]
    assert found("催发") == [(second.id, "标签")]
    assert found("100%") == [] and found("没有的词") == []
    assert {c for c, _ in found("")} == {first.id, second.id}  # the most recent
    assert found("起球", outsider) == [(elsewhere.id, "聊天内容")]
    snippet = casework.search_history(shop_db, mei, "起球")[0].snippet
    assert "起球" in snippet
    with pytest.raises(casework.Invalid, match="最多40"):
        casework.search_history(shop_db, mei, "长" * 41)


def test_cards_show_the_product_and_the_buyers_own_order(shop_db):
    conv = _conversation(shop_db)
    _order(shop_db, "b1", "3000000000000001234")
    shop_db.add(Buyer(id="b2", shop_id="qingshan", nick="别人", created_at=NOW))
    shop_db.flush()
    cards = inbox.Cards(shop_db, "b1")
    order_msg = _say(shop_db, conv, "[订单卡片] 3000000000000001234", 1, kind="order_card")
    card = inbox.message_json(order_msg, cards, NOW)["card"]
    assert card["state"] == "待发货" and card["total"] == "79" and card["items"][0]["spec"] == "黑色 L码"
    assert "buyer_id" not in card
    product_msg = _say(shop_db, conv, "[商品卡片] QS-T001", 2, kind="product_card")
    product = inbox.message_json(product_msg, cards, NOW)["card"]
    assert (product["title"], product["price"], product["category"]) == ("经典纯棉圆领短袖T恤", "79", "T恤")
    theirs = inbox.Cards(shop_db, "b2").order("3000000000000001234")
    assert theirs == {"type": "order", "foreign": True, "tail": "1234"}  # another buyer's order: not shown
    assert inbox.preview(order_msg) == "[订单] 尾号1234" and inbox.preview(product_msg) == "[商品]"
    assert inbox.discussed_order([order_msg, product_msg]) == "3000000000000001234"


def test_the_agent_reads_names_not_codes(shop_db):
    shown = inbox.display_nick(None, "guest_3fa9c2d1e0")
    assert re.fullmatch(r"访客\d{4}", shown) and shown == inbox.display_nick(None, "guest_3fa9c2d1e0")
    assert inbox.display_nick(None, "guest_ffbcfebbfe") != inbox.display_nick(None, "guest_3fa9c2d1e0")
    assert inbox.display_nick(Buyer(id="tb_1", nick="老顾客阿强"), "tb_1") == "老顾客阿强"
    summary = inbox.summary_json(
        {
            "reason": "not_understood",
            "skill": "aftersale",
            "intents": ["ask_shipping_fee", "nlu_fallback", "nlu_fallback"],
            "last_buyer_message": "x",
            "bot_said": [],
        }  # fmt: skip
    )
    assert summary["reason"] == "机器人连续没读懂" and summary["skill"] == "售后"
    assert summary["intents"] == ["运费/包邮", "没读懂"]
    assert [confidence_label(c) for c in (0.95, 0.6, 0.3, 0.0)] == ["高", "中", "低", ""]
    assert agents.STATUS_LABELS["away"] == "离开"


def test_a_person_is_never_offered_the_bots_handover_lines(shop_db):
    shop_db.add(Buyer(id="b1", shop_id="qingshan", nick="阿强", created_at=NOW))
    shop_db.flush()
    found = suggest(shop_db, shop(), "b1", [{"name": "ask_human", "confidence": 0.97}], seed="m",
                    extra={"agent_name": "小美"})  # fmt: skip
    assert found and all(not HANDOFF_WORDS.search(s.text) for s in found)
    assert "小美" in found[0].text  # the person greets the buyer instead
    for intent in ("complain_service", "bulk_order", "share_image"):
        for s in suggest(shop_db, shop(), "b1", [{"name": intent, "confidence": 0.9}], seed="m"):
            assert not HANDOFF_WORDS.search(s.text), s.text


# --- the whole shift, through the real pages ------------------------------------------------------


def _reset():
    with session_scope() as s:
        s.execute(update(Agent).values(status="away", max_sessions=12))
        s.execute(
            update(Conversation)
            .where(Conversation.handled_by != "bot")
            .values(handled_by="bot", agent_id=None, queued_at=None)
        )
        s.execute(update(Shop).values(mode="auto"))


@pytest.fixture()
def shift(servers):
    """Nobody waiting and every agent away; afterwards the same, whatever happened."""
    _reset()
    yield
    _reset()


def _no_alerts(page):
    seen = []
    page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
    return seen


def _visible_text_has_no_codes(page):
    text = page.evaluate(
        """() => {
            const parts = [];
            const walk = (n) => {
              if (n.nodeType === 3) { parts.push(n.textContent); return; }
              if (n.nodeType !== 1) return;
              const st = getComputedStyle(n);
              if (st.display === 'none' || st.visibility === 'hidden') return;
              if (n.tagName === 'SCRIPT' || n.tagName === 'STYLE') return;
              if (n.tagName === 'DIALOG' && !n.open) return;
              for (const c of n.childNodes) walk(c);
            };
            walk(document.body);
            return parts.join(' ');
        }"""
    )
    text = re.sub(r"https?://\S+", "", text)
    return re.findall(r"[a-z_]{4,}", text)


@pytest.mark.servers
@pytest.mark.browser
def test_an_agents_shift_on_the_workbench(browser, servers, shift):  # noqa: F811
    mei = log_in(browser, servers, "xiaomei")
    alerts = _no_alerts(mei)
    set_status(mei, "online")
    mei.wait_for_selector("#offline-banner", state="hidden")

    # A buyer with an order asks for a person: she appears in 我的接待 without a reload,
    # with her unread count and a running wait timer.
    buyer, order_id = buyer_with_order(OrderStatus.PAID)
    resp = console_post(servers, console_event(buyer, "转人工"))
    assert resp.status_code == 200, resp.text
    row = mei.locator("#mine li", has_text="测试买家")
    row.wait_for(timeout=15000)
    assert int(row.locator(".unread-count").inner_text()) >= 1
    wait = row.locator(".wait")
    wait.wait_for()
    assert re.match(r"等待 \d+秒", wait.inner_text())
    first_tick = wait.inner_text()
    mei.wait_for_function(
        "t => document.querySelector('#mine li .wait').textContent !== t", arg=first_tick, timeout=5000
    )

    # Her suggestions are what a person says: no "正在为您转接", no percentages, no codes.
    row.click()
    mei.locator("#suggestions .suggestion").first.wait_for(timeout=15000)
    offered = mei.inner_text("#suggestions")
    assert not HANDOFF_WORDS.search(offered) and "%" not in offered and "小美" in offered
    mei.keyboard.press("Alt+1")  # the first suggestion, sent: the person greets the buyer
    mei.wait_for_selector("#messages .msg.agent .bubble:has-text('小美')", timeout=10000)

    # A buyer who needs after-sales while no after-sales agent is on duty waits in the queue:
    # the count and the list change by themselves.
    queued = new_buyer()
    before = int(mei.inner_text("#queue-size"))
    assert console_post(servers, console_event(queued, "我要退款 转人工")).status_code == 200
    mei.wait_for_function(f"Number(document.getElementById('queue-size').textContent) > {before}", timeout=15000)
    mei.locator("#waiting li", has_text=inbox.display_nick(None, queued)).wait_for()

    # Another buyer chats with the bot: the 机器人接待中 list updates by itself; the agent
    # opens her, cannot type until she takes over (inline, in Chinese), and takes over.
    other = new_buyer()
    assert console_post(servers, console_event(other, "在吗 这款有货吗")).status_code == 200
    bot_row = mei.locator("#with-bot li", has_text=inbox.display_nick(None, other))
    bot_row.wait_for(timeout=15000)
    bot_row.click()
    mei.wait_for_selector("#locked:not([hidden])")
    assert "机器人接待" in mei.inner_text("#locked-text") and mei.locator("#reply").is_disabled()
    mei.keyboard.press("Alt+t")
    mei.wait_for_selector("#give-back:not([hidden])")
    mei.locator("#mine li", has_text=inbox.display_nick(None, other)).wait_for()
    assert mei.locator("#reply").is_enabled()
    mei.locator("#suggestions .suggestion").first.wait_for(timeout=15000)
    # … and gives her back: the suggestions go, and the box says what to do instead
    mei.click("#give-back")
    mei.wait_for_selector("#locked:not([hidden])")
    assert mei.locator("#suggestions").is_hidden() and mei.locator("#locked-take").is_visible()

    # The first buyer sends her order card; the agent opens her: unread cleared, the card shows
    # the order (items, state, amount), not a number.
    card = console_event(buyer, "", type="order_card", order_id=order_id)
    assert console_post(servers, card).status_code == 200
    row.click()
    mei.wait_for_selector("#chat-buyer:has-text('测试买家')")
    order_card = mei.locator("#messages .ocard").last
    order_card.wait_for(timeout=15000)
    assert "待发货" in order_card.inner_text() and "¥79" in order_card.inner_text()
    assert "经典纯棉圆领短袖T恤" in order_card.inner_text()
    mei.wait_for_function("!document.querySelector('#mine li.active .unread-count')")
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        conv_id = conv.id
        unread = s.execute(select(Message).where(Message.conversation_id == conv_id, Message.direction == "in",
                                                 Message.read_at.is_(None))).scalars().all()  # fmt: skip
    assert unread == []  # 已读 now means a person read it
    # the newest message is in view, above the suggestions
    at_end = "m => m.scrollHeight - m.scrollTop - m.clientHeight"
    assert mei.locator("#messages").evaluate(at_end) < 5

    # A "/" phrase, filled with this buyer's order, sent with Enter.
    mei.click("#reply")
    mei.keyboard.type("/没有可撤销")
    phrase = mei.locator("#phrase-pop .phrase").first
    phrase.wait_for(timeout=10000)
    assert order_id in phrase.inner_text()
    mei.keyboard.press("Enter")  # fills the phrase in
    assert order_id in mei.input_value("#reply")
    mei.keyboard.press("Enter")  # sends it
    mei.wait_for_function(
        "id => [...document.querySelectorAll('#messages .msg.agent .bubble')].some(b => b.textContent.includes(id))",
        arg=order_id,
        timeout=10000,
    )
    assert mei.input_value("#reply") == ""
    with session_scope() as s:
        sent = s.execute(select(Message).where(Message.conversation_id == conv_id, Message.sender == "agent")
                         .order_by(Message.id.desc())).scalars().first()  # fmt: skip
    assert order_id in sent.text and sent.phrase_id == "aftersales.nothing_to_withdraw" and sent.edited is False
    with session_scope() as s:  # the reply names who wrote it
        assert s.execute(select(Agent.login).where(Agent.id == sent.agent_id)).scalar_one() == "xiaomei"
    # Shift+Enter is a new line, not a send
    mei.keyboard.type("第一行")
    mei.keyboard.press("Shift+Enter")
    mei.keyboard.type("第二行")
    assert mei.input_value("#reply") == "第一行\n第二行"
    mei.fill("#reply", "")

    # A tag and an internal note.
    mei.click("#tag-presets .chip:has-text('退款')")
    mei.wait_for_selector("#tags .chip.tag:has-text('退款')")
    mei.fill("#note-text", "已查无退款，买家放心")
    mei.click("#note-form button")
    mei.wait_for_selector("#notes .note:has-text('已查无退款')")

    # Nothing on the page is a code.
    assert _visible_text_has_no_codes(mei) == []

    # Transfer to a colleague with a note; the colleague (another browser) sees her and the note.
    jie = log_in(browser, servers, "ajie")
    _no_alerts(jie)
    set_status(jie, "online")
    mei.click("#transfer")
    mei.wait_for_selector("#colleagues .colleague:has-text('阿杰') input:not([disabled])")
    mei.check("#colleagues .colleague:has-text('阿杰') input")
    mei.fill("#transfer-note", "买家问退款进度，已答复，请跟进发货")
    mei.click("#transfer-confirm")
    mei.wait_for_selector("#transfer-dialog:not([open])", state="attached")
    mei.wait_for_selector("#locked:not([hidden])")
    assert "阿杰" in mei.inner_text("#locked-text")
    jie_row = jie.locator("#mine li", has_text="测试买家")
    jie_row.wait_for(timeout=15000)
    assert "买家问退款进度" in jie_row.locator(".transfer-note").inner_text()
    assert "小美" in jie_row.locator(".transfer-note").inner_text()
    jie_row.click()
    jie.wait_for_selector("#notes .note.transfer:has-text('请跟进发货')")
    assert jie.locator("#notes .note:has-text('已查无退款')").count() == 1  # her note came along

    # The colleague resolves it: it leaves the list, the place frees up.
    jie.select_option("#conv-state", "waiting_buyer")
    jie.wait_for_function("document.getElementById('chat-sub').textContent.includes('等待买家')")
    jie.click("#resolve")
    jie.locator("#mine li", has_text="测试买家").wait_for(state="detached", timeout=10000)
    with session_scope() as s:
        conv = s.get(Conversation, conv_id)
        assert (conv.state, conv.handled_by, conv.agent_id) == ("resolved", "bot", None)
        assert s.execute(select(ConversationNote).where(ConversationNote.conversation_id == conv_id)).scalars().all()

    # History finds it by the order number and by the tag, and opens it read-only.
    mei.click("#tab-history")
    for query in (order_id, "退款"):
        mei.fill("#history-q", query)
        mei.press("#history-q", "Enter")
        hit = mei.locator(f"#history-results li[data-id='{conv_id}']")
        hit.wait_for(timeout=10000)
    hit.click()
    mei.wait_for_selector("#readonly-bar:not([hidden])")
    assert "已解决" in mei.inner_text("#chat-sub") and mei.locator("#reply").is_disabled()
    assert alerts == []


@pytest.mark.servers
def test_the_workbench_api_refuses_in_chinese(servers, shift):
    base = servers.urls["console"]
    assert requests.get(base + "/api/workbench/history?q=x", timeout=10).status_code == 401
    http = requests.Session()
    assert http.post(base + "/api/login", json={"login": "xiaomei", "password": "xiaoer123"}, timeout=30).ok
    with session_scope() as s:
        jie = s.execute(select(Agent).where(Agent.login == "ajie")).scalar_one()
        conv = Conversation(shop_id="qingshan", buyer_id=new_buyer(), handled_by="agent", agent_id=jie.id)
        s.add(conv)
        s.flush()
        conv_id, jie_id = conv.id, jie.id

    def post(command, **body):
        return http.post(f"{base}/api/workbench/{command}", json=body, timeout=30)

    cases = [
        (post("transfer", conversation_id=conv_id, to_agent_id=jie_id), 403, "请先接管"),
        (post("set_state", conversation_id=conv_id, state="resolved"), 403, "请先接管"),
        (post("take_over", conversation_id=conv_id), 403, "只有主管"),
        (post("note", conversation_id="abc", text="x"), 400, "会话编号"),
        (post("note", conversation_id=999999, text="x"), 403, "不是本店"),
        (post("note", conversation_id=conv_id, text=""), 400, "不能为空"),
        (post("tag_add", conversation_id=conv_id, tag="一个太长太长的标签"), 400, "最多8"),
        (post("explode"), 404, "没有这个操作"),
        (
            http.post(f"{base}/api/workbench/note", data="{", headers={"Content-Type": "application/json"}, timeout=30),
            400,
            "JSON",
        ),
        (http.get(base + "/api/workbench/history", params={"q": "长" * 41}, timeout=30), 400, "最多40"),
    ]
    for resp, status, words in cases:
        assert resp.status_code == status and words in resp.json()["error"], (resp.status_code, resp.text)
        assert not re.search(r"[a-z_]{4,}", resp.json()["error"])
    # a note on a colleague's buyer of the same shop is fine; search is the shop's
    assert post("note", conversation_id=conv_id, text="看过了").status_code == 200
    found = http.get(base + "/api/workbench/history", params={"q": "看过了"}, timeout=30)
    assert found.status_code == 200
    colleagues = http.get(base + "/api/workbench/colleagues", timeout=30).json()["agents"]
    assert {a["name"] for a in colleagues} >= {"阿杰", "老王"} and "小美" not in {a["name"] for a in colleagues}
    with session_scope() as s:
        assert s.get(Conversation, conv_id).agent_id == jie_id


def test_the_websocket_refuses_with_chinese_reasons():
    assert _refusal(casework.NotAllowed("这位买家不在你的接待中：请先接管")).startswith("这位买家")
    assert _refusal(KeyError("conversation_id")) == "请求格式不对，请刷新页面后再试"


@pytest.mark.servers
@pytest.mark.browser
def test_the_queue_page_shows_no_codes(browser, servers, shift):  # noqa: F811
    waiting = new_buyer()
    assert console_post(servers, console_event(waiting, "我要退款 转人工")).status_code == 200
    page = log_in(browser, servers, "laowang")
    page.goto(servers.urls["console"] + "/queue")
    page.locator("#waiting tr", has_text=inbox.display_nick(None, waiting)).wait_for(timeout=15000)
    assert "售后" in page.inner_text("#waiting") and "买家要求人工" in page.inner_text("#waiting")
    assert _visible_text_has_no_codes(page) == []
