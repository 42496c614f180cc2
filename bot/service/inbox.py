"""What the agent's workbench shows, in the words an agent reads: the buyer list (unread
messages, how long each buyer has waited, the last message, tags, a colleague's transfer
note), each message with its cards (a product with its picture and price, an order with its
items, state and amount), and the Chinese names of every code (reasons, states, statuses,
intents, tickets). Nothing here changes the database but `read`.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.formatting import yuan
from bot.nlu.intents import intent_label
from bot.service import agents, casework
from bot.shop.catalogue import product_by_sku
from bot.shop.config import shop
from bot.shop.orders import STATUS_LABEL
from bot.store import conversations
from bot.store.models import (
    Agent,
    Buyer,
    Conversation,
    ConversationNote,
    ConversationState,
    Direction,
    Handler,
    HandoffReason,
    Message,
    NoteKind,
    Order,
    Product,
    TicketKind,
    TicketStatus,
)

TICKET_KIND_LABELS = {
    TicketKind.REFUND: "退款",
    TicketKind.RETURN: "退货退款",
    TicketKind.EXCHANGE: "换货",
    TicketKind.RESEND: "补发",
    TicketKind.COMPENSATION: "补偿",
    TicketKind.ORDER_CHANGE: "改单",
}
TICKET_STATUS_LABELS = {
    TicketStatus.OPEN: "处理中",
    TicketStatus.DONE: "已完成",
    TicketStatus.REJECTED: "已驳回",
    TicketStatus.WITHDRAWN: "已撤销",
}
HANDLER_LABELS = {Handler.BOT: "机器人接待中", Handler.QUEUE: "排队等人工", Handler.AGENT: "人工接待中"}
# A product picture when the shop has none: the colour of its first variant.
COLOUR_HEX = {
    "白色": "#f4f4f2", "黑色": "#2b2b2b", "灰色": "#9a9a9a", "浅灰": "#c9c9c9", "深灰": "#555555",
    "花灰": "#b4b4b4", "藏青": "#22304d", "深蓝": "#1f3b73", "浅蓝": "#9cc3e6", "米白": "#efe8d8",
    "军绿": "#566b3a", "酒红": "#7b1f2e", "卡其": "#c3a878", "杏色": "#e8cfae",
}  # fmt: skip
_CARD = re.compile(r"^\[(商品卡片|订单卡片|图片)\] (\S+)$")
_ID_LIKE = re.compile(r"^[A-Za-z0-9_:.-]+$")


def reason_label(reason: Optional[str]) -> str:
    try:
        return HandoffReason(reason).label if reason else ""
    except ValueError:
        return "其他"


def state_label(state: Optional[str]) -> str:
    return ConversationState(state or ConversationState.OPEN).label


def display_nick(buyer: Optional[Buyer], buyer_id: str) -> str:
    """The buyer's nick; a visitor known only by an id reads as 访客 and four digits of it
    (digits: an id's letters would read as a code on the page)."""
    nick = buyer.nick if buyer is not None else buyer_id
    if nick == buyer_id and _ID_LIKE.match(nick):
        return f"访客{zlib.crc32(buyer_id.encode()) % 10000:04d}"
    return nick


# --- messages and their cards -------------------------------------------------------------------


@dataclass
class Cards:
    """Looks up what a conversation's cards show, once per product or order."""

    session: Session
    buyer_id: str
    shop_id: Optional[str] = None  # the conversation's shop (None: the default shop)

    def __post_init__(self) -> None:
        self.shop_id = self.shop_id or shop().shop_id
        self._products: Dict[str, Optional[Dict[str, object]]] = {}
        self._orders: Dict[str, Optional[Dict[str, object]]] = {}

    def product(self, sku: str) -> Dict[str, object]:
        if sku not in self._products:
            product = product_by_sku(self.session, self.shop_id, sku)
            self._products[sku] = product_card(product) if product is not None else None
        return self._products[sku] or {"type": "product", "missing": True}

    def order(self, order_id: str) -> Dict[str, object]:
        if order_id not in self._orders:
            order = self.session.get(Order, order_id)
            if order is not None and order.shop_id != self.shop_id:
                order = None  # another shop's order: as unknown here as a number never issued
            self._orders[order_id] = order_card(order) if order is not None else None
        card = self._orders[order_id]
        if card is None:
            return {"type": "order", "missing": True, "tail": order_id[-4:]}
        if card["buyer_id"] != self.buyer_id:  # a number the buyer typed: not their order, not shown
            return {"type": "order", "foreign": True, "tail": order_id[-4:]}
        return {k: v for k, v in card.items() if k != "buyer_id"}


def product_card(product: Product) -> Dict[str, object]:
    colours = list(dict.fromkeys(v.color for v in product.variants))
    return {
        "type": "product",
        "sku": product.sku,  # for its picture, never shown
        "title": product.title,
        "price": yuan(product.price_fen),
        "category": product.category,
        "colours": colours[:4],
        "swatch": COLOUR_HEX.get(colours[0], "#d8d8d8") if colours else "#d8d8d8",
        "in_stock": sum(v.stock for v in product.variants),
    }


def order_card(order: Order) -> Dict[str, object]:
    return {
        "type": "order",
        "id": order.id,
        "tail": order.id[-4:],
        "buyer_id": order.buyer_id,
        "state": STATUS_LABEL[order.status],
        "status": str(order.status.value if hasattr(order.status, "value") else order.status),
        "items": [
            {
                "title": item.product.title,
                "sku": item.product.sku,
                "colour": item.color,
                "spec": f"{item.color} {item.size}码",
                "quantity": item.quantity,
                "price": yuan(item.unit_price_fen),
                "swatch": COLOUR_HEX.get(item.color, "#d8d8d8"),
                "category": item.product.category,
            }
            for item in order.items
        ],
        "total": yuan(order.total_fen),
        "freight": yuan(order.freight_fen),
        "created": f"{order.created_at.month}月{order.created_at.day}日",
        "note": order.note or "",
    }


def message_json(m: Message, cards: Optional[Cards], now: datetime) -> Dict[str, object]:
    """One message as the workbench draws it."""
    same_day = m.created_at.date() == now.date()
    data: Dict[str, object] = {
        "id": m.id,
        "sender": str(m.sender),
        "kind": m.kind,
        "text": m.text,
        "time": m.created_at.strftime("%H:%M") if same_day else m.created_at.strftime("%m-%d %H:%M"),
    }
    if m.direction == Direction.IN:
        data["read"] = m.read_at is not None
    found = _CARD.match(m.text) if m.kind in ("product_card", "order_card", "image") else None
    if found and cards is not None:
        what, value = found.groups()
        if what == "商品卡片":
            data["card"] = cards.product(value)
        elif what == "订单卡片":
            data["card"] = cards.order(value)
        else:
            data["card"] = {"type": "image", "url": value}
    return data


def preview(m: Optional[Message]) -> str:
    """The last message as the list shows it (cards by what they are)."""
    if m is None:
        return ""
    if m.kind == "product_card":
        return "[商品]"
    if m.kind == "order_card":
        return "[订单] 尾号" + m.text[-4:]
    if m.kind == "image":
        return "[图片]"
    if m.kind == "enter_shop":
        return "进入了店铺"
    return m.text[:40]


def read(session: Session, agent: Agent, conv: Conversation, now: datetime) -> int:
    """The agent holding the conversation has read its buyer messages (others only look)."""
    if conv.agent_id != agent.id or conv.handled_by != Handler.AGENT:
        return 0
    return conversations.mark_read(session, conv.id, now)


# --- the list ------------------------------------------------------------------------------------


def rows(session: Session, convs: Iterable[Conversation], now: datetime, viewer: Agent) -> List[Dict[str, object]]:
    """List rows for the conversations: who, the last message, unread, waiting since."""
    convs = list(convs)
    ids = [c.id for c in convs]
    # Each conversation's buyer as its shop knows them (a platform buyer has a row per shop).
    buyers = {
        (b.shop_id, b.id): b
        for b in session.execute(
            select(Buyer).where(
                Buyer.shop_id.in_({c.shop_id for c in convs}), Buyer.id.in_([c.buyer_id for c in convs])
            )
        ).scalars()
    }
    last = conversations.last_messages(session, ids)
    unread = conversations.unread_counts(session, ids)
    mine = [c.id for c in convs if c.handled_by == Handler.AGENT]
    waiting = conversations.waiting_since(session, mine)
    transfers = _transfers(session, [c for c in convs if c.agent_id == viewer.id])
    names = {a.id: a.name for a in session.execute(select(Agent).where(Agent.shop_id == viewer.shop_id)).scalars()}
    out = []
    for c in convs:
        m = last.get(c.id)
        w = waiting.get(c.id)
        row: Dict[str, object] = {
            "id": c.id,
            "buyer": display_nick(buyers.get((c.shop_id, c.buyer_id)), c.buyer_id),
            "reason": reason_label(c.handoff_reason),
            "state": str(c.state or ConversationState.OPEN),
            "state_label": state_label(c.state),
            "tags": list(c.tags or []),
            "last": preview(m),
            "last_id": m.id if m else 0,
            "last_time": m.created_at.strftime("%H:%M") if m else "",
            "unread": unread.get(c.id, 0) if c.handled_by == Handler.AGENT else 0,
            "agent": names.get(c.agent_id, "") if c.agent_id else "",
        }
        if w is not None:
            row["wait_since_id"] = w.id
            row["wait_seconds"] = max(0, int((now - w.created_at).total_seconds()))
        if c.handled_by == Handler.QUEUE and c.queued_at is not None:
            row["queued_seconds"] = max(0, int((now - c.queued_at).total_seconds()))
            row["skill"] = agents.SKILL_LABELS.get(c.skill, "") if c.skill else ""
        note = transfers.get(c.id)
        if note is not None:
            row["transfer"] = {"from": names.get(note.agent_id, ""), "note": note.text}
        out.append(row)
    return out


def _transfers(session: Session, convs: List[Conversation]) -> Dict[int, ConversationNote]:
    found = {}
    for conv in convs:
        note = casework.latest_transfer(session, conv)
        if note is not None:
            found[conv.id] = note
    return found


def notes_json(session: Session, notes: Iterable[ConversationNote]) -> List[Dict[str, object]]:
    notes = list(notes)
    ids = {n.agent_id for n in notes} | {n.to_agent_id for n in notes if n.to_agent_id}
    names = {a.id: a.name for a in session.execute(select(Agent).where(Agent.id.in_(ids))).scalars()} if ids else {}
    return [
        {
            "id": n.id,
            "kind": str(n.kind),
            "author": names.get(n.agent_id, ""),
            "to": names.get(n.to_agent_id, "") if n.to_agent_id else "",
            "text": n.text,
            "time": f"{n.created_at.month}月{n.created_at.day}日 {n.created_at:%H:%M}",
            "label": "转交" if n.kind == NoteKind.TRANSFER else "备注",
        }
        for n in notes
    ]


def summary_json(summary: Dict[str, object], last_buyer: Optional[Message] = None) -> Dict[str, object]:
    """The hand-over summary with names, not codes (a card the buyer sent last by what it is)."""
    intents = [intent_label(i) for i in summary.get("intents") or []]
    collapsed = [i for n, i in enumerate(intents) if n == 0 or intents[n - 1] != i]
    return {
        "reason": reason_label(summary.get("reason")),
        "skill": agents.SKILL_LABELS.get(summary.get("skill"), "") if summary.get("skill") else "",
        "intents": collapsed,
        "last_buyer_message": preview(last_buyer)
        if last_buyer is not None
        else summary.get("last_buyer_message") or "",
        "bot_said": list(summary.get("bot_said") or []),
    }


def colleague_json(session: Session, a: Agent) -> Dict[str, object]:
    return {
        "id": a.id,
        "name": a.name,
        "status": str(a.status),
        "status_label": agents.STATUS_LABELS.get(a.status, ""),
        "load": agents.load(session, a),
        "max": a.max_sessions,
        "skills": [agents.SKILL_LABELS.get(s, s) for s in a.skills or []],
    }


def discussed_order(messages: Iterable[Message]) -> Optional[str]:
    """The order the buyer last sent a card of, if any."""
    for m in reversed(list(messages)):
        if m.kind == "order_card" and m.direction == Direction.IN:
            found = _CARD.match(m.text)
            if found:
                return found.group(2)
    return None
