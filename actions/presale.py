"""Product questions, bargaining, free shipping, gifts, stock, invoices, payment, order changes."""

import re
from typing import List, Optional

from actions.common import OrderAction, ShopAction
from actions.context import Context
from bot.shop.catalogue import product_answer
from bot.shop.contacts import parse_contact
from bot.shop.order_changes import change_address_reply, modify_order_reply, new_contact_reply
from bot.shop.orders import confirmation_reply, latest_paid
from bot.shop.presale import bargain_reply, gift_answer, invoice_answer, shipping_fee_answer, stock_answer
from bot.shop.replies import Reply
from bot.store.models import Order


def asked_again(ctx: Context) -> bool:
    """The buyer repeats the same request right after the bot's answer (insisting)."""
    intents = ctx.recent_intents
    return len(intents) >= 2 and intents[-1] == intents[-2]


def _recent_order(ctx: Context) -> Optional[Order]:
    """The order a pre-sale question may be about (the one being paid or just paid)."""
    return ctx.order_for("ask_gift").order


class ActionProduct(ShopAction):
    """A product question, answered from the product's own facts (bot/shop/catalogue.py)."""

    action_name = "action_product"

    def answer(self, ctx: Context) -> List[Reply]:
        product = ctx.product(_recent_order(ctx))
        if product is None:  # "which one?" — the answer names it, and this question is answered then
            ctx.await_answer("product", question=ctx.text)
        return product_answer(ctx.session, product, ctx.text, ctx.now, ctx.shop_id, ctx.buyer_id, ctx.message_id)


class ActionBargain(ShopAction):
    action_name = "action_bargain"

    def answer(self, ctx: Context) -> List[Reply]:
        quantity = ctx.entity("quantity")
        attempt = sum(1 for intent in ctx.recent_intents if intent == "bargain")
        return bargain_reply(ctx.cfg, int(quantity) if quantity else None, attempt)


class ActionShippingFee(ShopAction):
    action_name = "action_shipping_fee"
    follow_up_entities = ("location",)

    def answer(self, ctx: Context) -> List[Reply]:
        order = _recent_order(ctx) if not ctx.entity("location") else None
        return shipping_fee_answer(ctx.cfg, ctx.entity("location"), order, asked_again(ctx))


class ActionGift(OrderAction):
    action_name, intent = "action_gift", "ask_gift"

    def answer(self, ctx: Context) -> List[Reply]:
        return self.handle(ctx, ctx.order_for(self.intent).order)  # the rules when several orders fit

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return gift_answer(ctx.cfg, order, asked_again(ctx))


class ActionStock(ShopAction):
    action_name = "action_stock"
    follow_up_entities = ("size", "color")

    def answer(self, ctx: Context) -> List[Reply]:
        product = ctx.product(_recent_order(ctx))
        return stock_answer(product, ctx.value("size"), ctx.value("color"))


class ActionInvoice(OrderAction):
    action_name, intent = "action_invoice", "ask_invoice"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return invoice_answer(ctx.text, order)


class ActionChangeAddress(OrderAction):
    """地址填错了: hold the order and ask for the new details — or take them from this very
    message when the buyer already pasted them."""

    action_name, intent = "action_change_address", "change_address"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        replies = change_address_reply(ctx.session, order, ctx.now, ctx.cfg)
        if order is None or replies[0].phrase_id not in ("address.before_shipping", "address.after_shipping"):
            return replies
        contact = parse_contact(ctx.text)
        if contact is not None:
            return new_contact_reply(ctx.session, order, contact, ctx.now, ctx.cfg)
        ctx.await_answer("address", order_id=order.id)
        return replies


class ActionModifyOrder(OrderAction):
    action_name, intent = "action_modify_order", "modify_order"

    def handle(self, ctx: Context, order: Optional[Order]) -> List[Reply]:
        return modify_order_reply(ctx.session, order, ctx.now, ctx.cfg, ctx.last_entity("size"), ctx.entity("color"))


# "已付款 / 拍好了": the buyer reports payment; anything else about paying gets the help phrase.
_PAID = re.compile(r"已付|付好|付了|付款了|拍好了|已经拍|已拍|paid", re.I)


class ActionPayment(ShopAction):
    action_name = "action_payment"

    def answer(self, ctx: Context) -> List[Reply]:
        if not _PAID.search(ctx.text):
            return [Reply("payment.help")]
        order = ctx.order_for("ask_payment").order or latest_paid(ctx.session, ctx.shop_id, ctx.buyer_id)
        courier = ctx.cfg.couriers.get(order.express if order else ctx.cfg.default_express)
        return confirmation_reply(order, courier.name if courier else ctx.cfg.courier_names)
