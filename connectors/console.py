"""Rasa input channel for the shop console protocol (docs/console-protocol.md).

POST /webhooks/console/webhook with one signed buyer event as JSON. The event is checked,
stored, and then either answered by the bot — the replies are stored and returned in the
response — or, when a person holds the buyer, passed to that agent's workbench. A retried
event (same message_id) gets the replies already given instead of a second answer, and a
buyer's numbered messages are answered in order (connectors/ordering.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import clock, settings, signing
from bot.service import agents
from bot.shop.config import shop
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import Direction, Handler, Sender
from connectors import rasa_speedups
from connectors.ordering import BuyerSequencer

rasa_speedups.apply()  # the Rasa server loads this module at start-up (the credentials bot/servers.py writes)

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
MAX_BODY_BYTES = 64 * 1024
MAX_ID_CHARS = 64  # the messages.message_id column
MAX_NICK_CHARS = 64
MAX_SEQ = 2**31 - 1
EVENT_TYPES = {"text", "emoticon", "image", "product_card", "order_card", "enter_shop"}
# Emoticons that mean "yes / fine / thanks" in a chat; others are read as text.
AGREEING_EMOTICONS = {"[微笑]", "[赞]", "[OK]", "[ok]", "[好的]", "[玫瑰]", "[爱心]", "[抱拳]", "[害羞]", "[耶]"}
_EMOTICON = re.compile(r"^\[[^\[\]]{1,6}\]$")
_ORDER_ID = re.compile(r"^\d{12,20}$")
_BUYER_ID = re.compile(r"^[A-Za-z0-9_:.-]{1,64}$")
_SKU = re.compile(r"^[A-Za-z0-9-]{1,32}$")


class BadEvent(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_event(body: bytes) -> Dict[str, Any]:
    """Check one inbound event; raises BadEvent with the HTTP status and a reason."""
    if len(body) > MAX_BODY_BYTES:
        raise BadEvent(413, f"body too large: {len(body)} bytes, the limit is {MAX_BODY_BYTES}")
    try:
        event = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadEvent(400, "body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadEvent(400, f"body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except (ValueError, RecursionError):  # numbers of thousands of digits, nesting thousands deep
        raise BadEvent(400, "body is not valid JSON: a number or nesting beyond what an event holds") from None
    if not isinstance(event, dict):
        raise BadEvent(400, "body must be a JSON object")
    for field in ("message_id", "shop_id", "buyer_id", "type"):
        if not isinstance(event.get(field), str) or not event[field].strip():
            raise BadEvent(400, f"missing or empty field: {field}")
    if len(event["message_id"]) > MAX_ID_CHARS:
        raise BadEvent(400, f"message_id: at most {MAX_ID_CHARS} characters")
    if event["type"] not in EVENT_TYPES:
        raise BadEvent(422, f"unknown event type: {event['type'][:40]}")
    if not _BUYER_ID.match(event["buyer_id"]):
        raise BadEvent(400, "buyer_id: 1–64 letters, digits or _:.-")
    nick = event.get("buyer_nick")
    if nick is not None and (not isinstance(nick, str) or len(nick) > MAX_NICK_CHARS):
        raise BadEvent(400, f"buyer_nick: a text of at most {MAX_NICK_CHARS} characters")
    seq = event.get("seq")
    if "seq" in event and (not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ):
        raise BadEvent(400, f"seq must be a positive integer up to {MAX_SEQ} (the buyer's message number)")
    if event["shop_id"] != shop().shop_id:
        raise BadEvent(404, f"unknown shop: {event['shop_id'][:40]}")
    event["stored_text"], event["rasa_text"] = _read(event)
    if not _storable(event["stored_text"]) or not _storable(nick or "") or not _storable(event["message_id"]):
        raise BadEvent(400, "text holds characters that are not valid Unicode (a lone surrogate)")
    return event


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


class Inbound:
    """What the database already knows about an inbound event."""

    NEW = "new"
    ANSWERED = "answered"  # a retry: give back the stored replies
    UNANSWERED = "unanswered"  # stored before a crash, never answered: answer it now


@dataclass
class Stored:
    state: str
    earlier_replies: List[Dict[str, str]]
    last_answered: int  # the highest seq already answered for this buyer (for ordering)
    conversation_id: int
    with_agent: bool  # a person answers this buyer now, not the bot


# One buyer's events are stored one at a time (in this process), so two first messages
# arriving together find one conversation, not two. A fixed set of locks, one buyer always on
# the same one: the table never grows with the number of buyers.
_STORE_LOCKS = [threading.Lock() for _ in range(256)]


def _store_lock(buyer_id: str) -> threading.Lock:
    return _STORE_LOCKS[zlib.crc32(buyer_id.encode()) % len(_STORE_LOCKS)]


def _store_inbound(event: Dict[str, Any]) -> Stored:
    """Store the buyer message (once), and decide who answers it."""
    with _store_lock(event["buyer_id"]), session_scope() as session:
        conv = conversations.conversation_for(session, event["shop_id"], event["buyer_id"], event.get("buyer_nick"))
        last_answered = conversations.last_answered_seq(session, conv)
        existing = conversations.find_message(session, conv.id, event["message_id"])
        if existing is not None:
            if existing.answered_at is not None:
                earlier = conversations.replies_to(session, conv.id, event["message_id"])
                return Stored(Inbound.ANSWERED, [_as_reply(m) for m in earlier], last_answered, conv.id, False)
            state = Inbound.UNANSWERED
        else:
            conversations.record(
                session,
                conv,
                Direction.IN,
                Sender.BUYER,
                event["stored_text"],
                message_id=event["message_id"],
                kind=event["type"],
                seq=event.get("seq"),
            )
            state = Inbound.NEW
        agents.route_inbound(session, conv, clock.now())
        with_agent = conv.handled_by == Handler.AGENT
        if with_agent:
            conversations.mark_answered(session, conv.id, event["message_id"])  # delivered to a person
        return Stored(state, [], last_answered, conv.id, with_agent)


def _as_reply(message) -> Dict[str, str]:
    return {"id": f"r{message.id}", "text": message.text}


def _store_replies(event: Dict[str, Any], texts: List[str]) -> Tuple[List[Dict[str, str]], Optional[int]]:
    """Store the bot's replies; returns them, and the conversation id if this very turn
    handed the buyer to an agent (the agent's workbench is told at once)."""
    with session_scope() as session:
        conv = conversations.conversation_for(session, event["shop_id"], event["buyer_id"])
        stored = [
            conversations.record(session, conv, Direction.OUT, Sender.BOT, text, reply_to=event["message_id"])
            for text in texts
        ]
        conversations.mark_answered(session, conv.id, event["message_id"])
        return [_as_reply(m) for m in stored], conv.id if conv.handled_by == Handler.AGENT else None


def _reply(
    event: Dict[str, Any], replies: List[Dict[str, str]], duplicate: bool, with_agent: bool = False
) -> HTTPResponse:
    return response.json(
        {
            "message_id": event["message_id"],
            "duplicate": duplicate,
            "replies": replies,
            "handled_by": (Handler.AGENT if with_agent else Handler.BOT).value,
        }
    )


async def notify_workbench(conversation_id: int, message_id: str) -> None:
    """Tell the console app a buyer message is waiting for an agent (it pushes it, with
    suggested replies, to the agent's workbench). Retried with backoff; the workbench also
    reads the database when it connects, so a lost notice delays, never loses, a message."""
    body = json.dumps({"conversation_id": conversation_id, "message_id": message_id}).encode()
    url = settings.CONSOLE_URL + "/internal/buyer-message"
    delays = (0, 0.5, 2, 5)
    for delay in delays:
        await asyncio.sleep(delay)
        try:
            headers = signing.signed_headers(settings.secret("internal"), body)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                async with http.post(url, data=body, headers=headers) as resp:
                    if resp.status < 500:
                        return
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
    logger.warning("could not notify the workbench of message %s after %d attempts", message_id, len(delays))


class ConsoleInput(InputChannel):
    def __init__(self) -> None:
        # Events being answered right now, by message_id: a retry that arrives meanwhile
        # waits for the same answer instead of starting a second one.
        self._in_flight: Dict[str, "asyncio.Future[List[Dict[str, str]]]"] = {}
        self._sequencer = BuyerSequencer()

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
            unsigned = signing.problem(settings.secret("webhook"), request.headers, body)
            if unsigned:
                # Logged without the body: an unsigned request is not to be trusted or kept.
                logger.warning("rejected unsigned console request from %s: %s", request.ip, unsigned)
                return response.json({"error": unsigned}, status=401)
            try:
                event = parse_event(body)
            except BadEvent as exc:
                logger.info("rejected console event: %s", exc.reason)
                return response.json({"error": exc.reason}, status=exc.status)

            message_id = event["message_id"]
            if message_id in self._in_flight:
                return _reply(event, await asyncio.shield(self._in_flight[message_id]), duplicate=True)
            answer: "asyncio.Future[List[Dict[str, str]]]" = asyncio.get_running_loop().create_future()
            self._in_flight[message_id] = answer  # registered before any await: no double answers
            try:
                stored = await asyncio.to_thread(_store_inbound, event)
                if stored.state == Inbound.ANSWERED:
                    answer.set_result(stored.earlier_replies)
                    return _reply(event, stored.earlier_replies, duplicate=True)
                if stored.with_agent:
                    asyncio.create_task(notify_workbench(stored.conversation_id, message_id))
                    answer.set_result([])
                    return _reply(event, [], duplicate=stored.state != Inbound.NEW, with_agent=True)
                async with self._sequencer.turn(event["buyer_id"], event.get("seq"), stored.last_answered):
                    texts = await self._answer(event, on_new_message)
                    replies, handed_to_agent = await asyncio.to_thread(_store_replies, event, texts)
                if handed_to_agent is not None:
                    asyncio.create_task(notify_workbench(handed_to_agent, message_id))
                answer.set_result(replies)
                return _reply(event, replies, duplicate=stored.state != Inbound.NEW)
            except BaseException as exc:
                if not answer.done():
                    answer.set_exception(exc)
                    answer.exception()  # retrieved here, so an unawaited failure is not reported twice
                raise
            finally:
                self._in_flight.pop(message_id, None)

        return webhook

    async def _answer(
        self, event: Dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> List[str]:
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
        return [m["text"] for m in collector.messages if m.get("text")]
