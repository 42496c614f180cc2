"""What every action shares: the shop, the buyer, the database, and sending quick-phrases.

Each action in this package answers one area (logistics, after-sales, …) by calling the
logic in bot/ and sending the Replies it returns. ShopAction does the plumbing once:
a database session per action run, the shop clock, the order the buyer means, sending
phrases, and handing off when the logic says a person must take over.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from bot import clock, conversations
from bot.db import session_scope
from bot.handoff import hand_off_for, trigger
from bot.models import Order
from bot.orders import choose_order
from bot.phrases import library
from bot.replies import Reply
from bot.shop import ShopConfig, shop


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
    def mode(self) -> str:
        return conversations.shop_mode(self.session, self.shop_id)

    @property
    def recent_intents(self) -> List[Optional[str]]:
        return [e.get("parse_data", {}).get("intent", {}).get("name")
                for e in self.tracker.events if e.get("event") == "user"]

    def entity(self, name: str) -> Any:
        """The entity's value in this message (normalised by the NLU), else None."""
        return next(self.tracker.get_latest_entity_values(name), None)

    def slot(self, name: str) -> Any:
        return self.tracker.get_slot(name)

    def set_slot(self, name: str, value: Any) -> None:
        self.events.append(SlotSet(name, value))

    def order_for(self, intent: Optional[str] = None) -> "OrderLookup":
        """The order the buyer means; remembers it for the rest of the chat."""
        choice = choose_order(self.session, self.buyer_id, intent or self.intent,
                              order_id=self.entity("order_id"), current_id=self.slot("order_id"))
        if choice.order is not None:
            self.set_slot("order_id", choice.order.id)
        return OrderLookup(choice.order, choice.ask)


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


# Intent → how to answer it once the order is known; filled by the area modules so a
# buyer asked "which order?" can answer with just the number.
OrderHandler = Callable[[Context, Order], List[Reply]]
ORDER_HANDLERS: Dict[str, OrderHandler] = {}


class ShopAction(Action):
    """Base of the shop's actions: subclasses implement answer(ctx) -> replies."""

    action_name = ""

    def name(self) -> Text:
        return self.action_name

    def answer(self, ctx: Context) -> List[Reply]:
        raise NotImplementedError

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


def label_inbound(session: Session, tracker: Tracker) -> None:
    """Note the NLU's reading on the stored buyer message: the agents' summary and the
    trainers' review read it there."""
    message_id = tracker.latest_message.get("message_id")
    intent = tracker.latest_message.get("intent") or {}
    if message_id and intent.get("name"):
        conversations.label(session, message_id, intent["name"], intent.get("confidence"))


def forced_handoff(ctx: Context) -> Optional[List[Reply]]:
    """Hand off whatever the intent when the conversation calls for a person (bot/handoff.py)."""
    readings = [e.get("parse_data", {}).get("intent", {}) for e in ctx.tracker.events if e.get("event") == "user"]
    if ctx.tracker.active_loop.get("name"):
        readings = []  # a form reads the answer to its own question; the classifier's doubt doesn't count
    reason = trigger(ctx.cfg, ctx.text, [r.get("confidence") or 0.0 for r in readings],
                     [r.get("name") for r in readings])
    if reason is None:
        return None
    from actions.handoff import handoff_replies  # the handoff phrases live with the handoff action

    return handoff_replies(ctx, reason)


class OrderAction(ShopAction):
    """An action that answers its intent about the order the buyer means (ORDER_HANDLERS)."""

    intent = ""

    def answer(self, ctx: Context) -> List[Reply]:
        return answer_about_order(ctx, self.intent)


def answer_about_order(ctx: Context, intent: str) -> List[Reply]:
    """Find the order and answer with the intent's handler — or ask which order first."""
    lookup = ctx.order_for(intent)
    if lookup.ask:
        ctx.set_slot("pending_intent", intent)
        return lookup.ask
    if lookup.order is None:
        return ORDER_HANDLERS[intent](ctx, None)  # type: ignore[arg-type]
    return ORDER_HANDLERS[intent](ctx, lookup.order)


def resume_pending(ctx: Context) -> Optional[List[Reply]]:
    """The bot asked "which order?" and this message names one: answer the first question."""
    pending = ctx.slot("pending_intent")
    if not pending or not ctx.entity("order_id"):
        return None
    ctx.set_slot("pending_intent", None)
    return answer_about_order(ctx, pending)
