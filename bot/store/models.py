"""The shop database: SQLAlchemy 1.4 declarative models, all in one place.

Money is stored as integer fen (分) to avoid float rounding in refunds; weights in kg and
heights in cm, the units the NLU normalises to. Every closed set of values is an enum here:
order and shipment states and ticket kinds are stored by name (as since the first schema),
the newer ones by value ('bot', 'online', 'in' …), so rows written before they became enums
read back unchanged.

The schema changes only through a migration (bot/store/migrations, `xiaoer db upgrade`).
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
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


def _by_value(enum_class: type, length: int) -> Enum:
    """A VARCHAR column holding the enum's values (not its names), validated on write."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class OrderStatus(enum.StrEnum):
    UNPAID = "unpaid"  # 待付款
    PAID = "paid"  # 待发货
    SHIPPED = "shipped"  # 已发货
    SIGNED = "signed"  # 已签收, not yet confirmed
    COMPLETED = "completed"  # 交易成功
    CLOSED = "closed"  # 交易关闭
    REFUNDING = "refunding"  # 退款中


class OrderFlag(enum.StrEnum):
    """The order note flag (小红旗) the warehouse reads (handbook §3)."""

    RED = "red"  # fine, ship it
    BLUE = "blue"  # paid, unshipped, the buyer asked for a refund: don't ship
    GREEN = "green"  # a problem: hold shipping


class ShipmentStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    DELAYED = "delayed"  # no scan for longer than the courier's normal transit
    OUT_OF_AREA = "out_of_area"  # 超区: courier does not deliver to the address
    SIGNED = "signed"


class TicketKind(enum.StrEnum):
    REFUND = "refund"  # 退款单
    RETURN = "return"  # 退货退款
    EXCHANGE = "exchange"  # 换货单
    RESEND = "resend"  # 补发单
    COMPENSATION = "compensation"
    ORDER_CHANGE = "order_change"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the buyer took the request back before it was handled


class ShopMode(enum.StrEnum):
    """Who answers the shop's buyers; switchable from the workbench."""

    AUTO = "auto"  # the bot answers, agents take over by exception
    ASSIST = "assist"  # every buyer goes to an agent; the bot only suggests
    PEAK = "peak"  # auto with the Double 11 scripts


class Handler(enum.StrEnum):
    """Who answers a conversation now."""

    BOT = "bot"
    QUEUE = "queue"  # handed off, waiting for an agent (the bot answers meanwhile)
    AGENT = "agent"


class AgentStatus(enum.StrEnum):
    ONLINE = "online"  # takes buyers
    BUSY = "busy"  # keeps their buyers, takes no new ones
    AWAY = "away"  # their buyers go back to the queue


class Role(enum.StrEnum):
    """What a console login may do; each role may do what the ones before it may."""

    AGENT = "agent"  # serve buyers: take over from the bot or the queue, reply, give back
    TRAINER = "trainer"  # … and review misreads, label, retrain, put a model in service
    SUPERVISOR = "supervisor"  # … and switch the shop's mode, take over another agent's buyer

    def allows(self, needed: "Role") -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


class Direction(enum.StrEnum):
    IN = "in"  # from the buyer
    OUT = "out"  # to the buyer


class Sender(enum.StrEnum):
    BUYER = "buyer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Skill(enum.StrEnum):
    """Which agents can take a handed-off buyer."""

    PRESALE = "presale"
    AFTERSALE = "aftersale"
    BULK = "bulk"


class HandoffReason(enum.StrEnum):
    """Why a buyer went to a person: recorded on the conversation, shown to the agent, and
    deciding which agents can take the buyer (`skill`; None: by what the buyer asked about)."""

    def __new__(cls, value: str, skill: "Skill | None", label: str) -> "HandoffReason":
        member = str.__new__(cls, value)
        member._value_ = value
        member.skill = skill
        member.label = label
        return member

    ASKED = "buyer_asked", None, "买家要求人工"
    ANGRY = "angry_buyer", Skill.AFTERSALE, "买家不满"
    DISPUTE = "dispute", Skill.AFTERSALE, "维权/差评风险"
    BULK = "bulk_order", Skill.BULK, "大宗采购"
    NOT_UNDERSTOOD = "not_understood", None, "机器人连续没读懂"
    LOW_CONFIDENCE = "low_confidence", None, "机器人把握不大"
    ASSIST_MODE = "assist_mode", Skill.PRESALE, "辅助模式：人工接待"
    TAKEN_OVER = "taken_over", None, "客服主动接管"
    # What the shop's rules reserve for a person.
    LATE_SHIPMENT = "late_shipment", Skill.AFTERSALE, "超时未发货"
    ORDER_ON_HOLD = "order_on_hold", Skill.AFTERSALE, "订单暂停发货"
    PARCEL_DELAYED = "parcel_delayed", Skill.AFTERSALE, "物流停滞"
    PARCEL_MISSING = "parcel_missing", Skill.AFTERSALE, "显示签收但未收到"
    COMPENSATION_OVER_LIMIT = "compensation_over_limit", Skill.AFTERSALE, "补偿超出权限"
    QUALITY_PAST_DEADLINE = "quality_past_deadline", Skill.AFTERSALE, "质量问题超出售后期"
    PRICE_DIFFERENCE = "price_difference", Skill.AFTERSALE, "差价核实"
    IMAGE = "image", Skill.AFTERSALE, "买家发来图片"
    FREE_SHIPPING_APPROVAL = "free_shipping_approval", None, "包邮申请待主管审批"
    GIFT_APPROVAL = "gift_approval", None, "赠品申请待主管审批"
    SIZE_OFF_CHART = "size_off_chart", None, "尺码超出尺码表"


class Shop(Base):
    __tablename__ = "shops"
    id = Column(String(32), primary_key=True)
    name = Column(String(64), nullable=False)
    mode = Column(_by_value(ShopMode, 8), nullable=False, default=ShopMode.AUTO)
    # Since when the load has the shop in its peak (bot/service/peak_watch.py); None: calm.
    peak_by_load_since = Column(DateTime)


class PeakSwitch(Base):
    """Each time the peak switched on or off by load, and why (shown on the peak board)."""

    __tablename__ = "peak_switches"
    id = Column(Integer, primary_key=True)
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    at = Column(DateTime, nullable=False)
    on = Column(Boolean, nullable=False)
    reason = Column(String(128), nullable=False)  # in Chinese, for the board


class OutreachKind(enum.StrEnum):
    PAYMENT_REMINDER = "payment_reminder"  # 催付
    DELAY_NOTICE = "delay_notice"  # the order will ship late: told before the buyer asks


class Outreach(Base):
    """A message the shop sent first (催付, a delay notice). The row is written in the same
    transaction as the message, and (order, kind, slot) is unique: a reminder is never sent
    twice, whatever restarts."""

    __tablename__ = "outreach"
    __table_args__ = (UniqueConstraint("order_id", "kind", "slot", name="uq_outreach_order_kind_slot"),)
    id = Column(Integer, primary_key=True)
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    order_id = Column(String(24), ForeignKey("orders.id"), nullable=False, index=True)
    kind = Column(_by_value(OutreachKind, 24), nullable=False)
    slot = Column(String(16), nullable=False)  # "2026-11-10 10:00" for a reminder, "once" for a notice
    message_id = Column(Integer, ForeignKey("messages.id"), nullable=False)
    sent_at = Column(DateTime, nullable=False)


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
    # Other names buyers use for it (冰丝T, 那件亚麻的): recognised in their words like the title.
    aliases = Column(JSON, nullable=False, default=list)
    # What the shop says about it beyond the columns above, by aspect (bot/shop/catalogue.py:
    # shrinkage, sheerness, pilling, thickness …): answered as written, never guessed.
    facts = Column(JSON, nullable=False, default=dict)
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
    """A platform buyer as one shop knows them: a buyer who writes to two shops is a row in
    each, with that shop's first-seen time. Looked up as session.get(Buyer, (shop_id, id)):
    the key's order is the columns' order here."""

    __tablename__ = "buyers"
    shop_id = Column(String(32), ForeignKey("shops.id"), primary_key=True, index=True)
    id = Column(String(64), primary_key=True)  # the platform's buyer id
    nick = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)  # first seen by this shop
    orders = relationship("Order", back_populates="buyer", order_by="Order.created_at")


class Order(Base):
    __tablename__ = "orders"
    # The buyer is the order's shop's buyer row, never another shop's.
    __table_args__ = (
        ForeignKeyConstraint(
            ["shop_id", "buyer_id"], ["buyers.shop_id", "buyers.id"], name="fk_orders_shop_id_buyer_id_buyers"
        ),
    )
    id = Column(String(24), primary_key=True)  # the platform's order number
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    buyer_id = Column(String(64), nullable=False, index=True)
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
    # Receiver details are confidential: never logged; the bot reads them back masked.
    receiver_name = Column(String(32), nullable=False)
    receiver_phone = Column(String(20), nullable=False)
    province = Column(String(16), nullable=False)
    city = Column(String(16), nullable=False)
    address = Column(String(128), nullable=False)
    note = Column(Text, nullable=False, default="")  # 订单备注
    flag = Column(_by_value(OrderFlag, 8))
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
    status = Column(_by_value(AgentStatus, 8), nullable=False, default=AgentStatus.AWAY)
    max_sessions = Column(Integer, nullable=False, default=12)  # 接待上限
    skills = Column(JSON, nullable=False, default=list)  # Skill values
    role = Column(_by_value(Role, 16), nullable=False, default=Role.AGENT)
    # A seeded or reset password must be replaced at the first login (outside the demo).
    must_change_password = Column(Boolean, nullable=False, default=False)


class AgentSession(Base):
    """A logged-in console session: the cookie carries only the random token; logout, a
    password change or the expiry ends it."""

    __tablename__ = "agent_sessions"
    token_hash = Column(String(64), primary_key=True)  # sha256 of the cookie's token
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)


class ConversationState(enum.StrEnum):
    """Where a conversation stands for the agents (set on the workbench)."""

    def __new__(cls, value: str, label: str) -> "ConversationState":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    OPEN = "open", "进行中"
    WAITING_BUYER = "waiting_buyer", "等待买家"
    RESOLVED = "resolved", "已解决"


class NoteKind(enum.StrEnum):
    NOTE = "note"  # an agent's internal note: never shown to the buyer
    TRANSFER = "transfer"  # handed to a colleague, with why


class Conversation(Base):
    """One buyer's chat with the shop; mode says who answers now (bot or a human)."""

    __tablename__ = "conversations"
    id = Column(Integer, primary_key=True)
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    buyer_id = Column(String(64), nullable=False, index=True)
    started_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    last_message_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    handled_by = Column(_by_value(Handler, 8), nullable=False, default=Handler.BOT)
    agent_id = Column(Integer, ForeignKey("agents.id"))
    handoff_reason = Column(_by_value(HandoffReason, 64))
    skill = Column(_by_value(Skill, 16))  # which agents can take it
    queued_at = Column(DateTime)  # when it was handed off; the queue is served oldest first
    state = Column(
        _by_value(ConversationState, 16), nullable=False, default=ConversationState.OPEN, server_default="open"
    )
    resolved_at = Column(DateTime)
    tags = Column(JSON, nullable=False, default=list, server_default="[]")  # the agents' labels
    messages = relationship("Message", back_populates="conversation", order_by="Message.id")
    notes = relationship("ConversationNote", back_populates="conversation", order_by="ConversationNote.id")


class ConversationNote(Base):
    """What agents write about a conversation for each other: notes, and transfers with their
    reason. The buyer never sees these."""

    __tablename__ = "conversation_notes"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False, index=True)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False)
    kind = Column(_by_value(NoteKind, 16), nullable=False, default=NoteKind.NOTE)
    to_agent_id = Column(Integer, ForeignKey("agents.id"))  # for a transfer: the colleague
    text = Column(Text, nullable=False, default="")
    created_at = Column(DateTime, nullable=False)
    conversation = relationship("Conversation", back_populates="notes")


class Message(Base):
    """Every buyer message, bot reply, agent reply and event, stored before it is acknowledged."""

    __tablename__ = "messages"
    # A console's message ids are unique per buyer's chat, not across buyers: buyer B reusing
    # buyer A's id is a new message of B's, never A's replies.
    __table_args__ = (UniqueConstraint("conversation_id", "message_id", name="uq_messages_conversation_message"),)
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False, index=True)
    message_id = Column(String(64))  # the console's id, for deduplication within the buyer's chat
    direction = Column(_by_value(Direction, 3), nullable=False)
    sender = Column(_by_value(Sender, 8), nullable=False)
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
    agent_id = Column(Integer, ForeignKey("agents.id"))  # for agent replies: who wrote it
    answered_at = Column(DateTime)  # for buyer messages: when the bot's replies were stored
    read_at = Column(DateTime)  # for buyer messages: when a person (an agent) first read it — 已读
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    conversation = relationship("Conversation", back_populates="messages")


class KnowledgeGap(Base):
    """A buyer question no phrase or product fact answers: the bot said so honestly, and the
    trainer page lists it so the shop can add the answer."""

    __tablename__ = "knowledge_gaps"
    id = Column(Integer, primary_key=True)
    shop_id = Column(String(32), ForeignKey("shops.id"), nullable=False, index=True)
    buyer_id = Column(String(64), nullable=False)
    message_id = Column(String(64))  # the console's id of the buyer message, when it has one
    intent = Column(String(32))
    topic = Column(String(32), nullable=False)  # what was asked: an aspect of a product, 定金 …
    question = Column(Text, nullable=False)  # phones masked
    product_id = Column(Integer, ForeignKey("products.id"))
    created_at = Column(DateTime, nullable=False)
    resolved = Column(Boolean, nullable=False, default=False)


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
