"""Messages read against what the conversation already holds, before their own intent.

A buyer's reply often means something only because of what came before: the new address
the bot asked for, "那就补偿吧" to the bot's offer, "那还是别退了" after a refund, "人呢"
while waiting for an agent. The classifier reads one message at a time; these functions read it
against the memory (actions/context.py) and the database, and answer when it settles
something. Each returns None when it does not apply.
"""

from __future__ import annotations

import re
from typing import List, Optional

from sqlalchemy import select

from actions.context import Context
from bot.service.agents import place_in_queue, queue_phrase
from bot.shop import aftersales
from bot.shop.catalogue import find_product, product_answer
from bot.shop.contacts import parse_contact
from bot.shop.order_changes import new_contact_reply
from bot.shop.orders import shop_order
from bot.shop.replies import Reply
from bot.store import conversations
from bot.store.models import AfterSaleTicket, Handler, Order, TicketKind, TicketStatus

# "那还是别退了 照常发吧": taking back a refund request.
WITHDRAW = re.compile(
    r"(?:别|不|不用|不要|不想|先不)退了|不退了|取消退款|撤销退款|撤回退款|退款.{0,3}(?:撤|取消)|还是要了|东西我还要"
    r"|照常发|继续发|正常发|还是发吧|还是给我发"
)
# Saying yes to the compensation the bot offered.
ACCEPT_OFFER = re.compile(r"补偿|补钱|补吧|补我|第二种|选2|选二|第2种|不用寄|不寄了|那就.*(?:补|赔)|赔.*吧")
# A waiting buyer asking about the wait: 人呢, 还要等多久, 怎么还没人.
ASKS_ABOUT_WAIT = re.compile(r"人呢|客服呢|还要等|等多久|等了半天|怎么还没人|还没人|排到|排队|轮到|到我了")
# A reply that looks like an attempt at receiver details, though unreadable.
LOOKS_LIKE_CONTACT = re.compile(r"\[(?:姓名|电话|地址)x\]|收货人|收件人|地址|电话|手机|\d{7,}")


def withdraw_request(ctx: Context) -> Optional[List[Reply]]:
    """The buyer takes back the refund they asked for (their latest open one)."""
    if not WITHDRAW.search(ctx.text):
        return None
    ticket = ctx.session.execute(
        select(AfterSaleTicket)
        .join(Order)
        .where(
            Order.shop_id == ctx.shop_id,
            Order.buyer_id == ctx.buyer_id,
            AfterSaleTicket.kind.in_([TicketKind.REFUND, TicketKind.RETURN]),
            AfterSaleTicket.status.in_([TicketStatus.OPEN, TicketStatus.DONE]),
        )
        .order_by(AfterSaleTicket.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if ticket is None:
        return None
    ctx.set_slot("order_id", ticket.order_id)
    return aftersales.withdraw_refund_reply(ctx.session, ticket.order, ctx.now)


def waiting_for_a_person(ctx: Context) -> Optional[List[Reply]]:
    """A buyer in the agents' queue asking about the wait hears their place, unchanged."""
    if not ASKS_ABOUT_WAIT.search(ctx.text):
        return None
    conv = conversations.conversation_for(ctx.session, ctx.shop_id, ctx.buyer_id)
    if conv.handled_by != Handler.QUEUE:
        return None
    place = place_in_queue(ctx.session, conv, ctx.cfg, ctx.now)
    return [Reply(*queue_phrase(place))] if place is not None else None


def awaited_answer(ctx: Context) -> Optional[List[Reply]]:
    """The answer to what the bot asked for: which product, the new receiver details, or the
    compensation."""
    awaiting = ctx.awaiting
    kind = awaiting.get("kind")
    order = shop_order(ctx.session, ctx.shop_id, awaiting.get("order_id"), ctx.buyer_id)
    if kind == "address" and order is not None:
        contact = parse_contact(ctx.text)
        if contact is None:
            return [Reply("address.ask_again")] if LOOKS_LIKE_CONTACT.search(ctx.text) else None
        ctx.answered()
        return new_contact_reply(ctx.session, order, contact, ctx.now, ctx.cfg)
    if kind == "product":  # the bot asked which product a question was about
        product = find_product(ctx.session, ctx.shop_id, ctx.text)
        if product is None:
            return None
        ctx.answered()
        ctx.set_slot("product_sku", product.sku)
        question = awaiting.get("question", "")
        return product_answer(ctx.session, product, question, ctx.now, ctx.shop_id, ctx.buyer_id, ctx.message_id)
    if kind == "offer" and order is not None:
        amount = ctx.entity("amount")
        if amount is None and not ACCEPT_OFFER.search(ctx.text):
            return None
        ctx.answered()
        return aftersales.quality_reply(
            ctx.session, order, ctx.now, ctx.cfg, has_photos=True, amount_asked=amount or awaiting.get("amount")
        )
    return None
