"""The console protocol channel stores every message and never answers a retry twice."""
import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.models import Conversation, Message
from tests.helpers import console_event, console_post, new_buyer, renderings

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
        stored = s.execute(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)).scalars().all()
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
    return body, signing.signed_headers(secret or settings.console_secret(), body,
                                        timestamp=int(time.time()) if timestamp is None else timestamp)


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
