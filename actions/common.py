"""What every action does: read the message against the conversation, then answer it.

Each action in this package answers one area (logistics, after-sales, …) by calling the
logic in bot/ and sending the Replies it returns. ShopAction does the plumbing once, in
this order for every message:
1. note the NLU's reading on the stored message and move the conversation's memory to the
   message's topic (actions/context.py);
2. tell a buyer waiting for an agent their place when they ask about the wait; hand off when
   the conversation calls for a person, whatever the intent;
3. answer what the bot was waiting for (which order, the new address, an offer), a
   withdrawal of a request, or a follow-up to the previous answer ("顺丰呢" after "默认什么
   快递") — the message read against the conversation (actions/conversation.py);
4. otherwise the action's own answer — with the welcome first if the buyer opened with a
   greeting and has not been welcomed.
"""

from __future__ import annotations

import inspect
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Dict, List, Optional, Text, Tuple, Type

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ACTION_LISTEN_NAME as ACTION_LISTEN

from actions import conversation
from actions.context import Context, OrderLookup, render  # noqa: F401  (OrderLookup: the actions' type)
from bot import clock
from bot.nlu.classifier import without_opening
from bot.nlu.intents import FALLBACK
from bot.service.handoff import hand_off_for, trigger
from bot.shop.config import shop
from bot.shop.replies import Reply
from bot.shop.welcome import welcome_reply
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import Order

# A follow-up names one thing and leans on the previous answer: "顺丰呢", "那换顺丰", "新疆的话".
FOLLOW_UP_MAX_CHARS = 14
FOLLOW_UP_MARK = re.compile(r"呢|^那|的话|^换|要是|改成")


def send(dispatcher: CollectingDispatcher, ctx: Context, replies: List[Reply]) -> None:
    if not replies:
        return
    # The variant rotates per message (not per event count: the tracker is a window, its length stalls).
    dispatcher.utter_message(text=render(replies, f"{ctx.buyer_id}:{ctx.message_id}", ctx.shop_id))
    reason = next((r.handoff_reason for r in replies if r.handoff_reason), None)
    if reason:  # the phrase already tells the buyer a person will follow up
        hand_off_for(ctx.session, ctx.cfg, ctx.shop_id, ctx.buyer_id, reason, ctx.recent_intents, ctx.now)


class ShopAction(Action, ABC):
    """Base of the shop's actions: subclasses name themselves and implement answer(ctx).

    `follow_up_entities`: a message that only names one of these right after this action
    answered (顺丰呢) is answered by this action again, with the new value, whatever the
    classifier made of the fragment."""

    action_name: ClassVar[str] = ""
    follow_up_entities: ClassVar[Tuple[str, ...]] = ()

    def name(self) -> Text:
        return self.action_name

    @abstractmethod
    def answer(self, ctx: Context) -> List[Reply]:
        """The replies to this buyer message (the shop logic in bot/ decides them)."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        with session_scope() as session:
            ctx = Context(tracker, session, clock.now(), shop(_event_shop(tracker)))
            label_inbound(ctx)
            ctx.remember_topic()
            replies = (
                conversation.waiting_for_a_person(ctx)
                or forced_handoff(ctx)
                or resume_pending(ctx)
                or conversation.awaited_answer(ctx)
                or conversation.withdraw_request(ctx)
                or follow_up(ctx)
                or self.answer(ctx)
            )
            send(dispatcher, ctx, welcome_first(ctx, replies))
        return ctx.events + listen_next(tracker, ctx.events)

    @classmethod
    def named(cls, action_name: str) -> Optional["ShopAction"]:
        """The action with this name (every action module is loaded by the action server)."""
        return next((sub() for sub in _concrete(cls) if sub.action_name == action_name), None)


def _event_shop(tracker: Tracker) -> Optional[str]:
    """The shop the buyer's message came to, as the console channel sent it with the message
    (None on the development REST channel: the default shop)."""
    return (tracker.latest_message.get("metadata") or {}).get("shop_id") or None


def listen_next(tracker: Tracker, events: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """After a shop action the bot waits for the buyer, as every rule and story says: saying so
    spares Rasa a second run of its policies per message. Not while a form is active (after an
    interruption the form asks its question again) nor when the action started one."""
    if tracker.active_loop.get("name") or any(e.get("event") in ("active_loop", "followup") for e in events):
        return []
    return [FollowupAction(ACTION_LISTEN)]


def _concrete(cls: Type[ShopAction]) -> List[Type[ShopAction]]:
    """Every action class below cls that can run (not the abstract bases)."""
    found, pending = [], list(cls.__subclasses__())
    while pending:
        sub = pending.pop()
        if not inspect.isabstract(sub):
            found.append(sub)
        pending += sub.__subclasses__()
    return found


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
            ctx.await_answer("order", intent=self.intent)
            return lookup.ask
        return self.handle(ctx, lookup.order)

    @classmethod
    def for_intent(cls, intent: str) -> Optional["OrderAction"]:
        """The order action that answers an intent."""
        return next((sub() for sub in _concrete(cls) if getattr(sub, "intent", None) == intent), None)


def label_inbound(ctx: Context) -> None:
    """Note the NLU's reading on the stored buyer message: the agents' summary and the
    trainers' review read it there."""
    intent = ctx.tracker.latest_message.get("intent") or {}
    if ctx.message_id and intent.get("name"):
        conversation_id = ctx.metadata.get("conversation_id")  # the console channel's; else look it up
        if not isinstance(conversation_id, int):
            conversation_id = conversations.conversation_for(ctx.session, ctx.shop_id, ctx.buyer_id).id
        conversations.label(ctx.session, conversation_id, ctx.message_id, intent["name"], intent.get("confidence"))


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
    awaiting = ctx.awaiting
    if awaiting.get("kind") != "order" or not ctx.entity("order_id"):
        return None
    ctx.answered()
    action = OrderAction.for_intent(awaiting.get("intent", ""))
    return action.about_order(ctx) if action is not None else None


def follow_up(ctx: Context) -> Optional[List[Reply]]:
    """ "顺丰呢" right after the courier answer: the previous action answers again."""
    previous = ShopAction.named(ctx.last_bot_action())
    if previous is None or len(ctx.text.strip()) > FOLLOW_UP_MAX_CHARS:
        return None
    if not (FOLLOW_UP_MARK.search(ctx.text) or ctx.intent == FALLBACK):
        return None
    if not any(ctx.entity(name) is not None for name in previous.follow_up_entities):
        return None
    return previous.answer(ctx)


def welcome_first(ctx: Context, replies: List[Reply]) -> List[Reply]:
    """A buyer who opens with a greeting and a question gets greeted, then answered."""
    if ctx.intent == "greet" or ctx.welcomed() or without_opening(ctx.text, [])[0] == ctx.text:
        return replies
    ctx.set_slot("welcomed", True)
    return welcome_reply(ctx.session, ctx.shop_id, ctx.buyer_id, ctx.in_peak) + replies
