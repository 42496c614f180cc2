"""Refunds, returns, exchanges, quality complaints, wrong items, price differences."""
import re
from typing import List, Optional

from actions.common import ORDER_HANDLERS, Context, OrderAction, ShopAction
from bot import aftersales
from bot.models import Order
from bot.replies import Reply

# A refund request that names a defect is a quality return: the shop pays the freight.
_DEFECT = re.compile(r"质量|破|洞|开线|脱线|掉色|褪色|起球|线头|污渍|瑕疵|次品|有问题")
_MISSING = re.compile(r"少|漏|缺|没有.*(件|条)|只有|就一件")


def _need_order(order: Optional[Order]) -> Optional[List[Reply]]:
    return [Reply("orders.none")] if order is None else None


def refund(ctx: Context, order: Optional[Order]) -> List[Reply]:
    reason = aftersales.QUALITY if _DEFECT.search(ctx.text) else aftersales.PERSONAL
    return _need_order(order) or aftersales.refund_reply(ctx.session, order, ctx.now, ctx.cfg, reason=reason)


def exchange(ctx: Context, order: Optional[Order]) -> List[Reply]:
    wanted = " ".join(str(v) for v in (ctx.entity("color"), ctx.entity("size")) if v) or None
    return _need_order(order) or aftersales.exchange_reply(ctx.session, order, ctx.now, ctx.cfg, wanted)


def quality(ctx: Context, order: Optional[Order]) -> List[Reply]:
    has_photos = bool(ctx.slot("photos_sent"))
    return _need_order(order) or aftersales.quality_reply(ctx.session, order, ctx.now, ctx.cfg, has_photos)


def wrong_item(ctx: Context, order: Optional[Order]) -> List[Reply]:
    missing = bool(_MISSING.search(ctx.text))
    return _need_order(order) or aftersales.wrong_item_reply(ctx.session, order, ctx.now, ctx.cfg, missing)


def price_diff(ctx: Context, order: Optional[Order]) -> List[Reply]:
    return _need_order(order) or aftersales.price_diff_reply(order, ctx.now, ctx.cfg)


ORDER_HANDLERS.update({
    "request_refund": refund, "request_exchange": exchange, "complain_quality": quality,
    "wrong_item": wrong_item, "ask_price_diff": price_diff,
})


class ActionRefund(OrderAction):
    action_name, intent = "action_refund", "request_refund"


class ActionExchange(OrderAction):
    action_name, intent = "action_exchange", "request_exchange"


class ActionQualityComplaint(OrderAction):
    action_name, intent = "action_quality_complaint", "complain_quality"


class ActionWrongItem(OrderAction):
    action_name, intent = "action_wrong_item", "wrong_item"


class ActionPriceDiff(OrderAction):
    action_name, intent = "action_price_diff", "ask_price_diff"


class ActionReturnPolicy(ShopAction):
    action_name = "action_return_policy"

    def answer(self, ctx: Context) -> List[Reply]:
        lookup = ctx.order_for("track_package")  # the signed order decides the last day
        return aftersales.return_policy_reply(lookup.order, ctx.now, ctx.cfg)
