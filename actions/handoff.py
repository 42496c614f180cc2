from typing import List

from actions.cards import order_card
from actions.common import Context, ShopAction
from bot.handoff import INTENT_REASONS, Reason, hand_off_for, handoff_phrase
from bot.replies import Reply

# The phrase that acknowledges the buyer before the handoff message, by reason.
_OPENING = {Reason.ANGRY: "dialogue.complain_service", Reason.DISPUTE: "dialogue.complain_service",
            Reason.BULK: "dialogue.bulk_order"}


def handoff_replies(ctx: Context, reason: Reason) -> List[Reply]:
    handoff = hand_off_for(ctx.session, ctx.cfg, ctx.shop_id, ctx.buyer_id, reason, ctx.recent_intents, ctx.now)
    return handoff_phrase(ctx.cfg, handoff, ctx.now, opening=_OPENING.get(reason))


class ActionHandoff(ShopAction):
    action_name = "action_handoff"

    def answer(self, ctx: Context) -> List[Reply]:
        return handoff_replies(ctx, INTENT_REASONS.get(ctx.intent, Reason.ASKED))


class ActionFallback(ShopAction):
    """The NLU is unsure: ask the buyer to rephrase; the second miss in a row goes to a person."""

    action_name = "action_fallback"

    def answer(self, ctx: Context) -> List[Reply]:
        # A fallback streak is caught by ShopAction's handoff check before this runs.
        if ctx.entity("order_id"):  # an order number and nothing else: show what we know of it
            return order_card(ctx)
        return [Reply("dialogue.fallback")]
