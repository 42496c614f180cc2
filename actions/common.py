"""What every action shares: the shop, the buyer, the database, and sending quick-phrases.

Each action in this package answers one area (logistics, after-sales, …) by calling the
logic in bot/ and sending the Replies it returns. ShopAction does the plumbing once:
a database session per action run, the shop clock, the order the buyer means, sending
phrases, and handing off when the logic says a person must take over.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Dict, List, Optional, Text, Type

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from bot import clock
from bot.service.handoff import hand_off_for, handoff_replies, trigger
from bot.shop.config import ShopConfig, shop
from bot.shop.orders import choose_order
from bot.shop.phrases import library
from bot.shop.replies import Reply
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import HandoffReason, Order, ShopMode


@dataclass
class Context:
    tracker: Tracker
    session: Session
    now: datetime
    cfg: ShopConfig
    events: List[Dict[Text, Any]] = field(default_factory=list)

    @property
    def buyer_id(self) -> str:
        return self.tracker.sender_id

    @property
    def shop_id(self) -> str:
        metadata = self.tracker.latest_message.get("metadata") or {}
        return metadata.get("shop_id") or self.cfg.shop_id

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
    def recent_intents(self) -> List[Optional[str]]:
        return [
            e.get("parse_data", {}).get("intent", {}).get("name")
            for e in self.tracker.events
            if e.get("event") == "user"
        ]

    def entity(self, name: str) -> Any:
        """The entity's value in this message (normalised by the NLU), else None."""
        return next(self.tracker.get_latest_entity_values(name), None)

    def slot(self, name: str) -> Any:
        return self.tracker.get_slot(name)

    def set_slot(self, name: str, value: Any) -> None:
        self.events.append(SlotSet(name, value))

    def order_for(self, intent: Optional[str] = None) -> "OrderLookup":
        """The order the buyer means; remembers it for the rest of the chat."""
        choice = choose_order(
            self.session,
            self.buyer_id,
            intent or self.intent,
            order_id=self.entity("order_id"),
            current_id=self.slot("order_id"),
        )
        if choice.order is not None:
            self.set_slot("order_id", choice.order.id)
        return OrderLookup(choice.order, choice.ask)

    def hand_off(self, reason: HandoffReason) -> List[Reply]:
        """Hand the buyer to a person now; the replies say so."""
        return handoff_replies(
            self.session, self.cfg, self.shop_id, self.buyer_id, reason, self.recent_intents, self.now
        )


@dataclass
class OrderLookup:
    order: Optional[Order]
    ask: List[Reply]


def render(replies: List[Reply], seed: str) -> str:
    """Replies become one chat message: buyers read one bubble, not four in a row."""
    rng = random.Random(seed)  # the variant rotates per buyer and turn, but is repeatable
    return "\n".join(library().render(r.phrase_id, r.slots, rng=rng) for r in replies)


def send(dispatcher: CollectingDispatcher, ctx: Context, replies: List[Reply]) -> None:
    if not replies:
        return
    dispatcher.utter_message(text=render(replies, f"{ctx.buyer_id}:{len(ctx.tracker.events)}"))
    reason = next((r.handoff_reason for r in replies if r.handoff_reason), None)
    if reason:  # the phrase already tells the buyer a person will follow up
        hand_off_for(ctx.session, ctx.cfg, ctx.shop_id, ctx.buyer_id, reason, ctx.recent_intents, ctx.now)


class ShopAction(Action, ABC):
    """Base of the shop's actions: subclasses name themselves and implement answer(ctx)."""

    action_name: ClassVar[str] = ""

    def name(self) -> Text:
        return self.action_name

    @abstractmethod
    def answer(self, ctx: Context) -> List[Reply]:
        """The replies to this buyer message (the shop logic in bot/ decides them)."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        with session_scope() as session:
            ctx = Context(tracker, session, clock.now(), shop())
            label_inbound(session, tracker)
            replies = forced_handoff(ctx)
            if replies is None:
                replies = resume_pending(ctx)
            if replies is None:
                replies = self.answer(ctx)
            send(dispatcher, ctx, replies)
        return ctx.events


class OrderAction(ShopAction):
    """An action that answers its intent about the order the buyer means — or asks which
    order first, and answers once the buyer names one (resume_pending)."""

    intent: ClassVar[str] = ""

    @abstractmethod
    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        """The answer about this order (None: the buyer has no order that fits)."""

    def answer(self, ctx: Context) -> List[Reply]:
        return self.about_order(ctx)

    def about_order(self, ctx: Context) -> List[Reply]:
        lookup = ctx.order_for(self.intent)
        if lookup.ask:
            ctx.set_slot("pending_intent", self.intent)
            return lookup.ask
        return self.handle(ctx, lookup.order)

    @classmethod
    def for_intent(cls, intent: str) -> Optional["OrderAction"]:
        """The order action that answers an intent (every action module is loaded by the
        action server, so every subclass is known)."""
        pending: List[Type[OrderAction]] = list(cls.__subclasses__())
        while pending:
            sub = pending.pop()
            if sub.intent == intent:
                return sub()
            pending += sub.__subclasses__()
        return None


def label_inbound(session: Session, tracker: Tracker) -> None:
    """Note the NLU's reading on the stored buyer message: the agents' summary and the
    trainers' review read it there."""
    message_id = tracker.latest_message.get("message_id")
    intent = tracker.latest_message.get("intent") or {}
    if message_id and intent.get("name"):
        conversations.label(session, message_id, intent["name"], intent.get("confidence"))


def forced_handoff(ctx: Context) -> Optional[List[Reply]]:
    """Hand off whatever the intent when the conversation calls for a person (bot/service/handoff.py)."""
    readings = [e.get("parse_data", {}).get("intent", {}) for e in ctx.tracker.events if e.get("event") == "user"]
    if ctx.tracker.active_loop.get("name"):
        readings = []  # a form reads the answer to its own question; the classifier's doubt doesn't count
    reason = trigger(
        ctx.cfg, ctx.text, [r.get("confidence") or 0.0 for r in readings], [r.get("name") for r in readings]
    )
    return ctx.hand_off(reason) if reason is not None else None


def resume_pending(ctx: Context) -> Optional[List[Reply]]:
    """The bot asked "which order?" and this message names one: answer the first question."""
    pending = ctx.slot("pending_intent")
    if not pending or not ctx.entity("order_id"):
        return None
    ctx.set_slot("pending_intent", None)
    action = OrderAction.for_intent(pending)
    return action.about_order(ctx) if action is not None else None
