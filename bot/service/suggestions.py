"""Suggested replies for the agent: for each buyer message, the top three quick-phrases.

The NLU's top intents (by confidence) each contribute their first phrase that can be filled
with what the shop knows — shop facts and the buyer's latest order — so the agent sends one
with a click, or edits it first.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.shop.config import ShopConfig
from bot.shop.phrases import PhraseError, library, shop_slots
from bot.store.models import Buyer, Order

SUGGESTIONS = 3


@dataclass
class Suggestion:
    phrase_id: str
    intent: str
    confidence: float
    text: str

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def order_slots(session: Session, buyer_id: str, cfg: ShopConfig) -> Dict[str, object]:
    """Slots the buyer's latest order can fill."""
    slots: Dict[str, object] = {}
    buyer = session.get(Buyer, buyer_id)
    if buyer is not None:
        slots["buyer_nick"] = buyer.nick
    order = session.execute(
        select(Order).where(Order.buyer_id == buyer_id).order_by(Order.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if order is not None:
        courier = cfg.couriers.get(order.express)
        slots.update(
            {"order_id": order.id, "courier": courier.name if courier else order.express, "location": order.province}
        )
        if order.shipment is not None:
            slots["tracking_no"] = order.shipment.tracking_no
    return slots


def suggest(
    session: Session, cfg: ShopConfig, buyer_id: str, ranking: Sequence[Dict[str, object]], seed: str = ""
) -> List[Suggestion]:
    """Up to three phrases for the most likely intents, most confident first."""
    values = {**shop_slots(), **order_slots(session, buyer_id, cfg)}
    rng = random.Random(seed)
    readings = [
        (str(r.get("name")), float(r.get("confidence") or 0.0))
        for r in ranking
        if r.get("name") and r.get("name") != "nlu_fallback"
    ]
    found: List[Suggestion] = []
    # First one phrase per intent (three intents, three different answers), then more
    # phrases of the likeliest intents if fewer than three intents have one.
    for per_intent in (1, None):
        for intent, confidence in readings:
            taken = sum(1 for s in found if s.intent == intent)
            for phrase in library().for_intent(intent):
                if len(found) >= SUGGESTIONS:
                    return found
                if (per_intent is not None and taken >= per_intent) or any(s.phrase_id == phrase.id for s in found):
                    continue
                text = _fill(phrase.id, values, rng)
                if text is not None:
                    found.append(Suggestion(phrase.id, intent, confidence, text))
                    taken += 1
    return found


def _fill(phrase_id: str, values: Dict[str, object], rng: random.Random) -> Optional[str]:
    try:
        return library().render(phrase_id, values, rng=rng)
    except PhraseError:  # needs something only the conversation can say (a ticket number…)
        return None
