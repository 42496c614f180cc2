"""Shipping time, arrival, courier choice, parcel tracking (bot/shop/logistics.py decides)."""

import re
from typing import List, Optional

from actions.common import OrderAction, ShopAction
from actions.context import Context
from bot.shop.logistics import arrival_reply, express_reply, ship_time_reply, tracking_reply
from bot.shop.replies import Reply
from bot.store.models import Order

# "显示签收了但我没收到": the buyer says a signed parcel never reached them.
_NOT_RECEIVED = re.compile(r"没(收到|拿到|见到|见着|看到)|不是我签|没人签|谁签")


class ActionShipTime(OrderAction):
    action_name, intent = "action_ship_time", "ask_ship_time"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return ship_time_reply(order, ctx.now, ctx.cfg)


class ActionArrivalTime(OrderAction):
    action_name, intent = "action_arrival_time", "ask_arrival_time"
    follow_up_entities = ("location",)  # 到新疆几天 … 西藏呢

    def answer(self, ctx: Context) -> List[Reply]:
        if ctx.entity("location") and not ctx.entity("order_id"):
            return self.handle(ctx, None)  # "到上海几天": a question about the place, not an order
        return self.about_order(ctx)

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        province = ctx.entity("location") or (order.province if order is not None else None)
        return arrival_reply(order, province, ctx.now, ctx.cfg)


class ActionTrackPackage(OrderAction):
    action_name, intent = "action_track_package", "track_package"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return tracking_reply(order, ctx.now, ctx.cfg, buyer_says_missing=bool(_NOT_RECEIVED.search(ctx.text)))


class ActionExpress(ShopAction):
    action_name = "action_express"
    follow_up_entities = ("express",)  # 默认什么快递 … 换顺丰呢

    def answer(self, ctx: Context) -> List[Reply]:
        return express_reply(ctx.entity("express"), ctx.cfg)
