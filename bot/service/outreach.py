"""Finding the orders to remind or warn, and sending to their buyers (the rules:
bot/shop/outreach.py). Run by the console app's scheduler (bot/console/operations.py).

Each message is stored in the buyer's conversation — the store page and the workbench show it
— together with its `outreach` row, in one savepoint; the row is unique per order, kind and
reminder time, so a reminder is never sent twice, whatever restarts or runs twice. Pushing the
stored messages to a real console's callback (bot/service/delivery.py) comes after.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import List

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.shop import outreach as rules
from bot.shop.config import ShopConfig
from bot.shop.phrases import library
from bot.shop.replies import Reply
from bot.store import conversations
from bot.store.models import (
    Conversation,
    Direction,
    Message,
    Order,
    OrderStatus,
    Outreach,
    OutreachKind,
    Sender,
    Variant,
)


def send_payment_reminders(session: Session, cfg: ShopConfig, shop_id: str, now: datetime) -> List[int]:
    """At a reminder time, remind every order that qualifies; returns the stored messages' ids."""
    slot = rules.reminder_slot(now, cfg)
    if slot is None:
        return []
    unpaid = session.execute(
        select(Order).where(
            Order.shop_id == shop_id,
            Order.status == OrderStatus.UNPAID,
            Order.created_at <= now - timedelta(hours=cfg.reminders.unpaid_hours),
        )
    ).scalars()
    sent = []
    for order in unpaid:
        if _already(session, order, OutreachKind.PAYMENT_REMINDER, slot):
            continue
        if not rules.remind_payment(order, now, cfg, _in_stock(session, order), _declined(session, order, cfg)):
            continue
        reply = rules.payment_reminder(order, now, cfg)
        message_id = _send(session, order, OutreachKind.PAYMENT_REMINDER, slot, reply, now)
        if message_id is not None:
            sent.append(message_id)
    return sent


def watch_list(session: Session, cfg: ShopConfig, shop_id: str, now: datetime) -> List[Order]:
    """Paid orders not shipped whose shipping limit is near: the agents' list (handbook §3)."""
    paid = session.execute(
        select(Order).where(Order.shop_id == shop_id, Order.status == OrderStatus.PAID).order_by(Order.paid_at)
    ).scalars()
    return [o for o in paid if rules.on_watch_list(o, now, cfg)]


def send_delay_notices(session: Session, cfg: ShopConfig, shop_id: str, now: datetime) -> List[int]:
    """Tell each buyer on the watch list, once, before they ask."""
    sent = []
    for order in watch_list(session, cfg, shop_id, now):
        if _already(session, order, OutreachKind.DELAY_NOTICE, "once"):
            continue
        message_id = _send(session, order, OutreachKind.DELAY_NOTICE, "once", rules.delay_notice(order, now, cfg), now)
        if message_id is not None:
            sent.append(message_id)
    return sent


def _already(session: Session, order: Order, kind: OutreachKind, slot: str) -> bool:
    return (
        session.execute(
            select(Outreach.id).where(Outreach.order_id == order.id, Outreach.kind == kind, Outreach.slot == slot)
        ).first()
        is not None
    )


def _in_stock(session: Session, order: Order) -> bool:
    """Every item of the order is still in the warehouse (a reminder for goods gone is a lie)."""
    for item in order.items:
        stock = session.execute(
            select(Variant.stock).where(
                Variant.product_id == item.product_id, Variant.color == item.color, Variant.size == item.size
            )
        ).scalar_one_or_none()
        if stock is None or stock < item.quantity:
            return False
    return True


def _declined(session: Session, order: Order, cfg: ShopConfig) -> bool:
    words = session.execute(
        select(Message.text)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.shop_id == order.shop_id,
            Conversation.buyer_id == order.buyer_id,
            Message.direction == Direction.IN,
            Message.created_at >= order.created_at,
        )
    ).scalars()
    return rules.declined(words, cfg)


def _send(session: Session, order: Order, kind: OutreachKind, slot: str, reply: Reply, now: datetime) -> int | None:
    """Store the message and its outreach row together; None if another run got there first."""
    text = library(order.shop_id).render(reply.phrase_id, reply.slots, rng=random.Random(f"{order.id}:{kind}:{slot}"))
    try:
        with session.begin_nested():
            conv = conversations.conversation_for(session, order.shop_id, order.buyer_id)
            message = conversations.record(session, conv, Direction.OUT, Sender.BOT, text)
            message.phrase_id = reply.phrase_id
            session.add(
                Outreach(
                    shop_id=order.shop_id, order_id=order.id, kind=kind, slot=slot, message_id=message.id, sent_at=now
                )
            )
            session.flush()
    except IntegrityError:
        return None
    return message.id
