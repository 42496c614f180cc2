"""Refunds, returns, exchanges, quality complaints, wrong items, price differences
(bot/shop/aftersales.py decides)."""

import re
from typing import List, Optional

from actions.common import OrderAction, ShopAction
from actions.context import Context
from bot.shop import aftersales
from bot.shop.replies import Reply
from bot.store.models import Order

# A refund request that names a defect is a quality return: the shop pays the freight.
_DEFECT = re.compile(r"质量|破|洞|开线|脱线|掉色|褪色|起球|线头|污渍|瑕疵|次品|有问题")
_MISSING = re.compile(r"少|漏|缺|没有.*(件|条)|只有|就一件")
NO_ORDER = [Reply("orders.none")]
QUALITY = "quality"  # the complaint in progress (memory slot `complaint`)


def _reason(ctx: Context) -> str:
    """Whose fault: a defect named now, or the quality complaint this chat is about — then the
    shop pays the freight, never the buyer."""
    if _DEFECT.search(ctx.text) or ctx.value("complaint") == QUALITY:
        return aftersales.QUALITY
    return aftersales.PERSONAL


def answer_quality(ctx: Context, order: Order) -> List[Reply]:
    """A defect: photos first, then the options — and the offered compensation is remembered,
    so "那就补偿吧" or "补我30块" is read against it (actions/conversation.py)."""
    ctx.set_slot("complaint", QUALITY)
    replies = aftersales.quality_reply(ctx.session, order, ctx.now, ctx.cfg, bool(ctx.slot("photos_sent")))
    if any(r.phrase_id == "aftersales.quality_options" for r in replies):
        ctx.await_answer("offer", order_id=order.id, amount=ctx.cfg.compensation.max_without_approval)
    return replies


class ActionRefund(OrderAction):
    action_name, intent = "action_refund", "request_refund"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        if order is None:
            return NO_ORDER
        ctx.answered()  # a refund chosen over the offered compensation
        return aftersales.refund_reply(ctx.session, order, ctx.now, ctx.cfg, reason=_reason(ctx))


class ActionExchange(OrderAction):
    action_name, intent = "action_exchange", "request_exchange"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        if order is None:
            return NO_ORDER
        ctx.answered()
        # "M码小了 想换L": the size wanted is the last one named, now or earlier about this.
        wanted = " ".join(str(v) for v in (ctx.value("color"), ctx.value("size")) if v) or None
        return aftersales.exchange_reply(ctx.session, order, ctx.now, ctx.cfg, wanted, reason=_reason(ctx))


class ActionQualityComplaint(OrderAction):
    action_name, intent = "action_quality_complaint", "complain_quality"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        if order is None:
            return NO_ORDER
        return answer_quality(ctx, order)


class ActionWrongItem(OrderAction):
    action_name, intent = "action_wrong_item", "wrong_item"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        if order is None:
            return NO_ORDER
        missing = bool(_MISSING.search(ctx.text))
        return aftersales.wrong_item_reply(ctx.session, order, ctx.now, ctx.cfg, missing)


class ActionPriceDiff(OrderAction):
    action_name, intent = "action_price_diff", "ask_price_diff"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        if order is None:
            return NO_ORDER
        return aftersales.price_diff_reply(order, ctx.now, ctx.cfg)


class ActionReturnPolicy(ShopAction):
    action_name = "action_return_policy"

    def answer(self, ctx: Context) -> List[Reply]:
        lookup = ctx.order_for("track_package")  # the signed order decides the last day
        return aftersales.return_policy_reply(lookup.order, ctx.now, ctx.cfg)
