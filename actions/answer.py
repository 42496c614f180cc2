"""Intents answered by their quick-phrase alone (thanks, yes/no, product facts, promotions…),
and the closing script."""

import re
from typing import List

from sqlalchemy import select

from actions.common import Context, ShopAction
from bot.shop.peak import peak_scripts
from bot.shop.phrases import PEAK_CATEGORY, library
from bot.shop.replies import Reply
from bot.store.models import Order, OrderStatus

_COLOR_DIFFERENCE = re.compile(r"色差|实物.*(颜色|一样)|颜色.*(一样|正)")


class ActionAnswer(ShopAction):
    """The intent's first quick-phrase; during the Double 11 rush a peak script wins."""

    action_name = "action_answer"

    def answer(self, ctx: Context) -> List[Reply]:
        intent = ctx.intent or "out_of_scope"
        if intent == "ask_product" and _COLOR_DIFFERENCE.search(ctx.text):
            return [Reply("dialogue.color_difference")]
        phrases = library().for_intent(intent) or library().for_intent("out_of_scope")
        if peak_scripts(ctx.now, ctx.cfg, ctx.mode):
            phrases = sorted(phrases, key=lambda p: p.category != PEAK_CATEGORY)
        return [Reply(phrases[0].id)]


class ActionGoodbye(ShopAction):
    """Thank, invite to favourite the shop, and after a completed order ask for a review."""

    action_name = "action_goodbye"

    def answer(self, ctx: Context) -> List[Reply]:
        replies = [Reply("closing.goodbye")]
        received = ctx.session.execute(
            select(Order.id)
            .where(Order.buyer_id == ctx.buyer_id, Order.status.in_([OrderStatus.SIGNED, OrderStatus.COMPLETED]))
            .limit(1)
        ).first()
        if received:
            replies.append(Reply("review.ask"))
        return replies
