"""Console events that are not words: product cards, order cards, pictures."""

from typing import List

from actions.aftersales import ActionQualityComplaint, answer_quality
from actions.common import ShopAction
from actions.context import Context
from bot.shop.catalogue import product_by_sku, product_card
from bot.shop.orders import describe
from bot.shop.replies import Reply
from bot.store.models import HandoffReason


class ActionProductCard(ShopAction):
    """The buyer is looking at a product: its facts, and it becomes the product in question."""

    action_name = "action_product_card"

    def answer(self, ctx: Context) -> List[Reply]:
        sku = ctx.entity("product_sku")
        product = product_by_sku(ctx.session, ctx.shop_id, sku)
        if product is None:
            return [Reply("dialogue.ask_product")]
        return [product_card(product)]


def order_card(ctx: Context) -> List[Reply]:
    """What we know of the order the buyer points at; it becomes the order in question."""
    lookup = ctx.order_for(None)
    if lookup.order is None:
        return lookup.ask or [Reply("orders.none")]
    return [Reply("orders.card", {"order": describe(lookup.order)})]


class ActionOrderCard(ShopAction):
    """The buyer shared an order card."""

    action_name = "action_order_card"

    def answer(self, ctx: Context) -> List[Reply]:
        return order_card(ctx)


class ActionImage(ShopAction):
    """Pictures are for defects when the bot just asked for them; otherwise a person looks."""

    action_name = "action_image"

    def answer(self, ctx: Context) -> List[Reply]:
        asked_for_photos = ctx.last_bot_action() == ActionQualityComplaint.action_name
        order = ctx.order_for("complain_quality").order if asked_for_photos else None
        if order is not None:
            ctx.set_slot("photos_sent", True)
            return answer_quality(ctx, order)
        return [Reply("dialogue.image_to_agent", handoff_reason=HandoffReason.IMAGE)]
