"""Logistics (物流, handbook §3): when an order ships, when it arrives, which courier, where it is.

Each *_reply function looks at the order and the shop clock and decides what the buyer is told;
the sentences live in responses/logistics.yml. Days are named as dates (11月21日), not
"tomorrow": a buyer often reads the chat again the next morning.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import List, Optional

from bot.formatting import cn_date, cn_time
from bot.shop.config import Courier, ShopConfig
from bot.shop.geo import province_of
from bot.shop.peak import in_rush
from bot.shop.replies import Reply
from bot.store.models import HandoffReason, Order, OrderFlag, OrderStatus, ShipmentStatus, TrackingEvent

# The team lists unshipped orders 48 hours after payment (handbook §3), a day before the 72-hour
# limit: from then on the buyer hears an apology and priority shipping, not a routine date.
WARN_BEFORE_LIMIT = timedelta(hours=24)


# --- facts about an order ---------------------------------------------------------------------


def is_shipped(order: Order) -> bool:
    """Shipped once it has a ship time and a shipment (which carries the tracking number)."""
    return order.shipped_at is not None and order.shipment is not None


def is_signed(order: Order) -> bool:
    return order.signed_at is not None or (
        order.shipment is not None and order.shipment.status == ShipmentStatus.SIGNED
    )


def courier_of(order: Optional[Order], cfg: ShopConfig) -> Courier:
    """The order's courier; the shop's default when there is no order or the code is unknown."""
    code = cfg.default_express
    if order is not None:
        code = order.shipment.express if order.shipment is not None else order.express
    return cfg.couriers.get(code) or cfg.couriers[cfg.default_express]


def latest_event(order: Order) -> Optional[TrackingEvent]:
    events = order.shipment.events if order.shipment is not None else []
    return max(events, key=lambda e: e.time, default=None)


def ship_deadline(paid_at: datetime, cfg: ShopConfig) -> datetime:
    """Shipping after this counts as late delivery."""
    return paid_at + timedelta(hours=cfg.ship_limit_hours)


def promised_ship_date(paid_at: datetime, cfg: ShopConfig) -> date:
    """Paid before the cut-off: same day; from the cut-off on: the next day."""
    if paid_at.time() < cfg.cutoff_time:
        return paid_at.date()
    return paid_at.date() + timedelta(days=1)


def next_ship_date(paid_at: datetime, now: datetime, cfg: ShopConfig) -> date:
    """The day a paid, unshipped order leaves the warehouse (outside the Double 11 rush)."""
    promised = promised_ship_date(paid_at, cfg)
    if promised >= now.date():
        return promised
    # The promised day went by: it goes with today's batch, or tomorrow's after the cut-off.
    if now.time() < cfg.cutoff_time:
        return now.date()
    return now.date() + timedelta(days=1)


def peak_ship_by(paid_at: datetime, cfg: ShopConfig) -> date:
    """During the rush orders ship in payment order within peak.ship_within_days days."""
    return (paid_at + timedelta(days=cfg.peak.ship_within_days)).date()


def expected_ship_date(paid_at: datetime, now: datetime, cfg: ShopConfig) -> date:
    """What we tell the buyer: the rush promise (the latest day) or the day-to-day rule."""
    if in_rush(now, cfg):
        return max(peak_ship_by(paid_at, cfg), now.date())
    return next_ship_date(paid_at, now, cfg)


def transit_days(order: Order, cfg: ShopConfig) -> int:
    return courier_of(order, cfg).days_to(province_of(order.province))


def estimated_arrival(order: Order, now: datetime, cfg: ShopConfig) -> date:
    """Ship day + the courier's usual days to the order's province; never a day already past."""
    start = order.shipped_at.date() if is_shipped(order) else expected_ship_date(order.paid_at, now, cfg)
    return max(start + timedelta(days=transit_days(order, cfg)), now.date())


def is_delayed(order: Order, now: datetime, cfg: ShopConfig) -> bool:
    """The courier reports a delay, or there has been no scan for longer than the normal transit."""
    if order.shipment.status == ShipmentStatus.DELAYED:
        return True
    latest = latest_event(order)
    last_scan = latest.time if latest is not None else order.shipped_at
    return now - last_scan > timedelta(days=transit_days(order, cfg))


# --- 今天能发吗 / 怎么还不发货 -------------------------------------------------------------------


def ship_time_reply(order: Optional[Order], now: datetime, cfg: ShopConfig) -> List[Reply]:
    """When the order ships: the general rule, a date, an apology when it is late, or the parcel."""
    if order is None:
        return [ship_rule_reply(now, cfg)]
    if is_shipped(order):
        return [shipped_reply(order, cfg)]
    blocked = not_shipping_reply(order, now, cfg)
    if blocked is not None:
        return blocked
    return [paid_unshipped_reply(order, now, cfg)]


def ship_rule_reply(now: datetime, cfg: ShopConfig) -> Reply:
    if in_rush(now, cfg):
        return Reply("logistics.peak_ship_rule", {"ship_within_days": cfg.peak.ship_within_days})
    return Reply("logistics.ship_time", {"cutoff": cfg.cutoff, "ship_limit_hours": cfg.ship_limit_hours})


def shipped_reply(order: Order, cfg: ShopConfig) -> Reply:
    return Reply(
        "logistics.shipped",
        {
            "shipped_time": cn_time(order.shipped_at),
            "courier": courier_of(order, cfg).name,
            "tracking_no": order.shipment.tracking_no,
            "order_id": order.id,
        },
    )


def not_shipping_reply(order: Order, now: datetime, cfg: ShopConfig) -> Optional[List[Reply]]:
    """Why an unshipped order is not about to ship (closed, refund, unpaid, on hold), if it isn't."""
    if order.status == OrderStatus.CLOSED:
        return [Reply("logistics.order_closed", {"order_id": order.id})]
    if order.status == OrderStatus.REFUNDING or order.flag == OrderFlag.BLUE:
        return [Reply("logistics.ship_refund_pending", {"refund_hours": cfg.returns.refund_hours})]
    if order.paid_at is None:
        return [Reply("logistics.pay_first", {"order_id": order.id}), ship_rule_reply(now, cfg)]
    if order.flag == OrderFlag.GREEN:
        # Only an agent knows what the problem is: the bot must not promise a date.
        return [Reply("logistics.ship_on_hold", {"order_id": order.id}, handoff_reason=HandoffReason.ORDER_ON_HOLD)]
    return None


def paid_unshipped_reply(order: Order, now: datetime, cfg: ShopConfig) -> Reply:
    deadline = ship_deadline(order.paid_at, cfg)
    if now > deadline:
        return Reply(
            "logistics.ship_late",
            {"ship_limit_hours": cfg.ship_limit_hours, "order_id": order.id},
            handoff_reason=HandoffReason.LATE_SHIPMENT,
        )
    if now >= deadline - WARN_BEFORE_LIMIT:
        return Reply("logistics.ship_priority", {"ship_deadline": cn_time(deadline)})
    if in_rush(now, cfg):
        return Reply(
            "logistics.peak_ship_order",
            {
                "ship_within_days": cfg.peak.ship_within_days,
                "ship_date": cn_date(expected_ship_date(order.paid_at, now, cfg)),
            },
        )
    ship_day = next_ship_date(order.paid_at, now, cfg)
    if ship_day > promised_ship_date(order.paid_at, cfg):
        # The same-day/next-day promise was not kept: the handbook says tell the buyer.
        return Reply("logistics.ship_missed_promise", {"ship_date": cn_date(ship_day)})
    if ship_day == now.date():
        return Reply("logistics.ships_today", {"cutoff": cfg.cutoff})
    return Reply("logistics.ships_tomorrow", {"cutoff": cfg.cutoff, "ship_date": cn_date(ship_day)})


# --- 到上海几天 / 多久能到 ----------------------------------------------------------------------


def arrival_reply(order: Optional[Order], province: Optional[str], now: datetime, cfg: ShopConfig) -> List[Reply]:
    """The courier's usual days to a place; for the buyer's own order, also the expected date."""
    if order is not None and is_shipped(order) and is_signed(order):
        return tracking_reply(order, now, cfg)
    place = province or (order.province if order is not None else None)
    if not place:
        return [Reply("logistics.ask_destination")]
    courier = courier_of(order, cfg)
    slots = {"location": place, "courier": courier.name, "transit_days": courier.days_to(province_of(place))}
    # A date only for an order that is going (or went) to the place asked about.
    dated = (
        order is not None
        and province_of(place) == province_of(order.province)
        and (is_shipped(order) or not_shipping_reply(order, now, cfg) is None)
    )
    if not dated:
        return [Reply("logistics.arrival_days", slots)]
    slots["arrival_date"] = cn_date(estimated_arrival(order, now, cfg))
    if is_shipped(order):
        return [Reply("logistics.arrival_after_shipping", {**slots, "shipped_time": cn_time(order.shipped_at)})]
    ship_day = expected_ship_date(order.paid_at, now, cfg)
    return [Reply("logistics.arrival_before_shipping", {**slots, "ship_date": cn_date(ship_day)})]


# --- 发什么快递 / 能发顺丰吗 --------------------------------------------------------------------


def find_courier(requested: str, cfg: ShopConfig) -> Optional[str]:
    """The shop's code for a courier the buyer named: a code (SF) or part of its name (顺丰)."""
    wanted = requested.strip()
    if wanted.upper() in cfg.couriers:
        return wanted.upper()
    if len(wanted) < 2:
        return None
    return next((code for code, c in cfg.couriers.items() if wanted in c.name), None)


def express_reply(requested: Optional[str], cfg: ShopConfig) -> List[Reply]:
    """The default courier and the others; a requested one: yes (with its extra fee) or which we use."""
    shop_couriers = {"default_courier": cfg.couriers[cfg.default_express].name, "couriers": cfg.courier_names}
    if not requested:
        return [Reply("logistics.express", shop_couriers)]
    code = find_courier(requested, cfg)
    if code is None:
        return [Reply("logistics.express_unavailable", shop_couriers)]
    courier = cfg.couriers[code]
    if courier.extra_fee > 0:
        return [Reply("logistics.express_extra_fee", {"courier": courier.name, "fee": courier.extra_fee})]
    return [Reply("logistics.express_ok", {"courier": courier.name})]


# --- 到哪了 / 物流不动了 / 显示签收没收到 --------------------------------------------------------


def tracking_reply(
    order: Optional[Order], now: datetime, cfg: ShopConfig, buyer_says_missing: bool = False
) -> List[Reply]:
    """Where the parcel is, or what the shop does when it is stuck, undeliverable or missing."""
    if order is None:
        return [Reply("logistics.track")]
    if not is_shipped(order):
        return ship_time_reply(order, now, cfg)
    parcel = {"courier": courier_of(order, cfg).name, "tracking_no": order.shipment.tracking_no, "order_id": order.id}
    latest = latest_event(order)
    if is_signed(order):
        signed_at = order.signed_at or (latest.time if latest is not None else order.shipped_at)
        slots = {**parcel, "signed_time": cn_time(signed_at)}
        if buyer_says_missing:
            # Someone must check the signature with the courier: a person takes over.
            return [Reply("logistics.signed_not_received", slots, handoff_reason=HandoffReason.PARCEL_MISSING)]
        return [Reply("logistics.parcel_signed", slots)]
    if order.shipment.status == ShipmentStatus.OUT_OF_AREA:
        place = latest.location if latest is not None else order.city
        return [Reply("logistics.out_of_area", {**parcel, "event_place": place})]
    if is_delayed(order, now, cfg):
        # The shop promises to chase the courier and call back: an agent must keep that promise.
        return [
            Reply(
                "logistics.parcel_delayed",
                {
                    **parcel,
                    "event_time": cn_time(latest.time if latest is not None else order.shipped_at),
                    "event_place": latest.location if latest is not None else cfg.warehouse,
                    "refund_hours": cfg.returns.refund_hours,
                },
                handoff_reason=HandoffReason.PARCEL_DELAYED,
            )
        ]
    arrival = cn_date(estimated_arrival(order, now, cfg))
    if latest is None:
        return [
            Reply(
                "logistics.awaiting_scan",
                {**parcel, "shipped_time": cn_time(order.shipped_at), "arrival_date": arrival},
            )
        ]
    return [
        Reply(
            "logistics.in_transit",
            {
                **parcel,
                "event_time": cn_time(latest.time),
                "event_place": latest.location,
                "event_desc": latest.description,
                "arrival_date": arrival,
            },
        )
    ]
