"""A person takes over: the buyer asked, a complaint, a bulk order — or the NLU could not read
the buyer (bot/service/handoff.py decides who and says how long)."""

from typing import List

from actions.cards import order_card
from actions.common import ShopAction
from actions.context import Context
from bot.service.handoff import INTENT_REASONS
from bot.shop.replies import Reply
from bot.store.models import HandoffReason


class ActionHandoff(ShopAction):
    action_name = "action_handoff"

    def answer(self, ctx: Context) -> List[Reply]:
        return ctx.hand_off(INTENT_REASONS.get(ctx.intent, HandoffReason.ASKED))


class ActionFallback(ShopAction):
    """The NLU is unsure: ask the buyer to rephrase; the second miss in a row goes to a person."""

    action_name = "action_fallback"

    def answer(self, ctx: Context) -> List[Reply]:
        # A fallback streak is caught by ShopAction's handoff check before this runs.
        if ctx.entity("order_id"):  # an order number and nothing else: show what we know of it
            return order_card(ctx)
        return [Reply("dialogue.fallback")]
