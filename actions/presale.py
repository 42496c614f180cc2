"""Bargaining, free shipping, gifts, promotions, stock, invoices, payment, order changes."""

import re
from typing import List, Optional

from sqlalchemy import select

from actions.common import Context, OrderAction, ShopAction
from bot.shop.order_changes import change_address_reply, modify_order_reply
from bot.shop.orders import confirmation_reply
from bot.shop.presale import bargain_reply, gift_answer, invoice_answer, shipping_fee_answer, stock_answer
from bot.shop.replies import Reply
from bot.store.models import Order, Product


def asked_again(ctx: Context) -> bool:
    """The buyer repeats the same request right after the bot's answer (insisting)."""
    intents = ctx.recent_intents
    return len(intents) >= 2 and intents[-1] == intents[-2]


def product_in_question(ctx: Context, order: Optional[Order]) -> Optional[Product]:
    """The product card the buyer sent, else the item of the order being discussed."""
    sku = ctx.slot("product_sku")
    if sku:
        return ctx.session.execute(select(Product).where(Product.sku == sku)).scalar_one_or_none()
    if order is not None and order.items:
        return order.items[0].product
    return None


class ActionBargain(ShopAction):
    action_name = "action_bargain"

    def answer(self, ctx: Context) -> List[Reply]:
        quantity = ctx.entity("quantity")
        return bargain_reply(ctx.cfg, int(quantity) if quantity else None)


class ActionShippingFee(ShopAction):
    action_name = "action_shipping_fee"

    def answer(self, ctx: Context) -> List[Reply]:
        order = ctx.order_for("ask_gift").order if not ctx.entity("location") else None
        return shipping_fee_answer(ctx.cfg, ctx.entity("location"), order, asked_again(ctx))


class ActionGift(OrderAction):
    action_name, intent = "action_gift", "ask_gift"

    def answer(self, ctx: Context) -> List[Reply]:
        return self.handle(ctx, ctx.order_for(self.intent).order)  # the rules when several orders fit

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return gift_answer(ctx.cfg, order, asked_again(ctx))


class ActionStock(ShopAction):
    action_name = "action_stock"

    def answer(self, ctx: Context) -> List[Reply]:
        order = ctx.order_for("ask_gift").order
        return stock_answer(product_in_question(ctx, order), ctx.entity("size"), ctx.entity("color"))


class ActionInvoice(OrderAction):
    action_name, intent = "action_invoice", "ask_invoice"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return invoice_answer(ctx.text, order)


class ActionChangeAddress(OrderAction):
    action_name, intent = "action_change_address", "change_address"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return change_address_reply(ctx.session, order, ctx.now, ctx.cfg)


class ActionModifyOrder(OrderAction):
    action_name, intent = "action_modify_order", "modify_order"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return modify_order_reply(ctx.session, order, ctx.now, ctx.cfg, ctx.entity("size"), ctx.entity("color"))


# "已付款 / 拍好了": the buyer reports payment; anything else about paying gets the help phrase.
_PAID = re.compile(r"已付|付好|付了|付款了|拍好了|已经拍|已拍|paid", re.I)


class ActionPayment(ShopAction):
    action_name = "action_payment"

    def answer(self, ctx: Context) -> List[Reply]:
        if not _PAID.search(ctx.text):
            return [Reply("payment.help")]
        order = ctx.order_for("ask_gift").order
        courier = ctx.cfg.couriers.get(order.express if order else ctx.cfg.default_express)
        return confirmation_reply(order, courier.name if courier else ctx.cfg.courier_names)
