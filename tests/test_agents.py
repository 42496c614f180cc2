"""The agent pool: assignment by skill and load, the queue, the hand-over summary."""

from datetime import datetime, timedelta

import bcrypt
import pytest

from bot.service import agents
from bot.service.handoff import hand_off_for
from bot.shop.config import shop
from bot.store.models import Agent, Conversation, Message, Shop

NOW = datetime(2026, 11, 20, 10, 30)
RUSH = datetime(2026, 11, 10, 21, 0)  # the evening before Double 11


@pytest.fixture()
def session(shop_db):
    return shop_db


def agent(session, name, skills, limit=2, status="online", shop_id="qingshan"):
    a = Agent(
        shop_id=shop_id,
        login=name,
        name=name,
        skills=skills,
        max_sessions=limit,
        status=status,
        password_hash=bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode(),
    )
    session.add(a)
    session.flush()
    return a


def conversation(session, buyer, minutes_ago=0):
    c = Conversation(
        shop_id="qingshan", buyer_id=buyer, started_at=NOW - timedelta(minutes=minutes_ago), last_message_at=NOW
    )
    session.add(c)
    session.flush()
    return c


def test_skill_follows_the_reason_and_the_topic():
    assert agents.skill_for("bulk_order", []) == "bulk"
    assert agents.skill_for("compensation_over_limit", ["complain_quality"]) == "aftersale"
    assert agents.skill_for("buyer_asked", ["request_refund", "ask_human"]) == "aftersale"
    assert agents.skill_for("buyer_asked", ["bargain", "nlu_fallback", "ask_human"]) == "presale"


def test_assignment_takes_the_least_loaded_agent_with_the_skill(session):
    busy = agent(session, "busy", ["presale"])
    idle = agent(session, "idle", ["presale"])
    agent(session, "after", ["aftersale"])
    first = conversation(session, "b1")
    busy_one = conversation(session, "b0")
    busy_one.handled_by, busy_one.agent_id = "agent", busy.id
    assert agents.request_agent(session, first, "buyer_asked", "presale", NOW) is idle
    assert (first.handled_by, first.agent_id) == ("agent", idle.id)


def test_capacity_and_status_are_respected(session):
    full = agent(session, "full", ["presale"], limit=1)
    agent(session, "away", ["presale"], status="away")
    agents.request_agent(session, conversation(session, "b1"), "buyer_asked", "presale", NOW)
    second = conversation(session, "b2")
    assert agents.request_agent(session, second, "buyer_asked", "presale", NOW) is None
    assert second.handled_by == "queue" and second.queued_at == NOW
    assert agents.load(session, full) == 1


def test_queue_positions_and_honest_wait(session):
    agent(session, "one", ["presale"], limit=0)
    waiting = [conversation(session, f"b{i}") for i in range(3)]
    for i, conv in enumerate(waiting):
        agents.request_agent(session, conv, "buyer_asked", "presale", NOW + timedelta(seconds=i))
    places = [agents.place_in_queue(session, c, shop(), NOW) for c in waiting]
    assert [p.position for p in places] == [1, 2, 3]
    assert [p.wait_minutes for p in places] == [4, 8, 12]  # one agent, four minutes a buyer


def test_during_the_rush_presale_buyers_are_served_first(session):
    after = conversation(session, "after")
    pre = conversation(session, "pre")
    agents.request_agent(session, after, "angry_buyer", "aftersale", RUSH)
    agents.request_agent(session, pre, "buyer_asked", "presale", RUSH + timedelta(minutes=1))
    assert agents.queue(session, "qingshan", shop(), RUSH) == [pre, after]
    assert agents.queue(session, "qingshan", shop(), NOW) == [after, pre]  # outside the rush: first come


def test_freeing_an_agent_serves_the_queue_and_tells_the_others(session):
    one = agent(session, "one", ["presale"], limit=1)
    served = conversation(session, "b1")
    agents.request_agent(session, served, "buyer_asked", "presale", NOW)
    second, third = conversation(session, "b2"), conversation(session, "b3")
    agents.request_agent(session, second, "buyer_asked", "presale", NOW + timedelta(seconds=1))
    agents.request_agent(session, third, "buyer_asked", "presale", NOW + timedelta(seconds=2))
    assert agents.place_in_queue(session, third, shop(), NOW).position == 2

    agents.give_back(session, served)
    assigned = agents.move_queue(session, "qingshan", shop(), NOW)
    assert assigned == [second] and second.agent_id == one.id
    assert agents.place_in_queue(session, third, shop(), NOW).position == 1
    notices = session.query(Message).filter(Message.kind == "notice").all()
    assert any("one" in m.text for m in notices if m.conversation_id == second.id)  # agent.joined
    assert any(m.conversation_id == third.id for m in notices)  # the queue moved


def test_handoff_records_reason_and_skill(session):
    agent(session, "after", ["aftersale"])
    result = hand_off_for(session, shop(), "qingshan", "b9", "angry_buyer", ["complain_service"], NOW)
    conv = session.query(Conversation).filter_by(buyer_id="b9").one()
    assert result.agent_name == "after" and conv.handoff_reason == "angry_buyer" and conv.skill == "aftersale"


def test_summary_tells_the_agent_what_happened(session):
    from bot.store import conversations

    conv = conversation(session, "b1")
    conversations.record(session, conv, "in", "buyer", "包邮吗", message_id="m1").intent = "ask_shipping_fee"
    conversations.record(session, conv, "out", "bot", "满99包邮")
    conversations.record(session, conv, "in", "buyer", "转人工", message_id="m2").intent = "ask_human"
    conv.handoff_reason = "buyer_asked"
    summary = agents.summary(session, conv)
    assert summary["intents"] == ["ask_shipping_fee", "ask_human"]
    assert summary["bot_said"] == ["满99包邮"] and summary["last_buyer_message"] == "转人工"
    assert summary["reason"] == "buyer_asked"


def test_an_agent_cannot_act_on_another_shops_conversation(session):
    from bot.console.workbench import _own_conversation

    session.add(Shop(id="other", name="别家"))
    session.flush()
    outsider = agent(session, "outsider", ["presale"], shop_id="other")
    mine = agent(session, "mine", ["presale"])
    conv = conversation(session, "b1")
    agents.request_agent(session, conv, "buyer_asked", "presale", NOW)
    assert conv.agent_id == mine.id
    with pytest.raises(PermissionError, match="不是本店的会话"):
        _own_conversation(session, outsider, conv.id, take=True)
    colleague = agent(session, "colleague", ["presale"])
    with pytest.raises(PermissionError, match="请先接管"):
        _own_conversation(session, colleague, conv.id)
    assert _own_conversation(session, mine, conv.id) is conv


def test_an_agent_going_away_hands_their_buyers_to_a_colleague(session):
    leaving = agent(session, "leaving", ["presale"])
    conv = conversation(session, "b1")
    agents.request_agent(session, conv, "buyer_asked", "presale", NOW)
    assert conv.agent_id == leaving.id
    colleague = agent(session, "colleague", ["presale"], status="away")

    agents.set_status(session, leaving, "away", NOW)
    assert (conv.handled_by, conv.agent_id) == ("queue", None)  # the bot answers meanwhile
    agents.set_status(session, colleague, "online", NOW)
    assert agents.move_queue(session, "qingshan", shop(), NOW) == [conv] and conv.agent_id == colleague.id
