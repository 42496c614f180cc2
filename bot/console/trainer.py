"""The trainer page: review what the bot probably misread and label it.

Same login as the workbench; a trainer sees only their own shop's messages. Labels are
written to settings.TRAINER_FILE (bot/curation.py); `make run` retrains on them the next
time it starts, and `xiaoer eval` compares the result on the held-back splits.
"""
from __future__ import annotations

import json

import yaml
from aiohttp import web

from bot import curation, settings
from bot.console.workbench import current_agent_id, require_agent, static_file
from bot.db import session_scope
from bot.models import Agent, Message
from bot.shop import shop

# Console events are not wordings a trainer labels.
_EVENT_INTENTS = {"enter_shop", "share_product", "share_order", "share_image"}


def _intents() -> list:
    domain = yaml.safe_load((settings.ROOT / "domain.yml").read_text(encoding="utf-8"))
    return sorted(i for i in domain["intents"] if i not in _EVENT_INTENTS)


async def trainer_page(request: web.Request) -> web.StreamResponse:
    if current_agent_id(request) is None:
        raise web.HTTPFound("/login")
    return web.FileResponse(static_file("trainer.html"))


async def review(request: web.Request) -> web.Response:
    agent_id = require_agent(request)
    labelled = {t: i for i, texts in curation.read_examples(settings.TRAINER_FILE).items() for t in texts}
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        items = curation.review_queue(session, shop_id, shop().handoff.low_confidence)
        rows = [{"id": c.message_id, "text": c.text, "intent": c.intent,
                 "confidence": None if c.confidence is None else round(c.confidence, 2),
                 "reason": c.reason, "suggested": c.suggested, "at": c.at.isoformat(timespec="seconds"),
                 "labelled": labelled.get(c.text)} for c in items]
    return web.json_response({"intents": _intents(), "items": rows,
                              "trainer_file": str(settings.TRAINER_FILE.relative_to(settings.ROOT))
                              if settings.TRAINER_FILE.is_relative_to(settings.ROOT) else str(settings.TRAINER_FILE)})


async def label(request: web.Request) -> web.Response:
    agent_id = require_agent(request)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": "body is not valid JSON"}, status=400)
    if not isinstance(body, dict) or not isinstance(body.get("message_id"), int) or not isinstance(body.get("intent"), str):
        return web.json_response({"error": "send {\"message_id\": <int>, \"intent\": <name>}"}, status=400)
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        msg = session.get(Message, body["message_id"])
        if msg is None or msg.direction != "in" or msg.conversation.shop_id != shop_id:
            return web.json_response({"error": "no such buyer message in your shop"}, status=404)
        text = msg.text
    others = curation.training_texts(settings.ROOT / "data" / "nlu", exclude=settings.TRAINER_FILE)
    try:
        count = curation.add_example(settings.TRAINER_FILE, text, body["intent"], set(_intents()), others)
    except curation.LabelError as err:
        return web.json_response({"error": str(err)}, status=409)
    return web.json_response({"intent": body["intent"], "examples_of_intent": count})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/trainer", trainer_page)
    app.router.add_get("/api/trainer/review", review)
    app.router.add_post("/api/trainer/label", label)
