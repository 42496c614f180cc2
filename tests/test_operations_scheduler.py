"""One round of the console app's scheduler (bot/console/operations.py `tick`) on the shop
database: at 16:00 an order unpaid for hours is reminded, the reminder is in the buyer's
chat as the bot's message, and the next round — or a scheduler started afresh, as after a
restart — sends nothing more for it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.console.operations import tick
from bot.service.peak_watch import PeakWatch
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import Direction, Message, OrderStatus, Outreach, OutreachKind, Sender
from tests.factories import buyer_with_order


def test_a_round_at_16_reminds_once_across_restarts(db_url):
    buyer_id, order_id = buyer_with_order(OrderStatus.UNPAID, paid=timedelta(hours=5))
    at = datetime(2026, 11, 20, 16, 0)

    first = tick(PeakWatch(), at)
    with session_scope() as s:
        row = s.execute(select(Outreach).where(Outreach.order_id == order_id)).scalar_one()
        assert (row.kind, row.slot) == (OutreachKind.PAYMENT_REMINDER, "2026-11-20 16:00")
        assert row.message_id in first["sent"]
        conv = conversations.conversation_for(s, "qingshan", buyer_id)
        chat = s.execute(select(Message).where(Message.conversation_id == conv.id)).scalars().all()
        assert [(m.direction, m.sender, m.phrase_id) for m in chat] == [(Direction.OUT, Sender.BOT, "payment.reminder")]

    assert row.message_id not in tick(PeakWatch(), at + timedelta(minutes=1))["sent"]  # a fresh scheduler
    tick(PeakWatch(), at + timedelta(hours=1))  # out of the reminder time (delay notices may go)
    with session_scope() as s:
        assert len(s.execute(select(Outreach).where(Outreach.order_id == order_id)).scalars().all()) == 1
