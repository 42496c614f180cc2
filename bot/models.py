"""The shop database: SQLAlchemy 1.4 declarative models, all in one place.

Money is stored as integer fen (分) to avoid float rounding in refunds; weights in kg and
heights in cm, the units the NLU normalises to.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class OrderStatus(str, enum.Enum):
    UNPAID = "unpaid"  # 待付款
    PAID = "paid"  # 待发货
    SHIPPED = "shipped"  # 已发货
    SIGNED = "signed"  # 已签收, not yet confirmed
    COMPLETED = "completed"  # 交易成功
    CLOSED = "closed"  # 交易关闭
    REFUNDING = "refunding"  # 退款中


class ShipmentStatus(str, enum.Enum):
    IN_TRANSIT = "in_transit"
    DELAYED = "delayed"  # no scan for longer than the courier's normal transit
    OUT_OF_AREA = "out_of_area"  # 超区: courier does not deliver to the address
    SIGNED = "signed"


class TicketKind(str, enum.Enum):
    REFUND = "refund"  # 退款单
    RETURN = "return"  # 退货退款
    EXCHANGE = "exchange"  # 换货单
    RESEND = "resend"  # 补发单
    COMPENSATION = "compensation"
    ORDER_CHANGE = "order_change"


class TicketStatus(str, enum.Enum):
    OPEN = "open"
    DONE = "done"
    REJECTED = "rejected"


class Shop(Base):
    __tablename__ = "shops"
    id = Column(String(32), primary_key=True)
    name = Column(String(64), nullable=False)
    # auto: the bot answers, agents take over by exception; assist: the bot only suggests,
    # agents send; peak: auto with the Double 11 scripts. Switchable from the workbench.
    mode = Column(String(8), nullable=False, default="auto")


class Product(Base):
    __tablename__ = "products"
    id = Column(Integer, primary_key=True)
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    sku = Column(String(32), unique=True, nullable=False)
    title = Column(String(128), nullable=False)
    category = Column(String(32), nullable=False)
    price_fen = Column(Integer, nullable=False)
    material = Column(String(64), nullable=False)
    # 'standard', 'runs_small' or 'runs_large': what the bot says about the cut.
    fit = Column(String(16), nullable=False, default="standard")
    washing = Column(String(128), nullable=False, default="")
    model_height_cm = Column(Integer)
    model_weight_kg = Column(Float)
    model_size = Column(String(8))
    custom_made = Column(Boolean, default=False, nullable=False)
    size_chart = relationship("SizeChartRow", order_by="SizeChartRow.position", back_populates="product")
    variants = relationship("Variant", back_populates="product")


class SizeChartRow(Base):
    """One row of a product's size chart: who the size fits and its measurements."""

    __tablename__ = "size_chart_rows"
    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    size = Column(String(8), nullable=False)
    height_min_cm = Column(Integer, nullable=False)
    height_max_cm = Column(Integer, nullable=False)
    weight_min_kg = Column(Float, nullable=False)
    weight_max_kg = Column(Float, nullable=False)
    chest_cm = Column(Integer, nullable=False)
    length_cm = Column(Integer, nullable=False)
    product = relationship("Product", back_populates="size_chart")


class Variant(Base):
    """A colour/size of a product with the warehouse's real stock (not the page's)."""

    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("product_id", "color", "size"),)
    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    color = Column(String(16), nullable=False)
    size = Column(String(8), nullable=False)
    stock = Column(Integer, nullable=False, default=0)
    product = relationship("Product", back_populates="variants")


class Buyer(Base):
    __tablename__ = "buyers"
    id = Column(String(64), primary_key=True)  # the platform's buyer id
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    nick = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    orders = relationship("Order", back_populates="buyer", order_by="Order.created_at")


class Order(Base):
    __tablename__ = "orders"
    id = Column(String(24), primary_key=True)  # the platform's order number
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    buyer_id = Column(String(64), ForeignKey("buyers.id"), nullable=False, index=True)
    status = Column(Enum(OrderStatus, native_enum=False, length=16), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    paid_at = Column(DateTime)
    shipped_at = Column(DateTime)
    signed_at = Column(DateTime)
    completed_at = Column(DateTime)
    closed_at = Column(DateTime)
    goods_fen = Column(Integer, nullable=False)
    freight_fen = Column(Integer, nullable=False, default=0)
    express = Column(String(8), nullable=False)
    # Receiver details are confidential: never log them (see bot/privacy.py).
    receiver_name = Column(String(32), nullable=False)
    receiver_phone = Column(String(20), nullable=False)
    province = Column(String(16), nullable=False)
    city = Column(String(16), nullable=False)
    address = Column(String(128), nullable=False)
    note = Column(Text, nullable=False, default="")  # 订单备注
    flag = Column(String(8))  # 小红旗: red, blue, green
    invoice_title = Column(String(64))
    invoice_type = Column(String(16))
    buyer = relationship("Buyer", back_populates="orders")
    items = relationship("OrderItem", back_populates="order")
    shipment = relationship("Shipment", back_populates="order", uselist=False)
    tickets = relationship("AfterSaleTicket", back_populates="order")

    @property
    def total_fen(self) -> int:
        return self.goods_fen + self.freight_fen


class OrderItem(Base):
    __tablename__ = "order_items"
    id = Column(Integer, primary_key=True)
    order_id = Column(String(24), ForeignKey("orders.id"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False)
    color = Column(String(16), nullable=False)
    size = Column(String(8), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price_fen = Column(Integer, nullable=False)
    order = relationship("Order", back_populates="items")
    product = relationship("Product")


class Shipment(Base):
    __tablename__ = "shipments"
    id = Column(Integer, primary_key=True)
    order_id = Column(String(24), ForeignKey("orders.id"), nullable=False, unique=True)
    express = Column(String(8), nullable=False)
    tracking_no = Column(String(32), nullable=False)
    status = Column(Enum(ShipmentStatus, native_enum=False, length=16), nullable=False)
    order = relationship("Order", back_populates="shipment")
    events = relationship("TrackingEvent", order_by="TrackingEvent.time", back_populates="shipment")


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    id = Column(Integer, primary_key=True)
    shipment_id = Column(Integer, ForeignKey("shipments.id"), nullable=False, index=True)
    time = Column(DateTime, nullable=False)
    location = Column(String(32), nullable=False)
    description = Column(String(128), nullable=False)
    shipment = relationship("Shipment", back_populates="events")


class AfterSaleTicket(Base):
    """退款单/换货单/补发单…: created by the bot or an agent, handled by the after-sales team."""

    __tablename__ = "after_sale_tickets"
    id = Column(Integer, primary_key=True)
    number = Column(String(24), unique=True, nullable=False)
    order_id = Column(String(24), ForeignKey("orders.id"), nullable=False, index=True)
    kind = Column(Enum(TicketKind, native_enum=False, length=16), nullable=False)
    status = Column(Enum(TicketStatus, native_enum=False, length=16), nullable=False, default=TicketStatus.OPEN)
    reason = Column(String(128), nullable=False)
    amount_fen = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    due_at = Column(DateTime, nullable=False)
    created_by = Column(String(32), nullable=False, default="bot")
    order = relationship("Order", back_populates="tickets")


class Agent(Base):
    """A human customer-service agent (子账号) of one shop."""

    __tablename__ = "agents"
    id = Column(Integer, primary_key=True)
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    login = Column(String(32), unique=True, nullable=False)
    name = Column(String(32), nullable=False)
    password_hash = Column(String(128), nullable=False)
    status = Column(String(8), nullable=False, default="away")  # online, busy, away
    max_sessions = Column(Integer, nullable=False, default=12)  # 接待上限
    skills = Column(JSON, nullable=False, default=list)  # presale, aftersale, bulk


class Conversation(Base):
    """One buyer's chat with the shop; mode says who answers now (bot or a human)."""

    __tablename__ = "conversations"
    id = Column(Integer, primary_key=True)
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    buyer_id = Column(String(64), nullable=False, index=True)
    started_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    last_message_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    handled_by = Column(String(8), nullable=False, default="bot")  # bot, queue, agent
    agent_id = Column(Integer, ForeignKey("agents.id"))
    handoff_reason = Column(String(64))
    skill = Column(String(16))  # which agents can take it: presale, aftersale, bulk
    queued_at = Column(DateTime)  # when it was handed off; the queue is served oldest first
    messages = relationship("Message", back_populates="conversation", order_by="Message.id")


class Message(Base):
    """Every buyer message, bot reply, agent reply and event, stored before it is acknowledged."""

    __tablename__ = "messages"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False, index=True)
    message_id = Column(String(64), unique=True)  # the console's id, for deduplication
    direction = Column(String(3), nullable=False)  # in, out
    sender = Column(String(8), nullable=False)  # buyer, bot, agent, system
    kind = Column(String(16), nullable=False, default="text")
    text = Column(Text, nullable=False, default="")
    intent = Column(String(32))
    confidence = Column(Float)
    phrase_id = Column(String(48))
    reply_to = Column(String(64), index=True)  # for bot replies: the buyer message_id answered
    seq = Column(Integer)  # the console's per-buyer sequence number, when it sends one
    # For agent replies: sent as suggested (False) or edited/typed by the agent (True) — with
    # phrase_id and intent, a label for the trainers.
    edited = Column(Boolean)
    answered_at = Column(DateTime)  # for buyer messages: when the bot's replies were stored
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    conversation = relationship("Conversation", back_populates="messages")


class Delivery(Base):
    """An outbound message pushed to the console's callback URL: tried with backoff, and
    what could not be delivered stays here for a person (or a later retry) to see."""

    __tablename__ = "deliveries"
    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("messages.id"), nullable=False, index=True)
    url = Column(String(256), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    delivered_at = Column(DateTime)
    last_error = Column(String(256))
