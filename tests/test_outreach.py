"""The shop's own first messages (handbook §3): payment reminders (催付) at 10:00 and 16:00 and
late-shipping notices — the rules (bot/shop/outreach.py) and the sending
(bot/service/outreach.py), with the clock pinned and each test on its own database."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bot.service import outreach
from bot.shop import outreach as rules
from bot.shop.config import shop
from bot.shop.replies import Reply
from bot.store import conversations
from bot.store.models import (
    Base,
    Buyer,
    Conversation,
    Direction,
    Message,
    Order,
    OrderItem,
    OrderStatus,
    Outreach,
    OutreachKind,
    Product,
    Sender,
    Shipment,
    ShipmentStatus,
    Shop,
    Variant,
)

DAY = datetime(2026, 11, 20)  # a quiet Friday, far from the rush
AT_10 = DAY.replace(hour=10)
AT_16 = DAY.replace(hour=16)
PLACED = DAY.replace(hour=6)  # unpaid for 4 h at 10:00
RUSH_10 = datetime(2026, 11, 11, 10, 0)  # Double 11 itself
NOW = datetime(2026, 11, 20, 10, 30)
TITLE = "经典纯棉圆领短袖T恤"
ITEMS = f"{TITLE}（黑色 L）×1"  # how items_text names the order's one item


def stock_the_shop(session, shop_id, stock=10):
    session.add(
        Product(id=1, shop_id=shop_id, sku="QS-T001", title=TITLE, category="T恤", price_fen=7900, material="棉")
    )
    session.add(Variant(product_id=1, color="黑色", size="L", stock=stock))
    for buyer in ("alice", "bob"):
        session.add(Buyer(id=buyer, shop_id=shop_id, nick=buyer, created_at=DAY - timedelta(days=30)))
    session.flush()


@pytest.fixture()
def shop_id():
    return shop().shop_id


@pytest.fixture()
def session(shop_db, shop_id):
    stock_the_shop(shop_db, shop_id)
    return shop_db


def order(
    session,
    oid,
    created_at=PLACED,
    status=OrderStatus.UNPAID,
    buyer="alice",
    quantity=1,
    paid_at=None,
    shipped_at=None,
):
    o = Order(
        id=oid,
        shop_id=shop().shop_id,
        buyer_id=buyer,
        status=status,
        created_at=created_at,
        paid_at=paid_at,
        shipped_at=shipped_at,
        goods_fen=7900 * quantity,
        express="YTO",
        receiver_name="王强",
        receiver_phone="13800000000",
        province="浙江",
        city="杭州",
        address="文三路1号",
        note="",
        items=[OrderItem(product_id=1, color="黑色", size="L", quantity=quantity, unit_price_fen=7900)],
    )
    if shipped_at is not None:
        o.shipment = Shipment(express="YTO", tracking_no="YT" + oid, status=ShipmentStatus.IN_TRANSIT)
    session.add(o)
    session.flush()
    return o


def remind(session, at):
    return outreach.send_payment_reminders(session, shop(), shop().shop_id, at)


def rows(session, kind=OutreachKind.PAYMENT_REMINDER):
    return session.execute(select(Outreach).where(Outreach.kind == kind).order_by(Outreach.id)).scalars().all()


def outbound(session):
    return (
        session.execute(select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)).scalars().all()
    )


def buyer_says(session, monkeypatch, buyer, text, at):
    """A buyer message stored in their conversation at `at` (the store stamps clock.now())."""
    monkeypatch.setenv("XIAOER_NOW", at.isoformat())
    conv = conversations.conversation_for(session, shop().shop_id, buyer)
    return conversations.record(session, conv, Direction.IN, Sender.BUYER, text)


# --- the rules -----------------------------------------------------------------------------


def test_the_config_is_the_handbooks():
    r = shop().reminders
    assert (r.unpaid_hours, r.times, r.grace_minutes, r.delay_watch_hours) == (3, ["10:00", "16:00"], 30, 48)
    assert "不要了" in r.declined_words
    assert shop().ship_limit_hours == 72


@pytest.mark.parametrize(
    "at, slot",
    [
        (AT_10, "2026-11-20 10:00"),
        (DAY.replace(hour=10, minute=29, second=59), "2026-11-20 10:00"),
        (AT_16, "2026-11-20 16:00"),
        (DAY.replace(hour=16, minute=20), "2026-11-20 16:00"),
        (DAY.replace(hour=9, minute=59, second=59), None),
        (DAY.replace(hour=10, minute=31), None),
        (DAY.replace(hour=12), None),
        (DAY.replace(hour=15, minute=59), None),
        (DAY.replace(hour=16, minute=31), None),
    ],
)
def test_reminder_slot(at, slot):
    assert rules.reminder_slot(at, shop()) == slot


def test_declined_words():
    assert rules.declined(["你好", "算了不要了"], shop())
    assert rules.declined(["帮我取消订单"], shop())
    assert not rules.declined(["什么时候发货", "要的要的"], shop())


def test_payment_reminder_wording_in_and_out_of_the_rush(session):
    o = order(session, "301")
    assert rules.payment_reminder(o, AT_10, shop()) == Reply("payment.reminder", {"items": ITEMS})
    assert rules.payment_reminder(o, RUSH_10, shop()) == Reply("peak.payment_reminder", {"items": ITEMS})


# --- sending payment reminders ----------------------------------------------------------------


@pytest.mark.parametrize(
    "at, slot",
    [
        (AT_10, "2026-11-20 10:00"),
        (DAY.replace(hour=10, minute=29), "2026-11-20 10:00"),  # made up within the grace
        (AT_16, "2026-11-20 16:00"),
        (DAY.replace(hour=16, minute=15), "2026-11-20 16:00"),
    ],
)
def test_an_order_unpaid_for_3_hours_is_reminded_at_the_reminder_times(session, at, slot):
    order(session, "301")
    sent = remind(session, at)
    assert len(sent) == 1
    [row] = rows(session)
    assert (row.order_id, row.slot, row.sent_at, row.message_id) == ("301", slot, at, sent[0])


@pytest.mark.parametrize("hh, mm", [(9, 59), (10, 31), (12, 0), (15, 59), (16, 31), (23, 0)])
def test_no_reminder_outside_the_reminder_times(session, hh, mm):
    order(session, "301")
    assert remind(session, DAY.replace(hour=hh, minute=mm)) == []
    assert rows(session) == [] and outbound(session) == []


def test_an_order_placed_2_hours_before_10_waits_for_16(session):
    order(session, "301", created_at=DAY.replace(hour=8))
    assert remind(session, AT_10) == []
    assert len(remind(session, AT_16)) == 1
    assert [r.slot for r in rows(session)] == ["2026-11-20 16:00"]


def test_exactly_3_hours_unpaid_is_enough(session):
    order(session, "301", created_at=DAY.replace(hour=7))
    order(session, "302", created_at=DAY.replace(hour=7, minute=1))
    assert len(remind(session, AT_10)) == 1
    assert [r.order_id for r in rows(session)] == ["301"]


def test_never_twice_for_the_same_slot(session):
    order(session, "301")
    assert len(remind(session, AT_10)) == 1
    assert remind(session, AT_10) == []
    assert remind(session, DAY.replace(hour=10, minute=5)) == []
    assert len(rows(session)) == 1 and len(outbound(session)) == 1


def test_at_most_twice_a_day_when_run_every_minute(session):
    order(session, "301", created_at=DAY - timedelta(hours=5))  # unpaid since last night
    sent = []
    for minute in range(24 * 60):
        sent += remind(session, DAY + timedelta(minutes=minute))
    assert len(sent) == 2
    assert [r.slot for r in rows(session)] == ["2026-11-20 10:00", "2026-11-20 16:00"]
    assert len(outbound(session)) == 2


def test_every_qualifying_order_is_reminded(session):
    order(session, "301", buyer="alice")
    order(session, "302", buyer="bob")
    assert len(remind(session, AT_10)) == 2
    assert sorted(r.order_id for r in rows(session)) == ["301", "302"]


def test_never_after_payment(session):
    order(session, "301", status=OrderStatus.PAID, paid_at=DAY.replace(hour=7))
    assert remind(session, AT_10) == []
    assert rows(session) == []


def test_not_at_16_when_paid_after_the_10_oclock_reminder(session):
    o = order(session, "301")
    assert len(remind(session, AT_10)) == 1
    o.status, o.paid_at = OrderStatus.PAID, DAY.replace(hour=11)
    session.flush()
    assert remind(session, AT_16) == []
    assert len(rows(session)) == 1


def test_never_after_cancellation(session):
    o = order(session, "301", status=OrderStatus.CLOSED)
    o.closed_at = DAY.replace(hour=7)
    session.flush()
    assert remind(session, AT_10) == []
    assert rows(session) == []


def test_never_after_the_buyer_said_they_dont_want_it(session, monkeypatch):
    order(session, "301")
    buyer_says(session, monkeypatch, "alice", "算了，不要了", DAY.replace(hour=7))
    assert remind(session, AT_10) == []
    assert remind(session, AT_16) == []
    assert rows(session) == [] and outbound(session) == []


def test_words_before_the_order_or_from_another_buyer_do_not_count(session, monkeypatch):
    buyer_says(session, monkeypatch, "alice", "上次那件不要了", PLACED - timedelta(days=1))
    buyer_says(session, monkeypatch, "bob", "不要了", DAY.replace(hour=7))
    order(session, "301", buyer="alice")
    assert len(remind(session, AT_10)) == 1


def test_never_when_the_item_is_out_of_stock(session):
    session.execute(select(Variant)).scalar_one().stock = 0
    order(session, "301")
    assert remind(session, AT_10) == []
    assert rows(session) == []


def test_never_when_the_stock_is_less_than_the_order(session):
    session.execute(select(Variant)).scalar_one().stock = 1
    order(session, "301", quantity=2)
    assert remind(session, AT_10) == []


def test_the_reminder_is_a_stored_bot_message_naming_the_items(session):
    order(session, "301")
    [message_id] = remind(session, AT_10)
    message = session.get(Message, message_id)
    conv = session.get(Conversation, message.conversation_id)
    assert (conv.shop_id, conv.buyer_id) == (shop().shop_id, "alice")
    assert (message.direction, message.sender, message.phrase_id) == (Direction.OUT, Sender.BOT, "payment.reminder")
    assert ITEMS in message.text


def test_the_rush_reminder_uses_the_peak_wording(session):
    order(session, "301", created_at=RUSH_10 - timedelta(hours=4))
    [message_id] = remind(session, RUSH_10)
    message = session.get(Message, message_id)
    assert message.phrase_id == "peak.payment_reminder"
    assert ITEMS in message.text
    assert [r.slot for r in rows(session)] == ["2026-11-11 10:00"]


def test_a_second_send_for_the_same_slot_is_refused_by_the_database(session):
    """If two runs race past the check, the unique row stops the second message too."""
    o = order(session, "301")
    reply = rules.payment_reminder(o, AT_10, shop())
    first = outreach._send(session, o, OutreachKind.PAYMENT_REMINDER, "2026-11-20 10:00", reply, AT_10)
    second = outreach._send(session, o, OutreachKind.PAYMENT_REMINDER, "2026-11-20 10:00", reply, AT_10)
    assert first is not None and second is None
    assert len(rows(session)) == 1 and [m.id for m in outbound(session)] == [first]


def test_never_twice_across_a_restart(tmp_path, shop_id):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_engine(url, future=True)
    Base.metadata.create_all(engine)
    with Session(engine, future=True) as first:
        first.add(Shop(id=shop_id, name=shop().name))
        stock_the_shop(first, shop_id)
        order(first, "301")
        assert len(remind(first, AT_10)) == 1
        first.commit()
    engine.dispose()

    engine = create_engine(url, future=True)  # the restarted process
    with Session(engine, future=True) as second:
        assert remind(second, DAY.replace(hour=10, minute=5)) == []
        assert remind(second, AT_10) == []
        second.commit()
    with Session(engine, future=True) as check:
        assert check.execute(select(func.count(Outreach.id))).scalar_one() == 1
        assert check.execute(select(func.count(Message.id))).scalar_one() == 1
        assert len(remind(check, AT_16)) == 1  # the next slot still goes out
    engine.dispose()


# --- delay notices ----------------------------------------------------------------------------


def paid(session, oid, hours_ago, buyer="alice", shipped=False):
    at = NOW - timedelta(hours=hours_ago)
    return order(
        session,
        oid,
        created_at=at - timedelta(minutes=5),
        status=OrderStatus.SHIPPED if shipped else OrderStatus.PAID,
        buyer=buyer,
        paid_at=at,
        shipped_at=NOW - timedelta(hours=1) if shipped else None,
    )


def notices(session, at=NOW):
    return outreach.send_delay_notices(session, shop(), shop().shop_id, at)


def test_the_watch_list_holds_unshipped_orders_within_48_hours_of_the_limit(session):
    # ship limit 72 h after payment: paid 24 h ago → 48 h left; 25 h ago → 47 h; 23 h ago → 49 h.
    paid(session, "401", hours_ago=24)
    paid(session, "402", hours_ago=25, buyer="bob")
    paid(session, "403", hours_ago=23)
    paid(session, "404", hours_ago=60, shipped=True)
    order(session, "405", created_at=NOW - timedelta(hours=30))  # unpaid
    assert [o.id for o in outreach.watch_list(session, shop(), shop().shop_id, NOW)] == ["402", "401"]


def test_one_delay_notice_with_the_ship_by_date(session):
    paid(session, "401", hours_ago=24)  # paid 11-19 10:30 → ship by 11-22 10:30
    [message_id] = notices(session)
    message = session.get(Message, message_id)
    assert (message.direction, message.sender, message.phrase_id) == (
        Direction.OUT,
        Sender.BOT,
        "logistics.delay_notice",
    )
    assert "11月22日" in message.text and ITEMS in message.text
    assert session.get(Conversation, message.conversation_id).buyer_id == "alice"
    [row] = rows(session, OutreachKind.DELAY_NOTICE)
    assert (row.order_id, row.slot, row.message_id) == ("401", "once", message_id)


def test_a_delay_notice_is_sent_once(session):
    paid(session, "401", hours_ago=24)
    assert len(notices(session)) == 1
    assert notices(session) == []
    assert notices(session, NOW + timedelta(hours=5)) == []
    assert notices(session, NOW + timedelta(days=1)) == []
    assert len(outbound(session)) == 1


def test_no_notice_for_orders_far_from_the_limit_or_shipped(session):
    paid(session, "403", hours_ago=23)  # 49 h left
    paid(session, "404", hours_ago=60, shipped=True, buyer="bob")
    assert notices(session) == []
    assert outbound(session) == [] and rows(session, OutreachKind.DELAY_NOTICE) == []


def test_an_order_past_its_limit_ships_by_tomorrow(session):
    paid(session, "401", hours_ago=80)  # limit 11-20 02:30, already past at 10:30
    [message_id] = notices(session)
    assert "11月21日" in session.get(Message, message_id).text
