"""The welcome script (bot/shop/welcome.py decides which)."""

from typing import List

from actions.common import ShopAction
from actions.context import Context
from bot.shop.replies import Reply
from bot.shop.welcome import welcome_reply


class ActionWelcome(ShopAction):
    action_name = "action_welcome"

    def answer(self, ctx: Context) -> List[Reply]:
        ctx.set_slot("welcomed", True)
        return welcome_reply(ctx.session, ctx.shop_id, ctx.buyer_id, ctx.in_peak)
