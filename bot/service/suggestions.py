"""Suggested replies for the agent: for each buyer message, the top three quick-phrases.

The NLU's top intents (by confidence) each contribute their first phrase that can be filled
with what the shop knows — shop facts and the buyer's order — so the agent sends one with a
click, or edits it first. What only the bot says is never offered to a person: "正在为您转接
人工客服" to a buyer who already has one, their place in the queue. A buyer asking for a
person is greeted by the person instead.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

from sqlalchemy.orm import Session

from bot.shop.config import ShopConfig
from bot.shop.orders import buyer_orders, shop_order
from bot.shop.phrases import Library, PhraseError, library, shop_slots
from bot.store.models import Buyer

SUGGESTIONS = 3

# Words of the bot's hand-over lines: a person answering the buyer does not say them.
HANDOFF_WORDS = re.compile(
    "转接|转人工|人工客服|请人工|客服同事|您排在|排队更新|请主管|主管来|转给售后|转过去|帮您找人工|“人工”"
)
# What a person answers instead of the bot's phrases for an intent.
PERSON_PHRASES: Dict[str, Sequence[str]] = {"ask_human": ("agent.joined",)}


BOT_NAME = "店小二"


def as_person(text: str) -> str:
    """A phrase as a person sends it: the agent does not call themselves by the bot's name
    ("能帮到您是店小二的荣幸" → "能帮到您是我的荣幸")."""
    return text.replace(BOT_NAME, "我")


def confidence_label(confidence: float) -> str:
    """How sure the NLU is, as an agent reads it: 高 / 中 / 低, or nothing when it is a guess."""
    if confidence >= 0.8:
        return "高"
    if confidence >= 0.5:
        return "中"
    if confidence >= 0.2:
        return "低"
    return ""


@dataclass
class Suggestion:
    phrase_id: str
    intent: str
    confidence: float
    text: str

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def order_slots(session: Session, buyer_id: str, cfg: ShopConfig, order_id: Optional[str] = None) -> Dict[str, object]:
    """Slots the buyer's order can fill: the one named (when it is theirs, in this shop), else
    their latest in this shop (cfg)."""
    slots: Dict[str, object] = {}
    buyer = session.get(Buyer, (cfg.shop_id, buyer_id))
    if buyer is not None:
        slots["buyer_nick"] = buyer.nick
    order = shop_order(session, cfg.shop_id, order_id, buyer_id)
    if order is None:
        order = next(iter(buyer_orders(session, cfg.shop_id, buyer_id, limit=1)), None)
    if order is not None:
        courier = cfg.couriers.get(order.express)
        slots.update(
            {"order_id": order.id, "courier": courier.name if courier else order.express, "location": order.province}
        )
        if order.shipment is not None:
            slots["tracking_no"] = order.shipment.tracking_no
    return slots


def suggest(
    session: Session,
    cfg: ShopConfig,
    buyer_id: str,
    ranking: Sequence[Dict[str, object]],
    seed: str = "",
    order_id: Optional[str] = None,
    extra: Optional[Dict[str, object]] = None,
) -> List[Suggestion]:
    """Up to three phrases a person can send for the most likely intents, most confident first
    (`extra`: slots the workbench knows, like the agent's own name)."""
    phrases = library(cfg.shop_id)
    values = {**shop_slots(cfg.shop_id), **order_slots(session, buyer_id, cfg, order_id), **(extra or {})}
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
            for phrase in _phrases_for(phrases, intent):
                if len(found) >= SUGGESTIONS:
                    return found
                if (per_intent is not None and taken >= per_intent) or any(s.phrase_id == phrase.id for s in found):
                    continue
                text = _fill(phrases, phrase.id, values, rng)
                if text is not None:
                    found.append(Suggestion(phrase.id, intent, confidence, text))
                    taken += 1
    return found


def _phrases_for(phrases: Library, intent: str):
    if intent in PERSON_PHRASES:
        return [phrases.get(phrase_id) for phrase_id in PERSON_PHRASES[intent]]
    return phrases.for_intent(intent)


def _fill(phrases: Library, phrase_id: str, values: Dict[str, object], rng: random.Random) -> Optional[str]:
    """A variant of the phrase a person can send, filled; None if it needs something only the
    conversation can say (a ticket number…) or every variant is a hand-over line."""
    try:
        return as_person(phrases.render(phrase_id, values, rng=rng, keep=lambda v: not HANDOFF_WORDS.search(v)))
    except PhraseError:
        return None
