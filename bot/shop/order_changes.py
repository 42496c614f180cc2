"""Changing an order: address, size, colour, notes (handbook §3 订单修改).

Before shipping the change is made on the order and written in its note; after shipping
it goes through the courier (address) or becomes an exchange after receipt, and either way
a ticket is opened so a person follows it up within the shop's info-change time.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from sqlalchemy.orm import Session

from bot.shop.aftersales import register_ticket, ticket_slots
from bot.shop.config import ShopConfig
from bot.shop.presale import NOT_SHIPPED, note_on_order
from bot.shop.replies import Reply
from bot.store.models import Order, OrderFlag, OrderStatus, TicketKind


def _ticket(session: Session, order: Order, now: datetime, cfg: ShopConfig, reason: str):
    return register_ticket(
        session, order, TicketKind.ORDER_CHANGE, reason, now, cfg, due_hours=cfg.returns.info_change_hours
    )


def change_address_reply(session: Session, order: Optional[Order], now: datetime, cfg: ShopConfig) -> List[Reply]:
    if order is None:
        return [Reply("orders.none")]
    if order.status in NOT_SHIPPED:
        note_on_order(order, "买家申请修改收货信息，发货前核对")
        order.flag = OrderFlag.GREEN  # hold shipping until the new address is in
        ticket = _ticket(session, order, now, cfg, "修改收货地址/收货人（未发货）")
        return [Reply("address.before_shipping", ticket_slots(ticket))]
    if order.status is OrderStatus.SHIPPED:
        ticket = _ticket(session, order, now, cfg, "已发货改地址：联系快递改派")
        return [Reply("address.after_shipping", ticket_slots(ticket))]
    return [Reply("address.too_late", {"order_id": order.id})]


def modify_order_reply(
    session: Session, order: Optional[Order], now: datetime, cfg: ShopConfig, size: Optional[str], color: Optional[str]
) -> List[Reply]:
    if order is None:
        return [Reply("orders.none")]
    if order.status not in NOT_SHIPPED:
        return [Reply("modify.after_shipping", {"order_id": order.id})]
    if not (size or color):
        return [Reply("logistics.modify_order")]
    if len(order.items) != 1:
        ticket = _ticket(session, order, now, cfg, f"改为 {color or ''}{size or ''}（多件订单，人工核对是哪一件）")
        return [Reply("modify.ticketed", ticket_slots(ticket))]
    item = order.items[0]
    if size:
        item.size = size
    if color:
        item.color = color
    change = f"{item.color} {item.size}"
    note_on_order(order, f"买家改为{change}")
    return [Reply("modify.applied", {"change": change, "order_id": order.id})]
