"""The store chat page: the buyer's side of the console, and the small JSON API behind it.

The buyer a page speaks for is fixed by a signed cookie set when the buyer enters
(POST /api/session), so a page can read and write only its own buyer's conversation.
Events go to the Rasa console channel signed like a real console (rasa_client.py).
"""

from __future__ import annotations

import hmac
import re
import uuid

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot import settings
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
from bot.seed import DEMO_BUYERS
from bot.shop.config import shop
from bot.shop.orders import describe
from bot.store.db import session_scope
from bot.store.models import Buyer, Conversation, Direction, Message, Order, Product

_BUYER_ID = re.compile(r"^[A-Za-z0-9_]{3,64}$")
# What the page may send besides text; the channel validates the fields.
PAGE_EVENTS = {"text", "order_card", "product_card", "emoticon", "enter_shop"}


async def index(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "store.html")


async def store_info(_: web.Request) -> web.Response:
    """Shop name, demo buyers and product cards for the store chat page."""
    cfg = shop()
    with session_scope() as session:
        products = session.execute(select(Product).order_by(Product.id)).scalars().all()
        cards = [{"sku": p.sku, "title": p.title, "price": p.price_fen / 100, "category": p.category} for p in products]
        buyers = []
        for buyer_id, _ in DEMO_BUYERS if settings.demo() else ():
            buyer = session.get(Buyer, buyer_id)
            if buyer is not None:
                buyers.append({"id": buyer.id, "nick": buyer.nick})
    return web.json_response({"shop_id": cfg.shop_id, "name": cfg.name, "buyers": buyers, "products": cards})


async def start_session(request: web.Request) -> web.Response:
    """The buyer enters the shop. A visitor gets a fresh guest id; a known buyer only with
    proof: the console platform's signed identity ({"buyer_id", "proof"}), or, in the loopback
    demo, one of the demo buyers. Nobody becomes a buyer by naming one."""
    body = await read_json(request)
    asked = body.get("buyer_id")
    if asked is None:  # a guest, the same one as before if this browser was one
        known = current_buyer(request)
        buyer_id = known if known and known.startswith("guest_") else f"guest_{uuid.uuid4().hex[:10]}"
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
    resp = web.json_response({"buyer_id": buyer_id})
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
    only what came since (agent replies, queue updates)."""
    buyer_id = require_buyer(request)
    after_text = request.query.get("after", "0")
    after = int(after_text) if re.fullmatch(r"[0-9]{1,12}", after_text) else 0
    with session_scope() as session:
        conv = session.execute(
            select(Conversation)
            .where(Conversation.buyer_id == buyer_id, Conversation.shop_id == shop().shop_id)
            .order_by(Conversation.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        rows = (
            []
            if conv is None
            else session.execute(
                select(Message).where(Message.conversation_id == conv.id, Message.id > after).order_by(Message.id)
            )
            .scalars()
            .all()
        )
        messages = [
            {
                "id": m.message_id if m.direction == Direction.IN else f"r{m.id}",
                "n": m.id,
                "sender": m.sender,
                "text": m.text,
                "kind": m.kind,
            }
            for m in rows
        ]
    return web.json_response({"buyer_id": buyer_id, "messages": messages})


async def orders(request: web.Request) -> web.Response:
    """The buyer's recent orders, to send one as an order card."""
    buyer_id = require_buyer(request)
    with session_scope() as session:
        rows = (
            session.execute(select(Order).where(Order.buyer_id == buyer_id).order_by(Order.created_at.desc()).limit(5))
            .scalars()
            .all()
        )
        listed = [{"id": o.id, "label": describe(o)} for o in rows]
    return web.json_response({"orders": listed})


async def chat(request: web.Request) -> web.Response:
    """Relay one buyer event to the Rasa console channel and return the bot's replies.

    The page picks the message_id, so a retry after a dropped connection is recognised by
    the channel and answered with the replies already given, never twice.
    """
    buyer_id = require_buyer(request)
    body = await read_json(request)
    kind = body.get("type", "text")
    if not isinstance(kind, str) or kind not in PAGE_EVENTS:
        return web.json_response({"error": f"unknown event type: {str(kind)[:40]}"}, status=422)
    event = {k: v for k, v in body.items() if k in ("text", "order_id", "sku", "code")}
    event.update(
        {
            "message_id": str(body.get("message_id") or uuid.uuid4()),
            "shop_id": shop().shop_id,
            "buyer_id": buyer_id,
            "buyer_nick": str(body.get("buyer_nick") or ""),
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
    app.router.add_get("/api/orders", orders)
    app.router.add_post("/api/chat", chat)
