"""The store chat page: the buyer's side of the console, and the small JSON API behind it.

The buyer a page speaks for is fixed by a signed cookie set when the buyer enters
(POST /api/session), so a page can read and write only its own buyer's conversation.
Events go to the Rasa console channel signed like a real console (rasa_client.py).

What the page shows besides the words: each visitor's own nick (访客 and four digits), the
cards a buyer sent (a product with its picture and price, an order with its items, state
and amount), 未读/已读 for messages that went to a person (read_at, set by the agent's
workbench), and whether anyone is there to take the buyer: agents on duty and the buyer's
place in the queue. Product pictures are flat drawings (static/products/<shape>.svg) in the
product's or the ordered item's colour, for shops that upload none.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime
from typing import Dict, Iterable, Optional, Tuple
from urllib.parse import quote

import aiohttp
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock, settings
from bot.console import rasa_client
from bot.console.auth import (
    BUYER_COOKIE,
    STATIC,
    buyer_cookie,
    current_buyer,
    identity_proof,
    json_error,
    read_json,
    require_buyer,
    set_cookie,
)
from bot.formatting import cn_date, yuan
from bot.seed import DEMO_BUYERS
from bot.service import agents
from bot.shop.catalogue import product_by_sku
from bot.shop.config import ShopConfig, UnknownShop, shop, shop_ids
from bot.shop.orders import STATUS_LABEL, buyer_orders, shop_order
from bot.store.db import session_scope
from bot.store.models import (
    Agent,
    AgentStatus,
    Buyer,
    Conversation,
    Direction,
    Handler,
    Message,
    Order,
    Product,
    Sender,
)

_BUYER_ID = re.compile(r"^[A-Za-z0-9_]{3,64}$")
# What the page may send besides text; the channel validates the fields.
PAGE_EVENTS = {"text", "order_card", "product_card", "emoticon", "enter_shop"}
# How the channel stores a card: "[订单卡片] 2026…", "[商品卡片] QS-T001".
_CARD = re.compile(r"^\[(?:商品卡片|订单卡片)\] (\S+)$")
# Buyer messages whose 未读/已读 the page keeps up to date.
RECEIPTS_KEPT = 200


# --- visitors -----------------------------------------------------------------------------------

GUEST = "guest_"
GUEST_NICK = "访客"
OLD_GUEST_NICK = "新访客"  # what every visitor was called before they had their own nick


def _guest_digits(buyer_id: str) -> str:
    """The four digits of a visitor's nick: in the id of a visitor who entered since nicks
    exist (guest_4821_…), derived from the id of one who entered before."""
    head = buyer_id[len(GUEST) :].partition("_")[0]
    if head.isdigit() and len(head) >= 4:
        return head
    return str(1000 + int(hashlib.sha256(buyer_id.encode()).hexdigest(), 16) % 9000)


def buyer_nick(session: Session, shop_id: str, buyer_id: str) -> str:
    """What the shop calls this buyer: their nick, or a visitor's 访客 and four digits. A demo
    buyer the shop has not met yet has the demo platform's nick (another shop's row is that
    shop's)."""
    buyer = session.get(Buyer, (shop_id, buyer_id))
    if buyer is not None and buyer.nick not in ("", buyer_id, OLD_GUEST_NICK):
        return buyer.nick
    if buyer_id.startswith(GUEST):
        return GUEST_NICK + _guest_digits(buyer_id)
    return dict(DEMO_BUYERS).get(buyer_id, buyer_id)


def _new_guest(session: Session) -> str:
    """A fresh visitor id whose nick (访客 and four digits) no buyer of any shop has yet, so
    the agents can tell this visitor from the others — in whichever shop the visitor writes to
    (the id, like a platform buyer's, is the same in every shop)."""
    for width in (4, 4, 4, 4, 4, 4, 4, 4, 5, 6):
        digits = str(10 ** (width - 1) + secrets.randbelow(9 * 10 ** (width - 1)))
        taken = session.execute(select(Buyer.id).where(Buyer.nick == GUEST_NICK + digits).limit(1)).first()
        if taken is None:
            break
    return f"{GUEST}{digits}_{uuid.uuid4().hex[:8]}"


# --- product pictures ---------------------------------------------------------------------------

PRODUCT_PICTURES = STATIC / "products"
# The drawings' own neutral colours, replaced by the garment's (see static/products/*.svg).
_FILL, _SHADE, _LINE, _ACCENT = "#7d8795", "#6a7380", "#4f5661", "#e8632c"
COLOUR_HEX = {
    "白色": "#f3f3f0", "黑色": "#2e2f33", "灰色": "#9b9ea3", "浅灰": "#cfd1d4", "深灰": "#4c4e53",
    "花灰": "#b1b2b4", "藏青": "#26355a", "深蓝": "#25427c", "浅蓝": "#a9c8e4", "米白": "#eee6d3",
    "军绿": "#5e6742", "酒红": "#7d2436", "卡其": "#c4a87c", "杏色": "#e7cca8",
}  # fmt: skip
# Which drawing a product gets, by words of its title or category (first match).
_SHAPES: Tuple[Tuple[Tuple[str, ...], str], ...] = (
    (("背心",), "tank"),
    (("裤",), "shorts"),
    (("卫衣", "连帽"), "hoodie"),
    (("衬衫",), "shirt"),
    (("POLO", "Polo", "polo", "翻领"), "polo"),
    (("长袖",), "longsleeve"),
    (("V领",), "vneck"),
    (("落肩", "宽松", "重磅"), "oversize"),
    (("速干", "运动"), "sport"),
    (("印花",), "print"),
)


def _shape(product: Product) -> str:
    words = f"{product.title} {product.category}"
    return next((shape for keys, shape in _SHAPES if any(k in words for k in keys)), "tee")


def _mix(hex_colour: str, towards: str, share: float) -> str:
    a = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(towards[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b))


def _colour_hex(name: str) -> str:
    """A colour name as a garment's colour; one the table lacks gets a soft colour of its own."""
    if name in COLOUR_HEX:
        return COLOUR_HEX[name]
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)
    return _mix(f"#{seed:06x}", "#a0a0a0", 0.45)


@functools.lru_cache(maxsize=None)
def _drawing(shape: str) -> str:
    return (PRODUCT_PICTURES / f"{shape}.svg").read_text(encoding="utf-8")


def picture_svg(product: Product, colour: Optional[str]) -> str:
    """The product's drawing in a colour it comes in: the one asked for, else one of its
    colours picked by its SKU (so the shop's list is not all white)."""
    colours = list(dict.fromkeys(v.color for v in sorted(product.variants, key=lambda v: v.id)))
    default = colours[int(hashlib.sha256(product.sku.encode()).hexdigest(), 16) % len(colours)] if colours else ""
    name = colour if colour in colours else default
    fill = _colour_hex(name) if name else _FILL
    light = sum(int(fill[i : i + 2], 16) for i in (1, 3, 5)) > 3 * 200
    dark = sum(int(fill[i : i + 2], 16) for i in (1, 3, 5)) < 3 * 80
    shade = _mix(fill, "#ffffff", 0.12) if dark else _mix(fill, "#000000", 0.12)
    line = _mix(fill, "#000000", 0.28 if light else 0.45)
    accent = "#ff7a2e"  # stripes and emblems: the shop's orange
    svg = _drawing(_shape(product))
    for token, value in ((_FILL, fill), (_SHADE, shade), (_LINE, line), (_ACCENT, accent)):
        svg = svg.replace(token, value)
    return svg


def picture_url(sku: str, colour: Optional[str] = None) -> str:
    return f"/products/{quote(sku)}.svg" + (f"?color={quote(colour)}" if colour else "")


async def product_picture(request: web.Request) -> web.Response:
    """GET /products/<sku>.svg[?color=黑色]: the product's picture (public, like the shop's own)."""
    sku = request.match_info["sku"]
    with session_scope() as session:
        product = session.execute(select(Product).where(Product.sku == sku)).scalar_one_or_none()
        if product is None:
            raise web.HTTPNotFound(text="没有这个商品", content_type="text/plain")
        svg = picture_svg(product, request.query.get("color"))
    return web.Response(text=svg, content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


# --- cards --------------------------------------------------------------------------------------


def product_card(product: Product) -> Dict[str, object]:
    return {
        "type": "product",
        "sku": product.sku,
        "title": product.title,
        "price": yuan(product.price_fen),
        "category": product.category,
        "image": picture_url(product.sku),
    }


def order_card(order: Order) -> Dict[str, object]:
    return {
        "type": "order",
        "id": order.id,
        "state": STATUS_LABEL[order.status],
        "status": str(order.status.value),
        "items": [
            {
                "title": item.product.title,
                "spec": f"{item.color} {item.size}码",
                "quantity": item.quantity,
                "price": yuan(item.unit_price_fen),
                "image": picture_url(item.product.sku, item.color),
            }
            for item in order.items
        ],
        "count": sum(item.quantity for item in order.items),
        "amount": yuan(order.total_fen),
        "freight": yuan(order.freight_fen),
        "date": cn_date(order.created_at),
    }


def _card(session: Session, buyer_id: str, m: Message) -> Optional[Dict[str, object]]:
    """What a stored card shows; an order only if it is this buyer's."""
    found = _CARD.match(m.text) if m.kind in ("product_card", "order_card") else None
    if found is None:
        return None
    key = found.group(1)
    shop_id = m.conversation.shop_id
    if m.kind == "product_card":
        product = product_by_sku(session, shop_id, key)
        return product_card(product) if product is not None else {"type": "product", "missing": True}
    order = shop_order(session, shop_id, key, buyer_id)
    if order is None:
        return {"type": "order", "missing": True, "tail": key[-4:]}
    return order_card(order)


# --- the buyer's conversation -------------------------------------------------------------------


def page_shop(request: web.Request) -> ShopConfig:
    """The shop whose page this is: ?shop=<shop_id>, the default shop without one. A buyer id
    is the platform's; what the page shows (conversation, orders, products) is this shop's."""
    wanted = request.query.get("shop")
    if not wanted:
        return shop()
    try:
        return shop(wanted)
    except UnknownShop:
        raise json_error(web.HTTPNotFound, "没有这个店铺 (unknown shop)") from None


def _conversation(session: Session, buyer_id: str, shop_id: str) -> Optional[Conversation]:
    return session.execute(
        select(Conversation)
        .where(Conversation.buyer_id == buyer_id, Conversation.shop_id == shop_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _page_id(m: Message) -> str:
    return m.message_id if m.direction == Direction.IN and m.message_id else f"r{m.id}"


def receipts(session: Session, conversation_id: int, messages: Optional[Iterable[Message]] = None) -> Dict[str, str]:
    """未读/已读 of the buyer's messages that a person was to read: read once read_at is set
    (an agent read the conversation), unread while a message went to a person who has not
    read it yet. A message the bot answered has none until a person reads it."""
    if messages is None:
        messages = (
            session.execute(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.direction == Direction.IN)
                .order_by(Message.id.desc())
                .limit(RECEIPTS_KEPT)
            )
            .scalars()
            .all()
        )
    mine = [m for m in messages if m.direction == Direction.IN and m.message_id and m.kind != "enter_shop"]
    if not mine:
        return {}
    waiting = [m.message_id for m in mine if m.read_at is None and m.answered_at is not None]
    answered_by_bot = set(
        session.execute(
            select(Message.reply_to).where(
                Message.conversation_id == conversation_id,
                Message.sender == Sender.BOT,
                Message.reply_to.in_(waiting),
            )
        ).scalars()
        if waiting
        else ()
    )
    found = {}
    for m in mine:
        if m.read_at is not None:
            found[m.message_id] = "read"
        elif m.answered_at is not None and m.message_id not in answered_by_bot:
            found[m.message_id] = "unread"  # delivered to a person, not read yet
    return found


def _agent_names(session: Session, conv: Optional[Conversation]) -> str:
    if conv is None or conv.agent_id is None:
        return ""
    agent = session.get(Agent, conv.agent_id)
    return agent.name if agent is not None else ""


def message_json(session: Session, buyer_id: str, m: Message, agent_name: str) -> Dict[str, object]:
    data: Dict[str, object] = {
        "id": _page_id(m),
        "n": m.id,
        "sender": str(m.sender),
        "text": m.text,
        "kind": m.kind,
        "at": m.created_at.isoformat(timespec="seconds"),
    }
    if m.sender == Sender.AGENT:
        author = session.get(Agent, m.agent_id) if m.agent_id is not None else None
        data["agent"] = author.name if author is not None else agent_name
    card = _card(session, buyer_id, m)
    if card is not None:
        data["card"] = card
    return data


# --- the API ------------------------------------------------------------------------------------


async def index(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "store.html")


async def store_info(request: web.Request) -> web.Response:
    """Shop name, service hours, demo buyers and product cards for the store chat page, and
    the shops a visitor can pick (?shop=<shop_id>)."""
    cfg = page_shop(request)
    with session_scope() as session:
        products = (
            session.execute(select(Product).where(Product.shop_id == cfg.shop_id).order_by(Product.id)).scalars().all()
        )
        cards = [product_card(p) for p in products]
        buyers = []
        for buyer_id, _ in DEMO_BUYERS if settings.demo() else ():
            buyer = session.get(Buyer, (cfg.shop_id, buyer_id))
            if buyer is not None:
                buyers.append({"id": buyer.id, "nick": buyer.nick})
    return web.json_response(
        {
            "shop_id": cfg.shop_id,
            "name": cfg.name,
            "short_name": cfg.short_name,
            "service_hours": f"{cfg.service_hours.start}–{cfg.service_hours.end}",
            "buyers": buyers,
            "products": cards,
            "shops": [{"id": s, "name": shop(s).name} for s in shop_ids()],
        }
    )


async def start_session(request: web.Request) -> web.Response:
    """The buyer enters the shop. A visitor gets a fresh guest id; a known buyer only with
    proof: the console platform's signed identity ({"buyer_id", "proof"}), or, in the loopback
    demo, one of the demo buyers. Nobody becomes a buyer by naming one.

    Without a buyer_id, the page (re)opens as whoever this browser was (its signed cookie), a
    new visitor otherwise; {"guest": true} asks to be a visitor (the same one as before if this
    browser was one)."""
    body = await read_json(request)
    asked = body.get("buyer_id")
    with session_scope() as session:
        if asked is None:
            known = current_buyer(request)
            if known and (known.startswith(GUEST) or body.get("guest") is not True):
                buyer_id = known
            else:
                buyer_id = _new_guest(session)
        elif not isinstance(asked, str) or not _BUYER_ID.match(asked):
            raise json_error(web.HTTPBadRequest, "buyer_id: 3–64 letters, digits or _")
        elif isinstance(body.get("proof"), str) and hmac.compare_digest(
            body["proof"].encode(), identity_proof(asked).encode()
        ):
            buyer_id = asked  # vouched for by the console platform
        elif settings.demo() and asked in {b for b, _ in DEMO_BUYERS}:
            buyer_id = asked
        else:
            raise json_error(web.HTTPForbidden, "a known buyer needs the console platform's signed identity (proof)")
        nick = buyer_nick(session, page_shop(request).shop_id, buyer_id)
    resp = web.json_response({"buyer_id": buyer_id, "nick": nick, "guest": buyer_id.startswith(GUEST)})
    set_cookie(request, resp, BUYER_COOKIE, buyer_cookie(buyer_id))
    return resp


def _proven(buyer_id: str, proof: object) -> bool:
    return (
        isinstance(proof, str)
        and proof.isascii()
        and hmac.compare_digest(proof.encode(), identity_proof(buyer_id).encode())
    )


async def history(request: web.Request) -> web.Response:
    """The buyer's own conversation, for a page that (re)opens or reconnects; with ?after=N
    only what came since (agent replies, queue updates). Each time also the 未读/已读 of the
    buyer's messages that went to a person, and the shop's clock (for the page's times)."""
    buyer_id = require_buyer(request)
    after_text = request.query.get("after", "0")
    after = int(after_text) if re.fullmatch(r"[0-9]{1,12}", after_text) else 0
    cfg = page_shop(request)
    with session_scope() as session:
        conv = _conversation(session, buyer_id, cfg.shop_id)
        rows = (
            []
            if conv is None
            else session.execute(
                select(Message).where(Message.conversation_id == conv.id, Message.id > after).order_by(Message.id)
            )
            .scalars()
            .all()
        )
        agent_name = _agent_names(session, conv)
        messages = [message_json(session, buyer_id, m, agent_name) for m in rows]
        read_states = {} if conv is None else receipts(session, conv.id)
    return web.json_response(
        {
            "buyer_id": buyer_id,
            "messages": messages,
            "receipts": read_states,
            "now": clock.now().isoformat(timespec="seconds"),
        }
    )


def agents_on_duty(session: Session, shop_id: str) -> int:
    """The shop's agents at work now (online, or busy with their buyers)."""
    return session.execute(
        select(func.count(Agent.id)).where(
            Agent.shop_id == shop_id, Agent.status.in_([AgentStatus.ONLINE, AgentStatus.BUSY])
        )
    ).scalar_one()


def service_state(
    session: Session, buyer_id: str, now: datetime, cfg: Optional[ShopConfig] = None
) -> Dict[str, object]:
    """Who can help this buyer now in this shop: agents on duty, and where the buyer stands."""
    cfg = cfg or shop()
    conv = _conversation(session, buyer_id, cfg.shop_id)
    handled = Handler(conv.handled_by) if conv is not None else Handler.BOT
    state: Dict[str, object] = {
        "agents_online": agents_on_duty(session, cfg.shop_id),
        "handled_by": handled.value,
        "queue": None,
        "agent": "",
        "service_hours": f"{cfg.service_hours.start}–{cfg.service_hours.end}",
    }
    if conv is not None and handled == Handler.QUEUE:
        place = agents.place_in_queue(session, conv, cfg, now)
        if place is not None:
            state["queue"] = {
                "position": place.position,
                "wait_minutes": place.wait_minutes,
                "agents_on_duty": place.agents_on_duty,
            }
    elif handled == Handler.AGENT:
        state["agent"] = _agent_names(session, conv)
    return state


async def service(request: web.Request) -> web.Response:
    """GET /api/service: for the buyer's own page, whether a person can take them now."""
    buyer_id = require_buyer(request)
    cfg = page_shop(request)
    with session_scope() as session:
        return web.json_response(service_state(session, buyer_id, clock.now(), cfg))


async def orders(request: web.Request) -> web.Response:
    """The buyer's recent orders in this shop, to send one as an order card."""
    buyer_id = require_buyer(request)
    cfg = page_shop(request)
    with session_scope() as session:
        rows = buyer_orders(session, cfg.shop_id, buyer_id, limit=8)
        listed = [order_card(o) for o in rows]
    return web.json_response({"orders": listed})


async def chat(request: web.Request) -> web.Response:
    """Relay one buyer event to the Rasa console channel and return the bot's replies.

    The page picks the message_id, so a retry after a dropped connection is recognised by
    the channel and answered with the replies already given, never twice. The buyer's nick
    is the shop's (a visitor's 访客 and four digits), not what the page says.
    """
    buyer_id = require_buyer(request)
    cfg = page_shop(request)
    body = await read_json(request)
    kind = body.get("type", "text")
    if not isinstance(kind, str) or kind not in PAGE_EVENTS:
        return web.json_response({"error": f"unknown event type: {str(kind)[:40]}"}, status=422)
    with session_scope() as session:
        nick = buyer_nick(session, cfg.shop_id, buyer_id)
    if nick == buyer_id and isinstance(body.get("buyer_nick"), str):
        nick = body["buyer_nick"][:64]  # a buyer the platform vouched for, unknown here yet
    event = {k: v for k, v in body.items() if k in ("text", "order_id", "sku", "code")}
    event.update(
        {
            "message_id": str(body.get("message_id") or uuid.uuid4()),
            "shop_id": cfg.shop_id,
            "buyer_id": buyer_id,
            "buyer_nick": nick,
            "type": kind,
        }
    )
    try:
        status, answer = await rasa_client.relay_event(request.app, event)
    except aiohttp.ClientError as exc:
        return web.json_response({"error": f"the bot is not reachable: {exc.__class__.__name__}"}, status=503)
    return web.json_response(answer, status=status)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/api/store", store_info)
    app.router.add_post("/api/session", start_session)
    app.router.add_get("/api/history", history)
    app.router.add_get("/api/service", service)
    app.router.add_get("/api/orders", orders)
    app.router.add_post("/api/chat", chat)
    app.router.add_get(r"/products/{sku:[A-Za-z0-9-]{1,32}}.svg", product_picture)
