"""Logistics decisions: ship date from the cut-off, the 72-hour limit, arrival dates, couriers,
and what the buyer hears when a parcel is moving, stuck, undeliverable or signed but missing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List

import pytest
from sqlalchemy.orm import Session

from bot.shop.config import shop
from bot.shop.logistics import arrival_reply, express_reply, ship_time_reply, tracking_reply
from bot.shop.phrases import library
from bot.shop.replies import Reply
from bot.store.models import Buyer, Order, OrderStatus, Shipment, ShipmentStatus, TrackingEvent

CFG = shop()
# A quiet weekday, well outside the Double 11 rush.
NOW = datetime(2026, 11, 20, 10, 0)
RUSH = datetime(2026, 11, 11, 9, 0)


class _Variant:
    """Picks variant i, so a test can render every variant of a phrase."""

    def __init__(self, i: int) -> None:
        self.i = i

    def choice(self, seq):
        return seq[self.i]


def texts(replies: List[Reply]) -> List[str]:
    """Every variant of every reply, rendered as the buyer reads it (fails on a missing slot)."""
    out = []
    for r in replies:
        for i in range(len(library().get(r.phrase_id).variants)):
            out.append(library().render(r.phrase_id, r.slots, rng=_Variant(i)))
    return out


def ids(replies: List[Reply]) -> List[str]:
    return [r.phrase_id for r in replies]


@pytest.fixture()
def session(shop_db):
    shop_db.add(Buyer(id="tb_test", shop_id=CFG.shop_id, nick="阿强", created_at=NOW - timedelta(days=100)))
    shop_db.flush()
    return shop_db


_counter = iter(range(10**6))


def make_order(
    session: Session,
    *,
    paid_at=None,
    status=None,
    province="浙江",
    city="杭州",
    express="YTO",
    flag=None,
    shipped_at=None,
    shipment_status=None,
    events=(),
    signed_at=None,
) -> Order:
    created = (paid_at or NOW) - timedelta(minutes=10)
    if status is None:
        status = OrderStatus.UNPAID if paid_at is None else (OrderStatus.SHIPPED if shipped_at else OrderStatus.PAID)
    order = Order(
        id=f"3{next(_counter):018d}",
        shop_id=CFG.shop_id,
        buyer_id="tb_test",
        status=status,
        created_at=created,
        paid_at=paid_at,
        shipped_at=shipped_at,
        signed_at=signed_at,
        goods_fen=7900,
        freight_fen=0,
        express=express,
        receiver_name="王伟",
        receiver_phone="13800000000",
        province=province,
        city=city,
        address="文三路1号",
        note="",
        flag=flag,
    )
    if shipped_at is not None:
        order.shipment = Shipment(
            express=express,
            tracking_no="YT1234567890123",
            status=shipment_status or ShipmentStatus.IN_TRANSIT,
            events=[TrackingEvent(time=t, location=loc, description=d) for t, loc, d in events],
        )
    session.add(order)
    session.flush()
    return order


# --- ship time --------------------------------------------------------------------------------


def test_paid_one_minute_before_cutoff_ships_today(session):
    order = make_order(session, paid_at=datetime(2026, 11, 20, 15, 59))
    replies = ship_time_reply(order, datetime(2026, 11, 20, 16, 30), CFG)
    assert ids(replies) == ["logistics.ships_today"]
    assert all("今天" in t for t in texts(replies))


def test_paid_one_minute_after_cutoff_ships_next_day_named_by_date(session):
    order = make_order(session, paid_at=datetime(2026, 11, 20, 16, 1))
    replies = ship_time_reply(order, datetime(2026, 11, 20, 16, 30), CFG)
    assert ids(replies) == ["logistics.ships_tomorrow"]
    assert replies[0].slots["ship_date"] == "11月21日"
    assert all("11月21日" in t for t in texts(replies))


def test_paid_exactly_at_cutoff_is_not_before_it(session):
    order = make_order(session, paid_at=datetime(2026, 11, 20, 16, 0))
    assert ids(ship_time_reply(order, datetime(2026, 11, 20, 16, 5), CFG)) == ["logistics.ships_tomorrow"]


def test_paid_after_cutoff_yesterday_ships_today(session):
    order = make_order(session, paid_at=datetime(2026, 11, 19, 20, 0))
    assert ids(ship_time_reply(order, datetime(2026, 11, 20, 9, 0), CFG)) == ["logistics.ships_today"]


def test_missed_same_day_promise_is_admitted_with_a_new_date(session):
    order = make_order(session, paid_at=datetime(2026, 11, 19, 9, 0))  # promised 11-19
    morning = ship_time_reply(order, datetime(2026, 11, 20, 9, 0), CFG)
    evening = ship_time_reply(order, datetime(2026, 11, 20, 17, 0), CFG)  # today's batch has gone
    assert ids(morning) == ids(evening) == ["logistics.ship_missed_promise"]
    assert morning[0].slots["ship_date"] == "11月20日"
    assert evening[0].slots["ship_date"] == "11月21日"
    assert all("抱歉" in t for t in texts(morning + evening))


def test_unshipped_70_hours_warns_73_hours_is_late_and_handed_off(session):
    warned = make_order(session, paid_at=NOW - timedelta(hours=70))
    late = make_order(session, paid_at=NOW - timedelta(hours=73))

    warning = ship_time_reply(warned, NOW, CFG)
    assert ids(warning) == ["logistics.ship_priority"]
    assert warning[0].handoff_reason is None
    deadline = warned.paid_at + timedelta(hours=CFG.ship_limit_hours)
    assert warning[0].slots["ship_deadline"] == f"{deadline.month}月{deadline.day}日 {deadline:%H:%M}"

    overdue = ship_time_reply(late, NOW, CFG)
    assert ids(overdue) == ["logistics.ship_late"]
    assert overdue[0].handoff_reason == "late_shipment"
    assert all("抱歉" in t or "对不起" in t for t in texts(warning + overdue))


def test_warning_starts_a_day_before_the_limit(session):
    fresh = make_order(session, paid_at=NOW - timedelta(hours=47))
    assert ids(ship_time_reply(fresh, NOW, CFG)) != ["logistics.ship_priority"]
    due = make_order(session, paid_at=NOW - timedelta(hours=48))
    assert ids(ship_time_reply(due, NOW, CFG)) == ["logistics.ship_priority"]


def test_no_order_gets_the_general_rule_from_the_shop_config():
    replies = ship_time_reply(None, NOW, CFG)
    assert ids(replies) == ["logistics.ship_time"]
    assert replies[0].slots == {"cutoff": CFG.cutoff, "ship_limit_hours": CFG.ship_limit_hours}
    assert all(CFG.cutoff in t for t in texts(replies))


def test_unpaid_order_asks_to_pay_first_then_gives_the_rule(session):
    order = make_order(session, paid_at=None)
    assert ids(ship_time_reply(order, NOW, CFG)) == ["logistics.pay_first", "logistics.ship_time"]
    texts(ship_time_reply(order, NOW, CFG))


def test_closed_refunding_and_held_orders_get_no_ship_date(session):
    closed = make_order(session, paid_at=None, status=OrderStatus.CLOSED)
    refund = make_order(session, paid_at=NOW - timedelta(hours=2), flag="blue")
    held = make_order(session, paid_at=NOW - timedelta(hours=2), flag="green")
    assert ids(ship_time_reply(closed, NOW, CFG)) == ["logistics.order_closed"]
    assert ids(ship_time_reply(refund, NOW, CFG)) == ["logistics.ship_refund_pending"]
    hold = ship_time_reply(held, NOW, CFG)
    assert ids(hold) == ["logistics.ship_on_hold"] and hold[0].handoff_reason == "order_on_hold"
    texts(ship_time_reply(closed, NOW, CFG) + ship_time_reply(refund, NOW, CFG) + hold)


def test_shipped_order_names_time_courier_and_tracking_number(session):
    order = make_order(
        session,
        paid_at=datetime(2026, 11, 19, 9, 0),
        shipped_at=datetime(2026, 11, 19, 15, 30),
        express="ZTO",
        events=[(datetime(2026, 11, 19, 15, 30), "杭州", "【杭州转运中心】已揽收")],
    )
    replies = ship_time_reply(order, NOW, CFG)
    assert ids(replies) == ["logistics.shipped"]
    for text in texts(replies):
        assert "YT1234567890123" in text and CFG.couriers["ZTO"].name in text and "11月19日 15:30" in text


# --- Double 11 rush ---------------------------------------------------------------------------


def test_rush_uses_peak_phrasing_in_payment_order_within_n_days(session):
    days = CFG.peak.ship_within_days
    general = ship_time_reply(None, RUSH, CFG)
    assert ids(general) == ["logistics.peak_ship_rule"]
    assert all(f"{days}天内" in t for t in texts(general))

    paid = make_order(session, paid_at=datetime(2026, 11, 11, 0, 30))
    replies = ship_time_reply(paid, RUSH, CFG)
    assert ids(replies) == ["logistics.peak_ship_order"]
    ship_by = datetime(2026, 11, 11) + timedelta(days=days)
    assert replies[0].slots["ship_date"] == f"{ship_by.month}月{ship_by.day}日"
    assert all("付款顺序" in t or "排队" in t for t in texts(replies))

    unpaid = make_order(session, paid_at=None)
    assert ids(ship_time_reply(unpaid, RUSH, CFG)) == ["logistics.pay_first", "logistics.peak_ship_rule"]


def test_late_order_is_still_late_during_the_rush(session):
    order = make_order(session, paid_at=RUSH - timedelta(hours=73))
    replies = ship_time_reply(order, RUSH, CFG)
    assert ids(replies) == ["logistics.ship_late"] and replies[0].handoff_reason == "late_shipment"


# --- arrival ----------------------------------------------------------------------------------


def test_arrival_date_to_xinjiang_and_zhejiang_uses_the_couriers_transit_days(session):
    shipped = datetime(2026, 11, 20, 9, 0)
    xinjiang = make_order(
        session, paid_at=shipped - timedelta(hours=3), shipped_at=shipped, province="新疆", city="乌鲁木齐"
    )
    zhejiang = make_order(session, paid_at=shipped - timedelta(hours=3), shipped_at=shipped)
    far, near = CFG.couriers["YTO"].days_to("新疆"), CFG.couriers["YTO"].days_to("浙江")
    assert far > near

    to_xinjiang = arrival_reply(xinjiang, None, NOW, CFG)
    to_zhejiang = arrival_reply(zhejiang, None, NOW, CFG)
    assert ids(to_xinjiang) == ids(to_zhejiang) == ["logistics.arrival_after_shipping"]
    assert to_xinjiang[0].slots["transit_days"] == far
    assert to_zhejiang[0].slots["transit_days"] == near
    for replies, days in ((to_xinjiang, far), (to_zhejiang, near)):
        arrive = shipped + timedelta(days=days)
        assert replies[0].slots["arrival_date"] == f"{arrive.month}月{arrive.day}日"
    texts(to_xinjiang + to_zhejiang)


def test_arrival_for_an_unshipped_order_counts_from_its_ship_date(session):
    order = make_order(session, paid_at=datetime(2026, 11, 20, 17, 0), province="新疆", city="乌鲁木齐")
    replies = arrival_reply(order, "新疆", datetime(2026, 11, 20, 18, 0), CFG)
    assert ids(replies) == ["logistics.arrival_before_shipping"]
    arrive = datetime(2026, 11, 21) + timedelta(days=CFG.couriers["YTO"].days_to("新疆"))
    assert replies[0].slots["ship_date"] == "11月21日"
    assert replies[0].slots["arrival_date"] == f"{arrive.month}月{arrive.day}日"
    texts(replies)


def test_arrival_without_an_order_gives_the_default_couriers_days_to_the_place():
    replies = arrival_reply(None, "乌鲁木齐", NOW, CFG)
    assert ids(replies) == ["logistics.arrival_days"]
    default = CFG.couriers[CFG.default_express]
    assert replies[0].slots["transit_days"] == default.days_to("新疆")
    assert replies[0].slots["courier"] == default.name
    assert all("乌鲁木齐" in t for t in texts(replies))


def test_arrival_without_a_place_asks_where_it_goes():
    replies = arrival_reply(None, None, NOW, CFG)
    assert ids(replies) == ["logistics.ask_destination"]
    texts(replies)


def test_arrival_to_another_place_than_the_order_gives_days_not_a_date(session):
    order = make_order(session, paid_at=NOW - timedelta(hours=1), province="浙江")
    replies = arrival_reply(order, "上海", NOW, CFG)
    assert ids(replies) == ["logistics.arrival_days"]
    assert replies[0].slots["transit_days"] == CFG.couriers["YTO"].days_to("上海")


# --- couriers ---------------------------------------------------------------------------------


def test_express_without_a_request_names_the_default_and_the_list():
    replies = express_reply(None, CFG)
    assert ids(replies) == ["logistics.express"]
    assert replies[0].slots["default_courier"] == CFG.couriers[CFG.default_express].name
    assert all(CFG.couriers[CFG.default_express].name in t for t in texts(replies))


@pytest.mark.parametrize("requested", ["SF", "sf", "顺丰"])
def test_sf_request_quotes_its_extra_fee(requested):
    replies = express_reply(requested, CFG)
    assert ids(replies) == ["logistics.express_extra_fee"]
    fee = CFG.couriers["SF"].extra_fee
    assert fee > 0 and replies[0].slots["fee"] == fee
    assert all(f"{fee:g}元" in t and CFG.couriers["SF"].name in t for t in texts(replies))


def test_courier_without_extra_fee_is_simply_yes():
    replies = express_reply("ZTO", CFG)
    assert ids(replies) == ["logistics.express_ok"]
    assert replies[0].slots == {"courier": CFG.couriers["ZTO"].name}
    texts(replies)


def test_unknown_courier_gets_the_ones_the_shop_uses():
    replies = express_reply("JD", CFG)
    assert ids(replies) == ["logistics.express_unavailable"]
    assert all(CFG.courier_names in t for t in texts(replies))


# --- tracking ---------------------------------------------------------------------------------


def test_in_transit_gives_the_latest_scan_and_the_arrival_date(session):
    shipped = datetime(2026, 11, 19, 15, 0)
    order = make_order(
        session,
        paid_at=shipped - timedelta(hours=5),
        shipped_at=shipped,
        province="广东",
        city="深圳",
        events=[
            (datetime(2026, 11, 20, 6, 0), "深圳", "【深圳转运中心】已到达"),  # listed first, newest
            (shipped, "杭州", "【杭州转运中心】已揽收"),
        ],
    )
    replies = tracking_reply(order, NOW, CFG)
    assert ids(replies) == ["logistics.in_transit"]
    slots = replies[0].slots
    assert (slots["event_time"], slots["event_place"], slots["event_desc"]) == (
        "11月20日 06:00",
        "深圳",
        "【深圳转运中心】已到达",
    )
    arrive = shipped + timedelta(days=CFG.couriers["YTO"].days_to("广东"))
    assert slots["arrival_date"] == f"{arrive.month}月{arrive.day}日"
    assert replies[0].handoff_reason is None
    texts(replies)


def test_courier_reported_delay_apologises_and_promises_a_callback(session):
    shipped = NOW - timedelta(hours=20)
    order = make_order(
        session,
        paid_at=shipped - timedelta(hours=2),
        shipped_at=shipped,
        shipment_status=ShipmentStatus.DELAYED,
        events=[(shipped, "杭州", "【杭州转运中心】已揽收")],
    )
    replies = tracking_reply(order, NOW, CFG)
    assert ids(replies) == ["logistics.parcel_delayed"]
    assert replies[0].slots["refund_hours"] == CFG.returns.refund_hours
    assert replies[0].handoff_reason == "parcel_delayed"
    assert all("抱歉" in t and f"{CFG.returns.refund_hours}小时" in t for t in texts(replies))


def test_no_scan_for_longer_than_transit_days_counts_as_delayed(session):
    """Two days without a scan is stuck for Zhejiang (1 day) but normal for Xinjiang (6 days)."""
    shipped = NOW - timedelta(days=2, hours=1)
    events = [(shipped, "杭州", "【杭州转运中心】已揽收")]
    near = make_order(session, paid_at=shipped - timedelta(hours=2), shipped_at=shipped, events=events)
    far = make_order(
        session,
        paid_at=shipped - timedelta(hours=2),
        shipped_at=shipped,
        province="新疆",
        city="乌鲁木齐",
        events=events,
    )
    assert ids(tracking_reply(near, NOW, CFG)) == ["logistics.parcel_delayed"]
    assert ids(tracking_reply(far, NOW, CFG)) == ["logistics.in_transit"]


def test_out_of_area_offers_pickup_or_ems_without_handoff(session):
    shipped = NOW - timedelta(days=3)
    order = make_order(
        session,
        paid_at=shipped - timedelta(hours=2),
        shipped_at=shipped,
        province="西藏",
        city="拉萨",
        shipment_status=ShipmentStatus.OUT_OF_AREA,
        events=[
            (shipped, "杭州", "【杭州转运中心】已揽收"),
            (NOW - timedelta(hours=5), "拉萨", "【拉萨转运中心】收件地址超出派送范围，待处理"),
        ],
    )
    replies = tracking_reply(order, NOW, CFG)
    assert ids(replies) == ["logistics.out_of_area"]
    assert replies[0].slots["event_place"] == "拉萨"
    assert replies[0].handoff_reason is None
    assert all("EMS" in t and "自" in t for t in texts(replies))


def test_signed_but_not_received_hands_off_to_check_the_signature(session):
    shipped = NOW - timedelta(days=3)
    order = make_order(
        session,
        paid_at=shipped - timedelta(hours=2),
        shipped_at=shipped,
        status=OrderStatus.SIGNED,
        shipment_status=ShipmentStatus.SIGNED,
        signed_at=NOW - timedelta(days=1),
        events=[(NOW - timedelta(days=1), "杭州", "已签收，签收人：快递柜")],
    )
    missing = tracking_reply(order, NOW, CFG, buyer_says_missing=True)
    assert ids(missing) == ["logistics.signed_not_received"]
    assert missing[0].handoff_reason == "parcel_missing"
    assert all("快递柜" in t and "核" in t for t in texts(missing))

    received = tracking_reply(order, NOW, CFG)
    assert ids(received) == ["logistics.parcel_signed"] and received[0].handoff_reason is None
    texts(received)


def test_tracking_an_unshipped_order_answers_when_it_ships(session):
    order = make_order(session, paid_at=datetime(2026, 11, 20, 8, 0))
    assert (
        tracking_reply(order, NOW, CFG)
        == ship_time_reply(order, NOW, CFG)
        == [Reply("logistics.ships_today", {"cutoff": CFG.cutoff})]
    )


def test_shipped_without_scans_yet_says_the_tracking_will_update(session):
    shipped = NOW - timedelta(hours=2)
    order = make_order(session, paid_at=shipped - timedelta(hours=2), shipped_at=shipped)
    replies = tracking_reply(order, NOW, CFG)
    assert ids(replies) == ["logistics.awaiting_scan"]
    assert all("YT1234567890123" in t for t in texts(replies))


def test_tracking_without_an_order_asks_for_the_order_number():
    assert ids(tracking_reply(None, NOW, CFG)) == ["logistics.track"]
