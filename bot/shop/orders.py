"""Which order the buyer means: the id in the message, the order already in the chat, or the
buyer's one order that fits the question — and a question back when several could fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.shop.replies import Reply
from bot.store.models import Order, OrderStatus

S = OrderStatus
_OPEN = frozenset({S.UNPAID, S.PAID, S.SHIPPED, S.SIGNED, S.COMPLETED, S.REFUNDING})

# The order states a question can be about: "今天能发吗" is about an order not yet shipped,
# "到哪了" about one on its way. Used to pick the buyer's order without asking.
INTENT_STATES: Dict[str, FrozenSet[OrderStatus]] = {
    "ask_ship_time": frozenset({S.UNPAID, S.PAID}),
    "ask_arrival_time": frozenset({S.PAID, S.SHIPPED}),
    "track_package": frozenset({S.SHIPPED, S.SIGNED}),
    "request_refund": frozenset({S.PAID, S.SHIPPED, S.SIGNED, S.COMPLETED, S.REFUNDING}),
    "request_exchange": frozenset({S.PAID, S.SIGNED, S.COMPLETED}),
    "complain_quality": frozenset({S.SIGNED, S.COMPLETED}),
    "wrong_item": frozenset({S.SHIPPED, S.SIGNED, S.COMPLETED}),
    "ask_price_diff": frozenset({S.PAID, S.SHIPPED, S.SIGNED, S.COMPLETED}),
    "change_address": frozenset({S.UNPAID, S.PAID, S.SHIPPED}),
    "modify_order": frozenset({S.UNPAID, S.PAID}),
    "ask_invoice": _OPEN,
    "ask_gift": frozenset({S.UNPAID, S.PAID}),
    "ask_payment": frozenset({S.PAID}),
}

# Before these the goods are still in the warehouse: changes are made on the order itself.
NOT_SHIPPED = frozenset({S.UNPAID, S.PAID})


def note_on_order(order: Order, note: str) -> None:
    """Append to the order note (订单备注) once; the warehouse reads it when packing."""
    if note not in (order.note or ""):
        order.note = f"{order.note}；{note}" if order.note else note


STATUS_LABEL = {
    S.UNPAID: "待付款",
    S.PAID: "待发货",
    S.SHIPPED: "已发货",
    S.SIGNED: "已签收",
    S.COMPLETED: "交易成功",
    S.CLOSED: "已关闭",
    S.REFUNDING: "退款中",
}


@dataclass
class OrderChoice:
    order: Optional[Order] = None
    # Set when the bot must ask: which of these orders, or the id given isn't the buyer's.
    ask: List[Reply] = field(default_factory=list)


def describe(order: Order) -> str:
    """尾号4756 经典纯棉圆领短袖T恤 待发货 — how an order is named to the buyer."""
    title = order.items[0].product.title if order.items else ""
    more = f"等{len(order.items)}件" if len(order.items) > 1 else ""
    return f"尾号{order.id[-4:]} {title}{more}（{STATUS_LABEL[order.status]}）"


def shop_order(
    session: Session, shop_id: str, order_id: Optional[str], buyer_id: Optional[str] = None
) -> Optional[Order]:
    """An order of this shop (and of this buyer, when given), else None: a buyer id is the
    platform's, so the same buyer's orders in another shop are never this shop's."""
    if not order_id:
        return None
    order = session.get(Order, str(order_id))
    if order is None or order.shop_id != shop_id or (buyer_id is not None and order.buyer_id != buyer_id):
        return None
    return order


def buyer_orders(session: Session, shop_id: str, buyer_id: str, limit: Optional[int] = None) -> List[Order]:
    """The buyer's orders in this shop, newest first."""
    query = (
        select(Order)
        .where(Order.shop_id == shop_id, Order.buyer_id == buyer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    return list(session.execute(query.limit(limit) if limit else query).scalars())


def choose_order(
    session: Session,
    shop_id: str,
    buyer_id: str,
    intent: Optional[str],
    order_id: Optional[str] = None,
    current_id: Optional[str] = None,
) -> OrderChoice:
    """The order a question is about.

    An id in the message wins, but only for the buyer's own order (another buyer's order is
    "not found", never shown). Then the order already being discussed, if the question can be
    about an order in its state. Then the buyer's
    orders in a state the question can be about: one → that one; several → ask which.
    """
    if order_id:
        order = shop_order(session, shop_id, order_id, buyer_id)
        if order is None:
            return OrderChoice(ask=[Reply("orders.not_found", {"order_id": order_id})])
        return OrderChoice(order)
    states = INTENT_STATES.get(intent or "", _OPEN)
    if current_id:  # the order being discussed, if the question can be about it (a defect can't be unshipped)
        order = shop_order(session, shop_id, current_id, buyer_id)
        if order is not None and order.status in states:
            return OrderChoice(order)
    orders = buyer_orders(session, shop_id, buyer_id)
    fitting = [o for o in orders if o.status in states]
    if len(fitting) == 1:
        return OrderChoice(fitting[0])
    if len(fitting) > 1:
        listing = "\n".join(f"{i}. {describe(o)}" for i, o in enumerate(fitting[:3], 1))
        return OrderChoice(ask=[Reply("orders.which", {"order_list": listing})])
    return OrderChoice(None)


def latest_paid(session: Session, shop_id: str, buyer_id: str) -> Optional[Order]:
    """The buyer's most recently paid order that has not shipped: the one "已付款" is about."""
    return session.execute(
        select(Order)
        .where(Order.shop_id == shop_id, Order.buyer_id == buyer_id, Order.status == S.PAID)
        .order_by(Order.paid_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def items_text(order: Order) -> str:
    """The order's items as a buyer reads them: 纯棉T恤（白色 L）×1、…"""
    return "、".join(f"{i.product.title}（{i.color} {i.size}）×{i.quantity}" for i in order.items)


def confirmation_reply(order: Optional[Order], courier_name: str) -> List[Reply]:
    """After payment (handbook step 4): read the order back so a wrong size or address is
    caught before it ships. The street address stays masked: the buyer knows it."""
    if order is None or order.status is not S.PAID:
        return [Reply("payment.help")]
    return [
        Reply(
            "payment.order_confirm",
            {
                "items": items_text(order),
                "receiver": order.receiver_name[0] + "**",
                "city": f"{order.province}{order.city}",
                "courier": courier_name,
                "order_id": order.id,
            },
        )
    ]
