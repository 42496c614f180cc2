"""aiohttp app factory for the console: the store chat page and the small JSON API behind it.

The page is the buyer's side of the console. The buyer it speaks for is fixed by a signed
cookie set when the buyer enters (POST /api/session), so a page can read and write only its
own buyer's conversation. Events go to the Rasa console channel signed like a real console.
"""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Optional

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot import settings, signing
from bot.db import session_scope
from bot.models import Buyer, Conversation, Message, Order, Product
from bot.orders import describe
from bot.seed import DEMO_BUYERS
from bot.shop import shop
from bot.console import trainer, workbench

STATIC = Path(__file__).parent / "static"
RASA_CONSOLE_WEBHOOK = "/webhooks/console/webhook"
BUYER_COOKIE = "xiaoer_buyer"
_BUYER_ID = re.compile(r"^[A-Za-z0-9_]{3,64}$")
# What the page may send besides text; the channel validates the fields.
PAGE_EVENTS = {"text", "order_card", "product_card", "emoticon", "enter_shop"}


def current_buyer(request: web.Request) -> Optional[str]:
    return signing.value_of_cookie(settings.console_secret(), "buyer", request.cookies.get(BUYER_COOKIE, ""))


async def index(_: web.Request) -> web.Response:
    return web.FileResponse(STATIC / "store.html")


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def store_info(_: web.Request) -> web.Response:
    """Shop name, demo buyers and product cards for the store chat page."""
    cfg = shop()
    with session_scope() as session:
        products = session.execute(select(Product).order_by(Product.id)).scalars().all()
        cards = [{"sku": p.sku, "title": p.title, "price": p.price_fen / 100, "category": p.category} for p in products]
        buyers = []
        for buyer_id, _ in DEMO_BUYERS:
            buyer = session.get(Buyer, buyer_id)
            if buyer is not None:
                buyers.append({"id": buyer.id, "nick": buyer.nick})
    return web.json_response({"shop_id": cfg.shop_id, "name": cfg.name, "buyers": buyers, "products": cards})


async def start_session(request: web.Request) -> web.Response:
    """The buyer enters the shop: a demo buyer, or a new visitor with a fresh id."""
    body = await _json(request)
    buyer_id = str(body.get("buyer_id") or f"guest_{uuid.uuid4().hex[:10]}")
    if not _BUYER_ID.match(buyer_id):
        raise web.HTTPBadRequest(text=json.dumps({"error": "buyer_id: 3–64 letters, digits or _"}),
                                 content_type="application/json")
    resp = web.json_response({"buyer_id": buyer_id})
    resp.set_cookie(BUYER_COOKIE, signing.cookie_value(settings.console_secret(), "buyer", buyer_id),
                    httponly=True, samesite="Strict")
    return resp


async def history(request: web.Request) -> web.Response:
    """The buyer's own conversation, for a page that (re)opens or reconnects; with ?after=N
    only what came since (agent replies, queue updates)."""
    buyer_id = _require_buyer(request)
    after = int(request.query.get("after", "0")) if request.query.get("after", "0").isdigit() else 0
    with session_scope() as session:
        conv = session.execute(
            select(Conversation).where(Conversation.buyer_id == buyer_id, Conversation.shop_id == shop().shop_id)
            .order_by(Conversation.id.desc()).limit(1)
        ).scalar_one_or_none()
        rows = [] if conv is None else session.execute(
            select(Message).where(Message.conversation_id == conv.id, Message.id > after).order_by(Message.id)
        ).scalars().all()
        messages = [{"id": m.message_id if m.direction == "in" else f"r{m.id}", "n": m.id, "sender": m.sender,
                     "text": m.text, "kind": m.kind} for m in rows]
    return web.json_response({"buyer_id": buyer_id, "messages": messages})


async def orders(request: web.Request) -> web.Response:
    """The buyer's recent orders, to send one as an order card."""
    buyer_id = _require_buyer(request)
    with session_scope() as session:
        rows = session.execute(
            select(Order).where(Order.buyer_id == buyer_id).order_by(Order.created_at.desc()).limit(5)
        ).scalars().all()
        listed = [{"id": o.id, "label": describe(o)} for o in rows]
    return web.json_response({"orders": listed})


async def chat(request: web.Request) -> web.Response:
    """Relay one buyer event to the Rasa console channel and return the bot's replies.

    The page picks the message_id, so a retry after a dropped connection is recognised by
    the channel and answered with the replies already given, never twice.
    """
    buyer_id = _require_buyer(request)
    body = await _json(request)
    kind = body.get("type", "text")
    if kind not in PAGE_EVENTS:
        return web.json_response({"error": f"unknown event type: {kind}"}, status=422)
    event = {k: v for k, v in body.items() if k in ("text", "order_id", "sku", "code")}
    event.update({
        "message_id": str(body.get("message_id") or uuid.uuid4()),
        "shop_id": shop().shop_id,
        "buyer_id": buyer_id,
        "buyer_nick": str(body.get("buyer_nick") or ""),
        "type": kind,
    })
    payload = json.dumps(event, ensure_ascii=False).encode()
    headers = signing.signed_headers(settings.console_secret(), payload)
    session: aiohttp.ClientSession = request.app["http"]
    try:
        async with session.post(settings.RASA_URL + RASA_CONSOLE_WEBHOOK, data=payload, headers=headers) as resp:
            answer = await resp.json(content_type=None)
            return web.json_response(answer, status=resp.status)
    except aiohttp.ClientError as exc:
        return web.json_response({"error": f"the bot is not reachable: {exc.__class__.__name__}"}, status=503)


def _require_buyer(request: web.Request) -> str:
    buyer_id = current_buyer(request)
    if buyer_id is None:
        raise web.HTTPUnauthorized(text=json.dumps({"error": "enter the shop first (POST /api/session)"}),
                                   content_type="application/json")
    return buyer_id


async def _json(request: web.Request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body is not valid JSON"}),
                                 content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be a JSON object"}),
                                 content_type="application/json")
    return body


async def _http_session(app: web.Application):
    app["http"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    yield
    await app["http"].close()


def create_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app.cleanup_ctx.append(_http_session)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/store", store_info)
    app.router.add_post("/api/session", start_session)
    app.router.add_get("/api/history", history)
    app.router.add_get("/api/orders", orders)
    app.router.add_post("/api/chat", chat)
    app.router.add_static("/static", STATIC)
    workbench.add_routes(app)
    trainer.add_routes(app)
    return app
