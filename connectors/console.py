"""Rasa input channel for the shop console protocol (docs/console-protocol.md).

POST /webhooks/console/webhook with one buyer event as JSON. The event is validated,
stored, answered by the bot, and the replies are stored and returned in the response. A
retried event (same message_id) gets the replies already given instead of a second answer.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sqlalchemy.exc import IntegrityError
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import conversations, settings, signing
from bot.db import session_scope
from bot.shop import shop

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
EVENT_TYPES = {"text", "emoticon", "image", "product_card", "order_card", "enter_shop"}
# Emoticons that mean "yes / fine / thanks" in a chat; others are read as text.
AGREEING_EMOTICONS = {"[微笑]", "[赞]", "[OK]", "[ok]", "[好的]", "[玫瑰]", "[爱心]", "[抱拳]", "[害羞]", "[耶]"}
_EMOTICON = re.compile(r"^\[[^\[\]]{1,6}\]$")
_ORDER_ID = re.compile(r"^\d{12,20}$")
_SKU = re.compile(r"^[A-Za-z0-9-]{1,32}$")


class BadEvent(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_event(body: bytes) -> Dict[str, Any]:
    """Check one inbound event; raises BadEvent with the HTTP status and a reason."""
    try:
        event = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadEvent(400, "body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadEvent(400, f"body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(event, dict):
        raise BadEvent(400, "body must be a JSON object")
    for field in ("message_id", "shop_id", "buyer_id", "type"):
        if not isinstance(event.get(field), str) or not event[field].strip():
            raise BadEvent(400, f"missing or empty field: {field}")
    if event["type"] not in EVENT_TYPES:
        raise BadEvent(422, f"unknown event type: {event['type']}")
    if event["shop_id"] != shop().shop_id:
        raise BadEvent(404, f"unknown shop: {event['shop_id']}")
    event["stored_text"], event["rasa_text"] = _read(event)
    return event


def _field(event: Dict[str, Any], name: str, pattern: "re.Pattern[str]", what: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not pattern.match(value):
        raise BadEvent(400, f"{event['type']} needs '{name}': {what}")
    return value


def _read(event: Dict[str, Any]) -> Tuple[str, str]:
    """What is stored as the buyer's message, and what Rasa reads.

    Cards and shop events are not words to classify: they reach Rasa as intent triggers
    ("/share_order{...}") that carry their data as entities. A buyer's own text can never
    be one: a leading "/" is replaced by a full-width "／" so nobody types an intent.
    """
    kind = event["type"]
    if kind == "text":
        text = event.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadEvent(400, "empty message: field 'text' must contain the buyer's words")
        if len(text) > MAX_TEXT_CHARS:
            raise BadEvent(413, f"message too long: {len(text)} characters, the limit is {MAX_TEXT_CHARS}")
        return text, "／" + text[1:] if text.startswith("/") else text
    if kind == "emoticon":
        code = _field(event, "code", _EMOTICON, "an emoticon code like [微笑]")
        return code, "/affirm" if code in AGREEING_EMOTICONS else code
    if kind == "image":
        url = event.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 500:
            raise BadEvent(400, "image needs 'url': an http(s) address of at most 500 characters")
        return f"[图片] {url}", "/share_image"
    if kind == "product_card":
        sku = _field(event, "sku", _SKU, "the product's SKU")
        return f"[商品卡片] {sku}", "/share_product" + json.dumps({"product_sku": sku})
    if kind == "order_card":
        order_id = _field(event, "order_id", _ORDER_ID, "12–20 digits")
        return f"[订单卡片] {order_id}", "/share_order" + json.dumps({"order_id": order_id})
    return "[进店]", "/enter_shop"  # enter_shop


def _store_inbound(event: Dict[str, Any]) -> Tuple[bool, List[str]]:
    """Store the buyer message; for a retry, return the replies already sent."""
    try:
        with session_scope() as session:
            existing = conversations.find_message(session, event["message_id"])
            if existing is not None:
                return True, [m.text for m in conversations.replies_to(session, event["message_id"])]
            conv = conversations.conversation_for(session, event["shop_id"], event["buyer_id"], event.get("buyer_nick"))
            conversations.record(session, conv, "in", "buyer", event["stored_text"], message_id=event["message_id"],
                             kind=event["type"])
            return False, []
    except IntegrityError:  # the same message_id arrived twice at once: the other one answers
        return True, []


def _store_replies(event: Dict[str, Any], texts: List[str]) -> None:
    with session_scope() as session:
        conv = conversations.conversation_for(session, event["shop_id"], event["buyer_id"])
        for text in texts:
            conversations.record(session, conv, "out", "bot", text, reply_to=event["message_id"])


class ConsoleInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("console_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            unsigned = signing.problem(settings.console_secret(), request.headers, body)
            if unsigned:
                # Logged without the body: an unsigned request is not to be trusted or kept.
                logger.warning("rejected unsigned console request from %s: %s", request.ip, unsigned)
                return response.json({"error": unsigned}, status=401)
            try:
                event = parse_event(body)
            except BadEvent as exc:
                logger.info("rejected console event: %s", exc.reason)
                return response.json({"error": exc.reason}, status=exc.status)

            duplicate, earlier = await asyncio.to_thread(_store_inbound, event)
            if duplicate:
                return response.json({"message_id": event["message_id"], "duplicate": True,
                                      "replies": [{"text": t} for t in earlier]})

            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(
                    event["rasa_text"],
                    collector,
                    sender_id=event["buyer_id"],
                    input_channel=self.name(),
                    message_id=event["message_id"],
                    metadata={"shop_id": event["shop_id"], "buyer_nick": event.get("buyer_nick")},
                )
            )
            texts = [m["text"] for m in collector.messages if m.get("text")]
            await asyncio.to_thread(_store_replies, event, texts)
            return response.json({"message_id": event["message_id"], "duplicate": False,
                                  "replies": [{"text": t} for t in texts]})

        return webhook
