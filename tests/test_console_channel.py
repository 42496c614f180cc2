"""The console protocol channel stores every message and never answers a retry twice."""

import pytest
from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Conversation, Message
from tests.helpers import console_event, console_post, matches, new_buyer, renderings

pytestmark = pytest.mark.servers


def _send(servers, event):
    resp = console_post(servers, event)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_message_and_replies_are_stored(servers):
    buyer = new_buyer()
    event = console_event(buyer, "包邮吗")
    data = _send(servers, event)
    assert data["replies"][0]["text"] in renderings("logistics.free_shipping")
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        stored = (
            s.execute(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)).scalars().all()
        )
        assert [(m.direction, m.sender) for m in stored] == [("in", "buyer"), ("out", "bot")]
        assert stored[0].message_id == event["message_id"] and stored[0].text == "包邮吗"
        assert stored[1].text == data["replies"][0]["text"] and stored[1].reply_to == event["message_id"]


def test_a_retried_message_gets_the_original_replies(servers):
    event = console_event(new_buyer(), "在吗")
    first = _send(servers, event)
    again = _send(servers, event)
    assert again["duplicate"] is True and again["replies"] == first["replies"]
    with session_scope() as s:
        assert len(s.execute(select(Message).where(Message.reply_to == event["message_id"])).scalars().all()) == 1


# --- signatures ----------------------------------------------------------------------------


def _signed(event, secret=None, timestamp=None):
    import json
    import time

    from bot import settings, signing

    body = json.dumps(event).encode()
    return body, signing.signed_headers(
        secret or settings.secret("webhook"), body, timestamp=int(time.time()) if timestamp is None else timestamp
    )


def _stored(message_id):
    with session_scope() as s:
        return s.execute(select(Message).where(Message.message_id == message_id)).scalar_one_or_none()


@pytest.mark.parametrize("case", ["missing", "bad", "stale", "wrong secret"])
def test_unsigned_or_badly_signed_requests_are_rejected_and_not_stored(servers, case):
    import time

    event = console_event(new_buyer(), "包邮吗")
    body, headers = _signed(event)
    if case == "missing":
        headers = {"Content-Type": "application/json"}
    elif case == "bad":
        headers["X-Xiaoer-Signature"] = "0" * 64
    elif case == "stale":
        body, headers = _signed(event, timestamp=int(time.time()) - 3600)
    else:
        body, headers = _signed(event, secret="not-the-shop-secret")
    resp = console_post(servers, body, raw=True, headers=headers)
    assert resp.status_code == 401 and resp.json()["error"]
    assert _stored(event["message_id"]) is None


def test_the_body_cannot_be_changed_after_signing(servers):
    event = console_event(new_buyer(), "包邮吗")
    body, headers = _signed(event)
    tampered = body.replace(b'"text"', b'"text" ')  # same JSON meaning, different bytes
    assert console_post(servers, tampered, raw=True, headers=headers).status_code == 401


# --- events that are not words -------------------------------------------------------------


def test_order_card_sets_the_order_for_the_next_question(servers):
    from datetime import timedelta

    from bot.store.models import OrderStatus
    from tests.factories import buyer_with_order

    buyer, order_id = buyer_with_order(OrderStatus.PAID, paid=timedelta(hours=2))
    card = _send(servers, console_event(buyer, "", type="order_card", order_id=order_id))
    assert "尾号" + order_id[-4:] in card["replies"][0]["text"]
    answer = _send(servers, console_event(buyer, "今天能发吗"))
    assert answer["replies"][0]["text"] in renderings("logistics.ships_today")
    with session_scope() as s:
        stored = s.execute(select(Message).where(Message.text == f"[订单卡片] {order_id}")).scalar_one()
        assert stored.kind == "order_card"


def test_a_pasted_order_number_alone_is_read_like_an_order_card(servers):
    from datetime import timedelta

    from bot.store.models import OrderStatus
    from tests.factories import buyer_with_order

    buyer, order_id = buyer_with_order(OrderStatus.PAID, paid=timedelta(hours=2))
    pasted = _send(servers, console_event(buyer, order_id))
    assert "尾号" + order_id[-4:] in pasted["replies"][0]["text"]
    answer = _send(servers, console_event(buyer, "今天能发吗"))
    assert answer["replies"][0]["text"] in renderings("logistics.ships_today")


def test_product_card_gets_the_products_facts(servers):
    data = _send(servers, console_event(new_buyer(), "", type="product_card", sku="QS-T003"))
    reply = data["replies"][0]["text"]
    assert "冰丝速干运动短袖" in reply and "69" in reply and "偏小" in reply


def test_entering_the_shop_gets_the_welcome(servers):
    data = _send(servers, console_event(new_buyer(), "", type="enter_shop"))
    assert data["replies"][0]["text"] in renderings("welcome.first")


def test_an_agreeing_emoticon_is_a_yes(servers):
    data = _send(servers, console_event(new_buyer(), "", type="emoticon", code="[赞]"))
    assert data["replies"][0]["text"] in renderings("dialogue.affirm")


def test_a_picture_out_of_context_goes_to_a_person(servers):
    buyer = new_buyer()
    data = _send(servers, console_event(buyer, "", type="image", url="https://img.example/1.jpg"))
    assert data["replies"][0]["text"] in renderings("dialogue.image_to_agent")
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert conv.handoff_reason == "image"


def test_a_buyer_cannot_type_an_intent(servers):
    data = _send(servers, console_event(new_buyer(), "/ask_human"))
    assert data["replies"][0]["text"] not in renderings("dialogue.handoff")


@pytest.mark.parametrize(
    "extra,reason",
    [
        ({"type": "order_card", "order_id": "abc"}, "order_id"),
        ({"type": "product_card"}, "sku"),
        ({"type": "image", "url": "file:///etc/passwd"}, "url"),
        ({"type": "emoticon", "code": "微笑"}, "code"),
    ],
)
def test_malformed_cards_are_400(servers, extra, reason):
    resp = console_post(servers, console_event(new_buyer(), "", **extra))
    assert resp.status_code == 400 and reason in resp.json()["error"]


# --- concurrency -----------------------------------------------------------------------------


def test_the_same_message_sent_three_times_at_once_is_answered_once(servers):
    from concurrent.futures import ThreadPoolExecutor

    event = console_event(new_buyer(), "包邮吗")
    with ThreadPoolExecutor(3) as pool:
        results = [f.result() for f in [pool.submit(console_post, servers, event) for _ in range(3)]]
    assert all(r.status_code == 200 for r in results)
    bodies = [r.json() for r in results]
    assert sum(not b["duplicate"] for b in bodies) == 1
    assert len({b["replies"][0]["text"] for b in bodies}) == 1
    with session_scope() as s:
        assert len(s.execute(select(Message).where(Message.reply_to == event["message_id"])).scalars().all()) == 1
        assert len(s.execute(select(Message).where(Message.message_id == event["message_id"])).scalars().all()) == 1


def test_fifty_concurrent_messages_from_one_buyer_are_answered_in_order(servers):
    from concurrent.futures import ThreadPoolExecutor

    buyer = new_buyer()
    questions = ["包邮吗", "能发顺丰吗", "有赠品吗", "能便宜点吗", "七天无理由吗"]
    events = [console_event(buyer, questions[i % 5], seq=i + 1) for i in range(50)]
    shuffled = events[:]
    __import__("random").Random(3).shuffle(shuffled)
    # all fifty in flight at once: each request waits for its answer, so a client that held
    # some back behind others would leave gaps the channel can only wait out
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda e: console_post(servers, e), shuffled))
    failed = [(r.status_code, r.text[:200]) for r in results if r.status_code != 200 or not r.json()["replies"]]
    assert not failed

    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        stored = (
            s.execute(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)).scalars().all()
        )
    inbound = [m for m in stored if m.direction == "in"]
    replies = [m for m in stored if m.direction == "out"]
    assert len(inbound) == 50 and all(m.answered_at for m in inbound)  # every message stored and answered
    seq_of = {e["message_id"]: e["seq"] for e in events}
    assert [seq_of[m.reply_to] for m in replies] == list(range(1, 51))  # answered in the buyer's order


def test_a_request_for_a_person_inside_a_request_hands_off_and_keeps_the_request(servers):
    buyer = new_buyer()
    event = console_event(buyer, "转人工 这个我不要了 要退款")
    data = _send(servers, event)
    assert matches(data["replies"][0]["text"], "peak.nobody_online")  # the demo agents start away
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert conv.handled_by == "queue" and conv.handoff_reason == "buyer_asked"
        assert conv.skill == "aftersale"  # the request decides who takes the buyer
        stored = s.execute(select(Message).where(Message.message_id == event["message_id"])).scalar_one()
        assert stored.intent == "request_refund"  # the classifier reads the request, for the agent and the trainers


def test_a_greeting_that_opens_a_question_does_not_hide_it(servers):
    event = console_event(new_buyer(), "你好 在吗 请问这件T恤是纯棉的吗")
    reply = _send(servers, event)["replies"][0]["text"]
    greeting, answer = reply.split("\n")  # greeted first, then answered
    assert matches(greeting, "welcome.first") and matches(answer, "dialogue.ask_product")  # which T-shirt?
    with session_scope() as s:
        assert s.execute(select(Message).where(Message.message_id == event["message_id"])).scalar_one().intent == (
            "ask_product"
        )
