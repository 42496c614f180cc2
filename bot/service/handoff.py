"""Handing a buyer to a human agent: when the conversation calls for it, recording why, and
what the buyer is told (an agent is coming, their place in the queue, or the hours)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence

from sqlalchemy.orm import Session

from bot.nlu.intents import FALLBACK
from bot.service.agents import Place, place_in_queue, queue_phrase, request_agent, skill_for
from bot.shop.config import ShopConfig, parse_hhmm
from bot.shop.replies import Reply
from bot.store.conversations import conversation_for
from bot.store.models import Handler, HandoffReason

# What triggers a handoff straight from the buyer's intent.
INTENT_REASONS = {
    "ask_human": HandoffReason.ASKED,
    "complain_service": HandoffReason.ANGRY,
    "bulk_order": HandoffReason.BULK,
}

# The phrase that acknowledges the buyer before the handoff message, by reason.
_OPENING = {
    HandoffReason.ANGRY: "dialogue.complain_service",
    HandoffReason.DISPUTE: "dialogue.complain_service",
    HandoffReason.BULK: "dialogue.bulk_order",
}


def trigger(
    cfg: ShopConfig, text: str, confidences: Sequence[float], intents: Sequence[Optional[str]]
) -> Optional[HandoffReason]:
    """A reason to hand this message to a person whatever its intent, else None.

    confidences and intents are the NLU's readings of the buyer's messages so far, this one last.
    """
    rules = cfg.handoff
    if any(word in text for word in rules.dispute_words):
        return HandoffReason.DISPUTE
    if any(re.search(re.escape(word) + "(?!费)", text) for word in rules.person_words):  # not 人工费 (labour)
        return HandoffReason.ASKED  # however the classifier labels the rest of the message
    streak = rules.fallback_streak
    if len(intents) >= streak and all(i == FALLBACK for i in intents[-streak:]):
        return HandoffReason.NOT_UNDERSTOOD
    streak = rules.low_confidence_streak
    if len(confidences) >= streak and all(c < rules.low_confidence for c in confidences[-streak:]):
        return HandoffReason.LOW_CONFIDENCE
    return None


def in_service_hours(cfg: ShopConfig, when: datetime) -> bool:
    start, end = parse_hhmm(cfg.service_hours.start), parse_hhmm(cfg.service_hours.end)
    return start <= when.time() < end


@dataclass
class Handoff:
    agent_name: Optional[str]  # the agent who took the buyer, if one was free
    place: Optional[Place]  # else where the buyer waits
    already_waiting: bool = False  # the buyer was in the queue before this message


def hand_off_for(
    session: Session,
    cfg: ShopConfig,
    shop_id: str,
    buyer_id: str,
    reason: HandoffReason,
    recent_intents: Sequence[Optional[str]],
    now: datetime,
) -> Handoff:
    """Give the conversation to a free agent with the right skill, or queue it, recording why."""
    conv = conversation_for(session, shop_id, buyer_id)
    waiting = conv.handled_by == Handler.QUEUE
    agent = request_agent(session, conv, reason, skill_for(reason, recent_intents), now)
    session.flush()
    if agent is not None:
        return Handoff(agent.name, None)
    return Handoff(None, place_in_queue(session, conv, cfg, now), already_waiting=waiting)


def handoff_phrase(cfg: ShopConfig, handoff: Handoff, now: datetime, opening: Optional[str] = None) -> List[Reply]:
    """What the buyer reads: an agent is coming, the queue with an honest wait (or that nobody
    is on duty), or the hours."""
    if not in_service_hours(cfg, now):
        return [Reply("dialogue.handoff_closed")]
    if handoff.agent_name is None and handoff.place is not None:
        if handoff.already_waiting:  # 人呢 / 还要等多久: where they stand, nothing restarted
            return [Reply(*queue_phrase(handoff.place))]
        replies = [Reply(opening)] if opening else []
        if handoff.place.agents_on_duty == 0:
            return replies + [Reply("peak.nobody_online", {"position": handoff.place.position})]
        return replies + [
            Reply("peak.agents_busy", {"position": handoff.place.position, "wait_minutes": handoff.place.wait_minutes})
        ]
    return [Reply(opening or "dialogue.handoff")]


def handoff_replies(
    session: Session,
    cfg: ShopConfig,
    shop_id: str,
    buyer_id: str,
    reason: HandoffReason,
    recent_intents: Sequence[Optional[str]],
    now: datetime,
) -> List[Reply]:
    """Hand off and say so: the acknowledgement the reason calls for, then where the buyer stands."""
    handoff = hand_off_for(session, cfg, shop_id, buyer_id, reason, recent_intents, now)
    return handoff_phrase(cfg, handoff, now, opening=_OPENING.get(reason))
