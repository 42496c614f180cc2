"""The console protocol channel stores every message and never answers a retry twice."""
import pytest
import requests
from sqlalchemy import select

from bot.db import session_scope
from bot.models import Conversation, Message
from tests.helpers import console_event, new_buyer, renderings

pytestmark = pytest.mark.servers


def _send(servers, event):
    resp = requests.post(servers.urls["rasa"] + "/webhooks/console/webhook", json=event, timeout=60)
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
