"""Intents answered by their quick-phrase alone (thanks, yes/no, promotions…), and the
closing script."""

from typing import List

from sqlalchemy import select

from actions.common import ShopAction
from actions.context import Context
from bot.shop.knowledge import record_gap, uncovered_topic
from bot.shop.phrases import PEAK_CATEGORY, library
from bot.shop.replies import Reply
from bot.store.models import Order, OrderStatus


class ActionAnswer(ShopAction):
    """The intent's first quick-phrase; during the Double 11 rush a peak script wins. A
    question the library has no answer for (定金 under promotions) is said to be so, and kept
    as a knowledge gap (bot/shop/knowledge.py), rather than answered with the general phrase."""

    action_name = "action_answer"

    def answer(self, ctx: Context) -> List[Reply]:
        intent = ctx.intent or "out_of_scope"
        topic = uncovered_topic(intent, ctx.text)
        if topic:
            record_gap(ctx.session, ctx.shop_id, ctx.buyer_id, topic, ctx.text, ctx.now, ctx.message_id, intent)
            return [Reply("dialogue.not_sure", {"topic": topic})]
        phrases = library(ctx.shop_id).for_intent(intent) or library(ctx.shop_id).for_intent("out_of_scope")
        if ctx.in_peak:
            phrases = sorted(phrases, key=lambda p: p.category != PEAK_CATEGORY)
        return [Reply(phrases[0].id)]


class ActionGoodbye(ShopAction):
    """Thank, invite to favourite the shop, and after a completed order ask for a review."""

    action_name = "action_goodbye"

    def answer(self, ctx: Context) -> List[Reply]:
        replies = [Reply("closing.goodbye")]
        received = ctx.session.execute(
            select(Order.id)
            .where(
                Order.shop_id == ctx.shop_id,
                Order.buyer_id == ctx.buyer_id,
                Order.status.in_([OrderStatus.SIGNED, OrderStatus.COMPLETED]),
            )
            .limit(1)
        ).first()
        if received:
            replies.append(Reply("review.ask"))
        return replies
