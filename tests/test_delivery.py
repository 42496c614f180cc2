"""Outbound delivery to the console's callback: retried with backoff, failures recorded."""

import json
from pathlib import Path

import jsonschema
from aiohttp import web
from sqlalchemy import select

from bot import settings, signing
from bot.service.delivery import deliver
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import Delivery

OUTBOUND_SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "docs" / "console-outbound.schema.json").read_text(encoding="utf-8")
)


def _stored_reply(db_url) -> int:
    with session_scope() as s:
        conv = conversations.conversation_for(s, "qingshan", "delivery_buyer")
        return conversations.record(s, conv, "out", "agent", "亲，已经帮您催快递了").id


async def _console(aiohttp_server, fail_first: int):
    seen = []

    async def callback(request: web.Request) -> web.Response:
        body = await request.read()
        assert signing.problem(settings.secret("callback"), request.headers, body) is None
        seen.append(await request.json())
        return web.Response(status=503 if len(seen) <= fail_first else 200)

    app = web.Application()
    app.router.add_post("/callback", callback)
    server = await aiohttp_server(app)
    return server, seen


async def test_a_reply_is_retried_until_the_console_takes_it(aiohttp_server, db_url):
    server, seen = await _console(aiohttp_server, fail_first=2)
    message_id = _stored_reply(db_url)
    assert await deliver(message_id, url=str(server.make_url("/callback")), backoff=(0, 0.01, 0.01, 0.01))
    assert len(seen) == 3 and seen[-1]["text"] == "亲，已经帮您催快递了" and seen[-1]["buyer_id"] == "delivery_buyer"
    jsonschema.validate(seen[-1], OUTBOUND_SCHEMA)  # what docs/console-protocol.md promises
    with session_scope() as s:
        record = s.execute(select(Delivery).where(Delivery.message_id == message_id)).scalar_one()
        assert record.attempts == 3 and record.delivered_at is not None and record.last_error is None


async def test_what_cannot_be_delivered_is_recorded(db_url):
    message_id = _stored_reply(db_url)
    assert not await deliver(message_id, url="http://127.0.0.1:9/callback", backoff=(0, 0.01))
    with session_scope() as s:
        record = s.execute(select(Delivery).where(Delivery.message_id == message_id)).scalar_one()
        assert record.attempts == 2 and record.delivered_at is None and record.last_error
