"""Handing a buyer to a human agent: why, and recording it on the conversation."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence

from sqlalchemy.orm import Session

from bot.agents import Place, place_in_queue, request_agent, skill_for
from bot.conversations import conversation_for
from bot.replies import Reply
from bot.shop import ShopConfig, parse_hhmm


class Reason(str, enum.Enum):
    ASKED = "buyer_asked"  # 转人工
    ANGRY = "angry_buyer"  # complaint, threat of a bad review
    BULK = "bulk_order"  # the bulk-trade specialist takes it
    NOT_UNDERSTOOD = "not_understood"  # the NLU fell back twice in a row
    DISPUTE = "dispute"  # 维权, 12315, a threatened bad review: a supervisor's case
    LOW_CONFIDENCE = "low_confidence"  # the NLU keeps guessing
    # The shop logic in bot/ can also ask for a person with its own reason string, e.g.
    # late_shipment, parcel_missing, compensation_over_limit, size_off_chart.


# What triggers a handoff straight from the buyer's intent.
INTENT_REASONS = {
    "ask_human": Reason.ASKED,
    "complain_service": Reason.ANGRY,
    "bulk_order": Reason.BULK,
}


def trigger(cfg: ShopConfig, text: str, confidences: Sequence[float], intents: Sequence[Optional[str]]) -> Optional[Reason]:
    """A reason to hand this message to a person whatever its intent, else None.

    confidences and intents are the NLU's readings of the buyer's messages so far, this one last.
    """
    rules = cfg.handoff
    if any(word in text for word in rules.dispute_words):
        return Reason.DISPUTE
    streak = rules.fallback_streak
    if len(intents) >= streak and all(i == "nlu_fallback" for i in intents[-streak:]):
        return Reason.NOT_UNDERSTOOD
    streak = rules.low_confidence_streak
    if len(confidences) >= streak and all(c < rules.low_confidence for c in confidences[-streak:]):
        return Reason.LOW_CONFIDENCE
    return None


def in_service_hours(cfg: ShopConfig, when: datetime) -> bool:
    start, end = parse_hhmm(cfg.service_hours.start), parse_hhmm(cfg.service_hours.end)
    return start <= when.time() < end


@dataclass
class Handoff:
    agent_name: Optional[str]  # the agent who took the buyer, if one was free
    place: Optional[Place]  # else where the buyer waits


def hand_off_for(session: Session, cfg: ShopConfig, shop_id: str, buyer_id: str, reason: str,
                 recent_intents: Sequence[Optional[str]], now: datetime) -> Handoff:
    """Give the conversation to a free agent with the right skill, or queue it, recording why."""
    reason = reason.value if isinstance(reason, Reason) else str(reason)
    conv = conversation_for(session, shop_id, buyer_id)
    agent = request_agent(session, conv, reason, skill_for(reason, recent_intents), now)
    session.flush()
    if agent is not None:
        return Handoff(agent.name, None)
    return Handoff(None, place_in_queue(session, conv, cfg, now))


def handoff_phrase(cfg: ShopConfig, handoff: Handoff, now: datetime, opening: Optional[str] = None) -> List[Reply]:
    """What the buyer reads: an agent is coming, the queue with an honest wait, or the hours."""
    if not in_service_hours(cfg, now):
        return [Reply("dialogue.handoff_closed")]
    if handoff.agent_name is None and handoff.place is not None:
        replies = [Reply(opening)] if opening else []
        return replies + [Reply("peak.agents_busy", {"position": handoff.place.position,
                                                     "wait_minutes": handoff.place.wait_minutes})]
    return [Reply(opening or "dialogue.handoff")]
