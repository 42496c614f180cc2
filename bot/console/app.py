"""aiohttp app factory for the console: pages and the small JSON API behind them."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot import settings, signing
from bot.db import session_scope
from bot.models import Buyer, Product
from bot.seed import DEMO_BUYERS
from bot.shop import shop

STATIC = Path(__file__).parent / "static"
RASA_CONSOLE_WEBHOOK = "/webhooks/console/webhook"


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


async def chat(request: web.Request) -> web.Response:
    """Relay a buyer message to the Rasa console channel and return the bot's replies."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": "body is not valid JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    event = {
        "message_id": str(body.get("message_id") or uuid.uuid4()),
        "shop_id": shop().shop_id,
        "buyer_id": str(body.get("buyer_id") or ""),
        "buyer_nick": str(body.get("buyer_nick") or ""),
        "type": "text",
        "text": body.get("text"),
    }
    session: aiohttp.ClientSession = request.app["http"]
    payload = json.dumps(event, ensure_ascii=False).encode()
    headers = signing.signed_headers(settings.console_secret(), payload)
    try:
        async with session.post(settings.RASA_URL + RASA_CONSOLE_WEBHOOK, data=payload, headers=headers) as resp:
            payload = await resp.json(content_type=None)
            return web.json_response(payload, status=resp.status)
    except aiohttp.ClientError as exc:
        return web.json_response({"error": f"the bot is not reachable: {exc.__class__.__name__}"}, status=503)


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
    app.router.add_post("/api/chat", chat)
    app.router.add_static("/static", STATIC)
    return app
