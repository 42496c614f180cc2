"""In the peak, through the real servers: a buyer whom assist mode gave to an agent gets the
bot's answer at once to a question the shop marks bot-safe (shipping time …), and the agent
sees the question and the answer; anything else — and everything once the peak is over —
waits for the person."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import clock
from bot.shop.config import shop
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import Agent, AgentStatus, Conversation, Handler, Message, Shop, ShopMode
from tests.helpers import console_event, console_post, new_buyer

pytestmark = pytest.mark.servers


@pytest.fixture()
def assist_mode_in_peak(servers):
    """Assist mode, xiaomei online, the peak on by load; everything put back afterwards."""
    with session_scope() as s:
        row = s.get(Shop, shop().shop_id)
        xiaomei = s.execute(select(Agent).where(Agent.login == "xiaomei")).scalar_one()
        before = (row.mode, row.peak_by_load_since, xiaomei.status)
        row.mode, row.peak_by_load_since, xiaomei.status = ShopMode.ASSIST, clock.now(), AgentStatus.ONLINE
        agent_id = xiaomei.id
    yield agent_id
    with session_scope() as s:
        row = s.get(Shop, shop().shop_id)
        xiaomei = s.get(Agent, agent_id)
        xiaomei.status = before[2]
        row.mode, row.peak_by_load_since = before[0], before[1]
        for conv in s.execute(select(Conversation).where(Conversation.agent_id == agent_id)).scalars():
            conv.handled_by, conv.agent_id = Handler.BOT, None


def _send(servers, buyer: str, text: str) -> dict:
    resp = console_post(servers, console_event(buyer, text))
    assert resp.status_code == 200, resp.text
    return resp.json()


def _stored(buyer: str, text: str) -> Message:
    with session_scope() as s:
        conv = conversations.conversation_for(s, shop().shop_id, buyer)
        msg = s.execute(select(Message).where(Message.conversation_id == conv.id, Message.text == text)).scalar_one()
        s.expunge(msg)
        return msg


def test_in_the_peak_the_bot_answers_safe_questions_for_the_agents(servers, assist_mode_in_peak):
    buyer = new_buyer()
    asked = _send(servers, buyer, "今天下单什么时候发货")
    assert asked["handled_by"] == "bot" and asked["replies"], asked  # answered at once
    assert any("发" in r["text"] for r in asked["replies"])
    with session_scope() as s:
        conv = conversations.conversation_for(s, shop().shop_id, buyer)
        assert conv.handled_by == Handler.AGENT and conv.agent_id == assist_mode_in_peak  # still the agent's buyer
    assert _stored(buyer, "今天下单什么时候发货").answered_at is not None

    # A bargain is not bot-safe: it waits for the person, unanswered by the bot.
    haggle = _send(servers, buyer, "能便宜点吗 老顾客了")
    assert haggle["handled_by"] == "agent" and haggle["replies"] == []


def test_after_the_peak_the_agent_answers_everything(servers, assist_mode_in_peak):
    with session_scope() as s:
        s.get(Shop, shop().shop_id).peak_by_load_since = None
    reply = _send(servers, new_buyer(), "今天下单什么时候发货")
    assert reply["handled_by"] == "agent" and reply["replies"] == []
