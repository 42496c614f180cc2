"""The shop's own first messages to a buyer (handbook §3): payment reminders (催付) and
late-shipping notices. Pure decisions; bot/service/outreach.py finds the orders and sends.

- **催付**: an order still unpaid `reminders.unpaid_hours` after it was placed, whose items
  are in stock, is reminded at the shop's reminder times (10:00 and 16:00) — once at each, so
  at most twice a day — and never after payment, cancellation, or the buyer saying 不要了.
  In the rush the reminder uses the peak wording.
- **Delay notice**: a paid order not yet shipped whose shipping limit (payment +
  `ship_limit_hours`) is `reminders.delay_watch_hours` away or less is on the watch list;
  its buyer is told once, with an apology and the date it will ship by, before they ask.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

from bot.formatting import cn_date
from bot.shop.config import ShopConfig
from bot.shop.orders import items_text
from bot.shop.peak import in_rush
from bot.shop.replies import Reply
from bot.store.models import Order, OrderStatus


def reminder_slot(now: datetime, cfg: ShopConfig) -> Optional[str]:
    """The reminder time now falls in ("2026-11-10 10:00"), within the grace after it (a
    server down at 10:00 makes up the round by 10:30), else None."""
    for hhmm in cfg.reminders.times:
        hour, minute = (int(x) for x in hhmm.split(":"))
        start = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if start <= now < start + timedelta(minutes=cfg.reminders.grace_minutes):
            return f"{now:%Y-%m-%d} {hhmm}"
    return None


def declined(buyer_words: Iterable[str], cfg: ShopConfig) -> bool:
    """The buyer said they don't want it (不要了) in a message after ordering."""
    return any(word in text for text in buyer_words for word in cfg.reminders.declined_words)


def remind_payment(order: Order, now: datetime, cfg: ShopConfig, in_stock: bool, buyer_declined: bool) -> bool:
    return (
        order.status == OrderStatus.UNPAID
        and now - order.created_at >= timedelta(hours=cfg.reminders.unpaid_hours)
        and in_stock
        and not buyer_declined
    )


def payment_reminder(order: Order, now: datetime, cfg: ShopConfig) -> Reply:
    phrase = "peak.payment_reminder" if in_rush(now, cfg) else "payment.reminder"
    return Reply(phrase, {"items": items_text(order)})


def ship_deadline(order: Order, cfg: ShopConfig) -> Optional[datetime]:
    return order.paid_at + timedelta(hours=cfg.ship_limit_hours) if order.paid_at is not None else None


def on_watch_list(order: Order, now: datetime, cfg: ShopConfig) -> bool:
    """Paid, not shipped, and its shipping limit near (or past)."""
    deadline = ship_deadline(order, cfg)
    return (
        order.status == OrderStatus.PAID
        and deadline is not None
        and deadline - now <= timedelta(hours=cfg.reminders.delay_watch_hours)
    )


def delay_notice(order: Order, now: datetime, cfg: ShopConfig) -> Reply:
    """The apology, with the day it ships by: the limit, or tomorrow if that has passed."""
    deadline = ship_deadline(order, cfg) or now
    ship_by = deadline if deadline > now else now + timedelta(days=1)
    return Reply("logistics.delay_notice", {"items": items_text(order), "ship_date": cn_date(ship_by.date())})
