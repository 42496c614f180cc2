"""Handing a buyer to a human agent: why, and recording it on the conversation."""
from __future__ import annotations

import enum
from datetime import datetime

from bot.conversations import conversation_for
from bot.db import session_scope
from bot.shop import ShopConfig, parse_hhmm


class Reason(str, enum.Enum):
    ASKED = "buyer_asked"  # 转人工
    ANGRY = "angry_buyer"  # complaint, threat of a bad review
    BULK = "bulk_order"  # the bulk-trade specialist takes it
    NOT_UNDERSTOOD = "not_understood"  # the NLU fell back twice in a row


# What triggers a handoff straight from the buyer's intent.
INTENT_REASONS = {
    "ask_human": Reason.ASKED,
    "complain_service": Reason.ANGRY,
    "bulk_order": Reason.BULK,
}


def in_service_hours(cfg: ShopConfig, when: datetime) -> bool:
    start, end = parse_hhmm(cfg.service_hours.start), parse_hhmm(cfg.service_hours.end)
    return start <= when.time() < end


def hand_off(shop_id: str, buyer_id: str, reason: Reason) -> None:
    """Put the conversation in the agents' queue with its reason."""
    with session_scope() as session:
        conv = conversation_for(session, shop_id, buyer_id)
        conv.handled_by = "queue"
        conv.handoff_reason = reason.value
