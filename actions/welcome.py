from typing import List

from actions.common import Context, ShopAction
from bot.replies import Reply
from bot.welcome import welcome_reply


class ActionWelcome(ShopAction):
    action_name = "action_welcome"

    def answer(self, ctx: Context) -> List[Reply]:
        phrase_id, slots = welcome_reply(ctx.cfg, ctx.buyer_id, ctx.now, ctx.mode)
        return [Reply(phrase_id, slots)]
