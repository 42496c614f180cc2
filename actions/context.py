"""What an action knows when it answers: the shop, the buyer, the database — and the
conversation's memory.

Memory is Rasa slots, used one way everywhere (this module is the only reader and writer):
- **what the buyer said** (size, colour, quantity, courier, place, amount): Rasa fills the
  slot from each message's entities (domain.yml); `value(name)` is this message's entity,
  else what the buyer said earlier about the same topic. The topic is the intent's area
  (presale, orders, logistics, aftersales: bot/nlu/intents.py); when the buyer moves to
  another topic these values are forgotten, so yesterday's size never answers today's
  freight question. Small talk (thanks, yes, no) keeps the topic.
- **what is being discussed** (the order, the product, a complaint): kept until the buyer
  names another, whatever the topic;
- **what the bot is waiting for** (`awaiting`: which order, the new address, the answer to
  an offer): set by the action that asked, read by the next message whatever its intent,
  cleared once answered (actions/conversation.py).
A new session (after an hour of silence) starts with an empty memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from sqlalchemy.orm import Session

from bot.nlu.intents import INTENT_AREAS
from bot.service import peak_watch
from bot.service.handoff import handoff_replies
from bot.shop.catalogue import find_product, product_by_sku
from bot.shop.config import ShopConfig
from bot.shop.orders import choose_order
from bot.shop.phrases import library
from bot.shop.replies import Reply
from bot.store import conversations
from bot.store.models import HandoffReason, Order, Product, ShopMode

# What the buyer said about the topic in hand: forgotten when the topic changes.
TOPIC_SLOTS = ("size", "color", "quantity", "express", "location", "amount", "complaint")
_AREA = {intent: area for area, intents in INTENT_AREAS.items() for intent in intents if area != "dialogue"}


@dataclass
class Context:
    tracker: Tracker
    session: Session
    now: datetime
    cfg: ShopConfig
    events: List[Dict[Text, Any]] = field(default_factory=list)
    _forgotten: set = field(default_factory=set)
    _changed: Dict[str, Any] = field(default_factory=dict)

    # --- the message ------------------------------------------------------------------------

    @property
    def buyer_id(self) -> str:
        """The platform's buyer id: sent with the message (the tracker of a buyer of a tenant
        shop is keyed by shop and buyer), else the tracker's sender."""
        return self.metadata.get("buyer_id") or self.tracker.sender_id

    @property
    def metadata(self) -> Dict[str, Any]:
        """What the channel sent along with the message (shop, nick, conversation id)."""
        return self.tracker.latest_message.get("metadata") or {}

    @property
    def shop_id(self) -> str:
        """The shop the message came to: cfg is that shop's config (actions/common.py reads
        the shop id from the event's metadata; the default shop without one)."""
        return self.cfg.shop_id

    @property
    def message_id(self) -> Optional[str]:
        return self.tracker.latest_message.get("message_id")

    @property
    def intent(self) -> Optional[str]:
        return (self.tracker.latest_message.get("intent") or {}).get("name")

    @property
    def text(self) -> str:
        return self.tracker.latest_message.get("text") or ""

    @property
    def mode(self) -> ShopMode:
        return conversations.shop_mode(self.session, self.shop_id)

    @property
    def in_peak(self) -> bool:
        """The rush dates, the supervisor's 高峰模式, or the load (bot/service/peak_watch.py)."""
        return peak_watch.state(self.session, self.cfg, self.shop_id, self.now).on

    @property
    def recent_intents(self) -> List[Optional[str]]:
        return [
            e.get("parse_data", {}).get("intent", {}).get("name")
            for e in self.tracker.events
            if e.get("event") == "user"
        ]

    def entity(self, name: str) -> Any:
        """The entity's value in this message (normalised by the NLU), else None."""
        return next(self.tracker.get_latest_entity_values(name), None)

    def last_entity(self, name: str) -> Any:
        """The last value of an entity in this message ("M码小了 换L" → L)."""
        values = list(self.tracker.get_latest_entity_values(name))
        return values[-1] if values else None

    # --- memory -----------------------------------------------------------------------------

    def slot(self, name: str) -> Any:
        if name in self._changed:
            return self._changed[name]
        return self.tracker.get_slot(name)

    def set_slot(self, name: str, value: Any) -> None:
        self._changed[name] = value
        self.events.append(SlotSet(name, value))

    def value(self, name: str) -> Any:
        """This message's entity, else what the buyer said about the same topic earlier."""
        said = self.last_entity(name)
        if said is not None:
            return said
        remembered = None if name in self._forgotten else self.slot(name)
        return remembered[-1] if isinstance(remembered, list) and remembered else remembered

    def remember_topic(self) -> None:
        """Called once per message: a new topic forgets what was said about the old one."""
        area = _AREA.get(self.intent or "")
        if area is None or area == self.slot("topic"):
            return
        if self.slot("topic") is not None:
            for name in TOPIC_SLOTS:
                if self.entity(name) is None and self.slot(name) is not None:
                    self._forgotten.add(name)
                    self.set_slot(name, None)
        self.set_slot("topic", area)

    @property
    def awaiting(self) -> Dict[str, Any]:
        """What the bot asked for and waits on: {"kind": "order" | "product" | "address" | "offer", …}."""
        return self.slot("awaiting") or {}

    def await_answer(self, kind: str, **details: Any) -> None:
        self.set_slot("awaiting", {"kind": kind, **details})

    def answered(self) -> None:
        if self.awaiting:
            self.set_slot("awaiting", None)

    # --- what is being discussed --------------------------------------------------------------

    def order_for(self, intent: Optional[str] = None) -> "OrderLookup":
        """The order the buyer means; remembers it for the rest of the chat."""
        choice = choose_order(
            self.session,
            self.shop_id,
            self.buyer_id,
            intent or self.intent,
            order_id=self.entity("order_id"),
            current_id=self.slot("order_id"),
        )
        if choice.order is not None and choice.order.id != self.slot("order_id"):
            self.set_slot("order_id", choice.order.id)
        return OrderLookup(choice.order, choice.ask)

    def product(self, order: Optional[Order] = None) -> Optional[Product]:
        """The product in question: named in this message (by title, part of it or alias), else
        the one discussed before (named or sent as a card), else the order's item."""
        named = find_product(self.session, self.shop_id, self.text)
        if named is not None:
            if named.sku != self.slot("product_sku"):
                self.set_slot("product_sku", named.sku)
            return named
        sku = self.slot("product_sku")
        if sku:
            found = product_by_sku(self.session, self.shop_id, sku)
            if found is not None:
                return found
        if order is not None and order.items:
            return order.items[0].product
        return None

    def hand_off(self, reason: HandoffReason) -> List[Reply]:
        """Hand the buyer to a person now; the replies say so."""
        return handoff_replies(
            self.session, self.cfg, self.shop_id, self.buyer_id, reason, self.recent_intents, self.now
        )

    def last_bot_action(self) -> str:
        """The custom action that answered the buyer's previous message ("" if none)."""
        seen_user = False
        for event in reversed(self.tracker.events):
            if event.get("event") == "user":
                if seen_user:
                    return ""
                seen_user = True
            elif seen_user and event.get("event") == "action":
                name = event.get("name") or ""
                if name.startswith("action_") and name not in ("action_listen", "action_session_start"):
                    return name
        return ""

    def welcomed(self) -> bool:
        """The bot has welcomed the buyer in this session."""
        return bool(self.slot("welcomed"))


@dataclass
class OrderLookup:
    order: Optional[Order]
    ask: List[Reply]


def render(replies: List[Reply], seed: str, shop_id: Optional[str] = None) -> str:
    """Replies become one chat message: buyers read one bubble, not four in a row."""
    rng = random.Random(seed)  # the variant rotates per buyer and turn, but is repeatable
    phrases = library(shop_id)
    return "\n".join(phrases.render(r.phrase_id, r.slots, rng=rng) for r in replies)
