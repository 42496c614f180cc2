"""Changing an order: address, size, colour, notes (handbook §3 订单修改).

Before shipping the change is made on the order and written in its note; after shipping
it goes through the courier (address) or becomes an exchange after receipt, and either way
a ticket is opened so a person follows it up within the shop's info-change time.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from sqlalchemy.orm import Session

from bot.formatting import cn_time
from bot.privacy import masked_address, masked_name, masked_phone
from bot.shop.aftersales import register_ticket, ticket_slots
from bot.shop.config import ShopConfig
from bot.shop.contacts import Contact
from bot.shop.orders import NOT_SHIPPED, note_on_order
from bot.shop.replies import Reply
from bot.store.models import Order, OrderFlag, OrderStatus, TicketKind, TicketStatus


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


def new_contact_reply(session: Session, order: Order, contact: Contact, now: datetime, cfg: ShopConfig) -> List[Reply]:
    """The receiver details the buyer sent after being asked: written to the order before it
    ships (the hold is released and the change ticket done), read back masked; after
    shipping they go with the courier ticket. Never logged."""
    if order.status in NOT_SHIPPED:
        if contact.name:
            order.receiver_name = contact.name
        if contact.phone:
            order.receiver_phone = contact.phone
        if contact.has_address:
            order.province = contact.province or order.province
            order.city = contact.city or order.city
            order.address = contact.street
        note_on_order(order, f"买家已修改收货信息（{cn_time(now)}），按新信息发货")
        if order.flag is OrderFlag.GREEN:
            order.flag = OrderFlag.RED  # the new address is in: ship it
        for ticket in order.tickets:
            if ticket.kind is TicketKind.ORDER_CHANGE and ticket.status is TicketStatus.OPEN:
                ticket.status = TicketStatus.DONE
        return [
            Reply(
                "address.updated",
                {"receiver": masked_name(order.receiver_name), "phone": masked_phone(order.receiver_phone),
                 "address": f"{order.province}{order.city}{masked_address(order.address)}", "order_id": order.id},
            )
        ]  # fmt: skip
    if order.status is OrderStatus.SHIPPED:
        ticket = _ticket(session, order, now, cfg, "已发货改地址：买家已在聊天中发来新收货信息，联系快递改派")
        return [Reply("address.sent_to_courier", ticket_slots(ticket))]
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
