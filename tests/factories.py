"""Buyers with one order in a chosen state, written to the test database, so a conversation
test knows exactly which order the bot will find and what it must say about it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Buyer, Order, OrderItem, OrderStatus, Product, Shipment, ShipmentStatus, TrackingEvent
from tests.clock import TEST_NOW

NOW = datetime.fromisoformat(TEST_NOW)


def buyer_with_order(
    status: OrderStatus,
    goods_yuan: int = 79,
    province: str = "浙江",
    sku: str = "QS-T001",
    paid: Optional[timedelta] = timedelta(hours=1),
    shipped: Optional[timedelta] = None,
    signed: Optional[timedelta] = None,
    completed: Optional[timedelta] = None,
    size: str = "L",
    color: str = "黑色",
) -> tuple[str, str]:
    """A new buyer and their one order; times are how long ago each step happened."""
    buyer_id = "t_" + uuid.uuid4().hex[:10]
    order_id = "3" + str(uuid.uuid4().int)[:18]
    with session_scope() as s:
        product = s.execute(select(Product).where(Product.sku == sku)).scalar_one()
        s.add(Buyer(id=buyer_id, shop_id="qingshan", nick="测试买家", created_at=NOW - timedelta(days=90)))
        order = Order(
            id=order_id,
            shop_id="qingshan",
            buyer_id=buyer_id,
            status=status,
            created_at=NOW - (paid or timedelta(0)) - timedelta(minutes=5),
            paid_at=NOW - paid if paid is not None and status is not OrderStatus.UNPAID else None,
            goods_fen=goods_yuan * 100,
            freight_fen=0,
            express="YTO",
            receiver_name="王强",
            receiver_phone="13800000000",
            province=province,
            city="杭州",
            address="西湖区文三路1号",
            note="",
            items=[
                OrderItem(product_id=product.id, color=color, size=size, quantity=1, unit_price_fen=goods_yuan * 100)
            ],
        )
        if shipped is not None:
            order.shipped_at = NOW - shipped
            shipment_status = ShipmentStatus.SIGNED if signed is not None else ShipmentStatus.IN_TRANSIT
            order.shipment = Shipment(
                express="YTO",
                tracking_no="YT" + order_id[-12:],
                status=shipment_status,
                events=[
                    TrackingEvent(time=order.shipped_at, location="杭州", description="【杭州转运中心】已揽收"),
                ],
            )
        if signed is not None:
            order.signed_at = NOW - signed
        if completed is not None:
            order.completed_at = NOW - completed
        s.add(order)
    return buyer_id, order_id
