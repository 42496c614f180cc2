"""The agent pool: who can take a buyer, the queue when nobody can, and the hand-over summary.

An agent has a status (online, busy, away), a reception limit (接待上限) and skills
(presale, aftersale, bulk). A handed-off conversation needs one skill; it goes to an online
agent with that skill and a free place, least loaded first, or waits in the queue, oldest
first — during the Double 11 rush pre-sale buyers first (handbook §6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.nlu.intents import FALLBACK
from bot.shop.config import ShopConfig
from bot.shop.orders import buyer_orders
from bot.shop.peak import peak_state
from bot.shop.phrases import library
from bot.store import conversations
from bot.store.models import (
    Agent,
    AgentStatus,
    Conversation,
    ConversationState,
    Direction,
    Handler,
    HandoffReason,
    Message,
    Sender,
    Shop,
    ShopMode,
    Skill,
)

# What the pages call each status and skill.
STATUS_LABELS: Dict[str, str] = {AgentStatus.ONLINE: "在线", AgentStatus.BUSY: "忙碌", AgentStatus.AWAY: "离开"}
SKILL_LABELS: Dict[str, str] = {Skill.PRESALE: "售前", Skill.AFTERSALE: "售后", Skill.BULK: "大宗采购"}

# Minutes an agent spends on one handed-off buyer, for the honest wait estimate.
MINUTES_PER_BUYER = 4

# A buyer asking about these goes to the after-sales agents, other questions to pre-sale.
AFTERSALE_INTENTS = {
    "request_refund",
    "request_exchange",
    "ask_return_policy",
    "complain_quality",
    "wrong_item",
    "ask_price_diff",
    "track_package",
    "change_address",
    "modify_order",
    "complain_service",
}
# Readings that say nothing about the buyer's topic.
_NOT_TOPICAL = {FALLBACK, "ask_human", "greet", "affirm", "deny"}


def skill_for(reason: HandoffReason, recent_intents: Sequence[Optional[str]]) -> Skill:
    """Which agents a handoff needs: the reason's own skill, else by the buyer's last topic."""
    if HandoffReason(reason).skill is not None:
        return HandoffReason(reason).skill
    topical = [i for i in recent_intents if i and i not in _NOT_TOPICAL]
    return Skill.AFTERSALE if topical and topical[-1] in AFTERSALE_INTENTS else Skill.PRESALE


def load(session: Session, agent: Agent) -> int:
    """Buyers the agent is serving now."""
    return session.execute(
        select(func.count(Conversation.id)).where(
            Conversation.agent_id == agent.id, Conversation.handled_by == Handler.AGENT
        )
    ).scalar_one()


def free_agent(session: Session, shop_id: str, skill: str) -> Optional[Agent]:
    """An online agent with the skill and a free place, least loaded first."""
    agents = (
        session.execute(
            select(Agent).where(Agent.shop_id == shop_id, Agent.status == AgentStatus.ONLINE).order_by(Agent.id)
        )
        .scalars()
        .all()
    )
    candidates = [(load(session, a), a.id, a) for a in agents if skill in (a.skills or [])]
    candidates = [(n, i, a) for n, i, a in candidates if n < a.max_sessions]
    return min(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None


def queue(session: Session, shop_id: str, cfg: ShopConfig, now: datetime) -> List[Conversation]:
    """Waiting conversations in the order they will be served."""
    waiting = (
        session.execute(
            select(Conversation)
            .where(Conversation.shop_id == shop_id, Conversation.handled_by == Handler.QUEUE)
            .order_by(Conversation.queued_at, Conversation.id)
        )
        .scalars()
        .all()
    )
    if peak_state(session.get(Shop, shop_id), cfg, now).on:  # pre-sale first in the peak (handbook §6)
        waiting = sorted(waiting, key=lambda c: c.skill != Skill.PRESALE)  # stable: oldest first within each
    return list(waiting)


@dataclass
class Place:
    position: int  # 1 = next
    wait_minutes: int
    agents_on_duty: int  # online or busy agents with the skill: none means no honest estimate


def place_in_queue(session: Session, conv: Conversation, cfg: ShopConfig, now: datetime) -> Optional[Place]:
    """Where a waiting buyer stands, and an honest estimate from how many agents can help."""
    waiting = [c for c in queue(session, conv.shop_id, cfg, now) if c.skill == conv.skill]
    if conv not in waiting:
        return None
    position = waiting.index(conv) + 1
    agents = (
        session.execute(
            select(Agent).where(Agent.shop_id == conv.shop_id, Agent.status.in_([AgentStatus.ONLINE, AgentStatus.BUSY]))
        )
        .scalars()
        .all()
    )
    helpers = sum(1 for a in agents if conv.skill in (a.skills or []))
    return Place(position, max(1, math.ceil(position * MINUTES_PER_BUYER / max(1, helpers))), helpers)


def request_agent(
    session: Session, conv: Conversation, reason: HandoffReason, skill: Skill, now: datetime
) -> Optional[Agent]:
    """Hand the conversation to a free agent, or queue it. Returns the agent, if any. A buyer
    already waiting keeps their reason, skill and place ("人呢" is no reason to start over)."""
    if conv.handled_by == Handler.AGENT and conv.agent_id is not None:
        return session.get(Agent, conv.agent_id)  # already with a person
    if conv.handled_by == Handler.QUEUE:
        skill = conv.skill or skill
    else:
        conv.handoff_reason, conv.skill = reason, skill
    agent = free_agent(session, conv.shop_id, skill)
    if agent is None:
        if conv.handled_by != Handler.QUEUE:
            conv.handled_by, conv.queued_at = Handler.QUEUE, now
        return None
    conv.handled_by, conv.agent_id, conv.queued_at = Handler.AGENT, agent.id, conv.queued_at or now
    return agent


def route_inbound(session: Session, conv: Conversation, now: datetime) -> None:
    """A buyer message arrived: in assist mode a person answers every buyer (the bot only
    suggests, and still answers while the buyer waits in the queue, so nobody goes unanswered)."""
    if conversations.shop_mode(session, conv.shop_id) is ShopMode.ASSIST and conv.handled_by == Handler.BOT:
        request_agent(session, conv, HandoffReason.ASSIST_MODE, HandoffReason.ASSIST_MODE.skill, now)


def take_over(conv: Conversation, agent: Agent, now: Optional[datetime] = None) -> None:
    """An agent takes a buyer from the bot or the queue, whatever the bot was doing. From now
    on the buyer waits for the person (queued_at: what the bot says later answers nothing)."""
    conv.handled_by, conv.agent_id, conv.state = Handler.AGENT, agent.id, ConversationState.OPEN
    conv.handoff_reason = conv.handoff_reason or HandoffReason.TAKEN_OVER
    if now is not None and conv.queued_at is None:
        conv.queued_at = now


def serve_queue(session: Session, shop_id: str, cfg: ShopConfig, now: datetime) -> List[Conversation]:
    """Give waiting buyers to agents who have room now (after a status change or a hand-back)."""
    assigned = []
    for conv in queue(session, shop_id, cfg, now):
        agent = free_agent(session, shop_id, conv.skill or Skill.PRESALE)
        if agent is not None:
            conv.handled_by, conv.agent_id = Handler.AGENT, agent.id
            session.flush()
            assigned.append(conv)
    return assigned


def set_status(session: Session, agent: Agent, status: AgentStatus, now: datetime) -> None:
    """An agent who goes away hands their buyers back to the queue (the bot answers them
    meanwhile); the queue is then served by whoever has room."""
    agent.status = status
    if status == AgentStatus.AWAY:
        for conv in session.execute(
            select(Conversation).where(Conversation.agent_id == agent.id, Conversation.handled_by == Handler.AGENT)
        ).scalars():
            conv.handled_by, conv.agent_id, conv.queued_at = Handler.QUEUE, None, now
    session.flush()


def give_back(session: Session, conv: Conversation) -> None:
    """The agent is done: the bot answers this buyer again."""
    conv.handled_by, conv.agent_id, conv.queued_at = Handler.BOT, None, None


def summary(session: Session, conv: Conversation) -> Dict[str, object]:
    """What the agent reads before answering, so the buyer never repeats themselves."""
    messages = (
        session.execute(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)).scalars().all()
    )
    intents = [m.intent for m in messages if m.direction == Direction.IN and m.intent]
    bot_said = [m.text for m in messages if m.sender == Sender.BOT and m.kind != "notice"][-3:]
    order = next(iter(buyer_orders(session, conv.shop_id, conv.buyer_id, limit=1)), None)
    return {
        "reason": conv.handoff_reason,
        "skill": conv.skill,
        "intents": intents[-6:],
        "last_buyer_message": next((m.text for m in reversed(messages) if m.direction == Direction.IN), ""),
        "bot_said": bot_said,
        "order_id": order.id if order else None,
    }


def announce(session: Session, conv: Conversation, phrase_id: str, slots: Dict[str, object]) -> Message:
    """A message from the shop to a buyer outside a bot turn (queue updates, agent joined)."""
    return conversations.record(
        session, conv, Direction.OUT, Sender.BOT, library(conv.shop_id).render(phrase_id, slots), kind="notice"
    )


def queue_phrase(place: Place) -> Tuple[str, Dict[str, object]]:
    """Where a waiting buyer stands, honestly: with nobody on duty there is no wait to promise."""
    if place.agents_on_duty == 0:
        return "peak.nobody_online", {"position": place.position}
    return "peak.queue_update", {"position": place.position, "wait_minutes": place.wait_minutes}


def move_queue(session: Session, shop_id: str, cfg: ShopConfig, now: datetime) -> List[Conversation]:
    """Serve the queue after agents freed up; tell the new arrivals and everyone still waiting."""
    assigned = serve_queue(session, shop_id, cfg, now)
    for conv in assigned:
        announce(session, conv, "agent.joined", {"agent_name": session.get(Agent, conv.agent_id).name})
    if assigned:
        for conv in queue(session, shop_id, cfg, now):
            place = place_in_queue(session, conv, cfg, now)
            if place is not None:
                announce(session, conv, *queue_phrase(place))
    return assigned
