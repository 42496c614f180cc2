"""Rasa input channel for the shop console protocol (docs/console-protocol.md).

POST /webhooks/console/webhook with one signed buyer event as JSON. The event is checked,
stored, and then either answered by the bot — the replies are stored and returned in the
response — or, when a person holds the buyer, passed to that agent's workbench. A retried
event (same message_id) gets the replies already given instead of a second answer, and a
buyer's numbered messages are answered in order, by whichever replica receives them
(connectors/buyer_turns.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import clock, settings, signing
from bot.service import agents, peak_watch
from bot.shop.config import is_shop, shop
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import Handler
from connectors import rasa_speedups, shop_models, tracker_store
from connectors.buyer_turns import BuyerLocks, LockTimeout, buyer_locks, wait_for_predecessor

# The Rasa server loads this module at start-up (the credentials bot/servers.py writes), before its model.
rasa_speedups.apply()
shop_models.apply()

logger = logging.getLogger(__name__)

# Which Rasa replica answered (`xiaoer run --replicas`), for whoever traces a message.
REPLICA_HEADER = {"X-Xiaoer-Replica": os.environ["XIAOER_REPLICA"]} if os.environ.get("XIAOER_REPLICA") else {}
WARM_UP_TEXT = "在吗 这款M码包邮吗 今天能发货吗"
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


def sender_key(event: Dict[str, Any]) -> str:
    """Whose tracker and lock a message is: the buyer's, in the shop it came to. A buyer id is
    the platform's, so the same buyer writing to two shops has two conversations and two
    memories; the default shop keeps the bare buyer id (its trackers from before many shops)."""
    if event["shop_id"] == shop().shop_id:
        return event["buyer_id"]
    return f"{event['shop_id']}/{event['buyer_id']}"


def read_body(body: bytes) -> Any:
    """The body's JSON, within the size an event may have; raises BadEvent."""
    if len(body) > MAX_BODY_BYTES:
        raise BadEvent(413, f"body too large: {len(body)} bytes, the limit is {MAX_BODY_BYTES}")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadEvent(400, "body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadEvent(400, f"body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except (ValueError, RecursionError):  # numbers of thousands of digits, nesting thousands deep
        raise BadEvent(400, "body is not valid JSON: a number or nesting beyond what an event holds") from None


def claimed_shop(event: Any) -> Optional[str]:
    """The shop a (not yet checked) event names, read before its signature is checked only to
    choose the key it must be signed with: a shop with a key of its own accepts only events
    signed with it."""
    shop_id = event.get("shop_id") if isinstance(event, dict) else None
    return shop_id if isinstance(shop_id, str) and is_shop(shop_id) else None


def parse_event(body: bytes) -> Dict[str, Any]:
    """Check one inbound event; raises BadEvent with the HTTP status and a reason."""
    return check_event(read_body(body))


def check_event(event: Any) -> Dict[str, Any]:
    """Check a decoded event (read_body); raises BadEvent."""
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
    if not is_shop(event["shop_id"]):
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
    # In the peak the bot may answer this agent's buyer a bot-safe question (peak_watch).
    bot_may_answer: bool = False


def _store_inbound(event: Dict[str, Any]) -> Stored:
    """Store the buyer message (once), and decide who answers it. Runs under the buyer's
    lock, so two first messages arriving together find one conversation, not two."""
    with session_scope() as session:
        conv = conversations.conversation_for(session, event["shop_id"], event["buyer_id"], event.get("buyer_nick"))
        last_answered = conversations.last_answered_seq(session, conv) if "seq" in event else 0
        message_id, text, kind, seq = event["message_id"], event["stored_text"], event["type"], event.get("seq")
        if conversations.record_inbound(session, conv, message_id, text, kind, seq):
            state = Inbound.NEW
        elif conversations.find_message(session, conv.id, message_id).answered_at is not None:
            earlier = [_as_reply(m) for m in conversations.replies_to(session, conv.id, message_id)]
            return Stored(Inbound.ANSWERED, earlier, last_answered, conv.id, False)
        else:
            state = Inbound.UNANSWERED
        now = clock.now()
        agents.route_inbound(session, conv, now)
        with_agent = conv.handled_by == Handler.AGENT
        bot_may_answer = peak_watch.bot_may_answer_now(session, conv, now)
        if with_agent and not bot_may_answer:
            conversations.mark_answered(session, conv.id, event["message_id"])  # delivered to a person
        return Stored(state, [], last_answered, conv.id, with_agent, bot_may_answer)


def _delivered_to_person(conversation_id: int, message_id: str) -> None:
    with session_scope() as session:
        conversations.mark_answered(session, conversation_id, message_id)


def _order_state(conversation_id: int, seq: int) -> Tuple[int, bool]:
    with session_scope() as session:
        return conversations.order_state(session, conversation_id, seq)


def _answered_meanwhile(conversation_id: int, message_id: str) -> Optional[List[Dict[str, str]]]:
    """The replies, if the same message was answered while this request waited its turn (the
    console retried it, perhaps to another replica); else None."""
    with session_scope() as session:
        msg = conversations.find_message(session, conversation_id, message_id)
        if msg is None or msg.answered_at is None:
            return None
        return [_as_reply(m) for m in conversations.replies_to(session, conversation_id, message_id)]


def _as_reply(message) -> Dict[str, str]:
    return {"id": f"r{message.id}", "text": message.text}


def _store_replies(
    conversation_id: int, message_id: str, texts: List[str], trackers: List[tracker_store.TrackerWrite]
) -> Tuple[List[Dict[str, str]], Optional[int]]:
    """Store the bot's replies, mark the message answered and write Rasa's tracker, in one
    transaction; returns the replies, and the conversation id if this very turn handed the
    buyer to an agent (the agent's workbench is told at once)."""
    with session_scope() as session:
        for change in trackers:
            tracker_store.write(session.connection(), change)
        stored = conversations.record_replies(session, conversation_id, message_id, texts)
        with_agent = conversations.handler_of(session, conversation_id) == Handler.AGENT
        return [{"id": f"r{id_}", "text": text} for id_, text in stored], conversation_id if with_agent else None


def _reply(
    event: Dict[str, Any], replies: List[Dict[str, str]], duplicate: bool, with_agent: bool = False
) -> HTTPResponse:
    return response.json(
        {
            "message_id": event["message_id"],
            "duplicate": duplicate,
            "replies": replies,
            "handled_by": (Handler.AGENT if with_agent else Handler.BOT).value,
        },
        headers=REPLICA_HEADER,
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
        self._locks: Optional[BuyerLocks] = None  # made on the server's event loop
        self._warm = False
        self._app: Any = None  # the Rasa server's app: its agent reads bot-safe questions in the peak
        self._shop_agents: Dict[str, Any] = {}  # shops answered with a model of their own (shop_models)

    @classmethod
    def name(cls) -> str:
        return "console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("console_webhook", __name__)

        @webhook.listener("after_server_start")
        async def warm_up(app: Any, _loop: Any) -> None:
            """Read a message before the first buyer's: the first parse loads dictionaries
            and modules (about two seconds) that would otherwise stall the first buyers."""
            self._app = app
            agent = getattr(app.ctx, "agent", None)
            if agent is not None and agent.is_ready():
                self._shop_agents = shop_models.load_agents(agent)
                for each in [agent, *self._shop_agents.values()]:
                    await each.parse_message(WARM_UP_TEXT)
            self._warm = True

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            """Ready once warm: the load balancer and `xiaoer run` wait for this."""
            return response.json({"status": "ok" if self._warm else "warming up"}, status=200 if self._warm else 503)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            try:  # read once: the shop it names picks the key, and the checks follow the signature's
                decoded, unreadable = read_body(body), None
            except BadEvent as exc:
                decoded, unreadable = None, exc
            unsigned = signing.problem(settings.secret("webhook", claimed_shop(decoded)), request.headers, body)
            if unsigned:
                # Logged without the body: an unsigned request is not to be trusted or kept.
                logger.warning("rejected unsigned console request from %s: %s", request.ip, unsigned)
                return response.json({"error": unsigned}, status=401)
            try:
                if unreadable is not None:
                    raise unreadable
                event = check_event(decoded)
            except BadEvent as exc:
                logger.info("rejected console event: %s", exc.reason)
                return response.json({"error": exc.reason}, status=exc.status)
            try:
                return await self._handle(event, on_new_message)
            except LockTimeout as exc:
                logger.warning("%s", exc)  # the message is stored; the console's retry answers it
                return response.json({"error": "busy: retry this message"}, status=503)

        return webhook

    async def _handle(
        self, event: Dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Store, answer in the buyer's turn, store the replies. A retry of a message (same
        message_id), to this replica or another, gets the replies already given."""
        if self._locks is None:
            self._locks = buyer_locks(settings.redis_url())
        buyer, seq = sender_key(event), event.get("seq")
        async with self._locks.hold(buyer):
            stored = await asyncio.to_thread(_store_inbound, event)
            if stored.state == Inbound.ANSWERED:
                return _reply(event, stored.earlier_replies, duplicate=True)
            if stored.with_agent and not (stored.bot_may_answer and await self._bot_safe(event)):
                if stored.bot_may_answer:
                    await asyncio.to_thread(_delivered_to_person, stored.conversation_id, event["message_id"])
                asyncio.create_task(notify_workbench(stored.conversation_id, event["message_id"]))
                return _reply(event, [], duplicate=stored.state != Inbound.NEW, with_agent=True)
            if seq is None or stored.last_answered >= seq - 1:
                return await self._answer_and_store(event, stored, on_new_message)
        # A numbered message whose predecessor is not answered yet waits outside the lock, so
        # the predecessor can be stored and answered meanwhile — by any replica.
        await wait_for_predecessor(lambda: asyncio.to_thread(_order_state, stored.conversation_id, seq), seq)
        async with self._locks.hold(buyer):
            earlier = await asyncio.to_thread(_answered_meanwhile, stored.conversation_id, event["message_id"])
            if earlier is not None:
                return _reply(event, earlier, duplicate=True)
            return await self._answer_and_store(event, stored, on_new_message)

    def _shop_agent(self, shop_id: str) -> Any:
        """The Rasa agent that reads this shop's buyers: the shop's own model's, or the server's."""
        return self._shop_agents.get(shop_id) or getattr(getattr(self._app, "ctx", None), "agent", None)

    async def _bot_safe(self, event: Dict[str, Any]) -> bool:
        """Is this a question the shop lets the bot answer for its saturated agents?"""
        agent = self._shop_agent(event["shop_id"])
        if agent is None or not agent.is_ready():
            return False
        parsed = await agent.parse_message(event["rasa_text"])
        return peak_watch.bot_safe((parsed.get("intent") or {}).get("name"), shop(event["shop_id"]))

    async def _answer_and_store(
        self, event: Dict[str, Any], stored: Stored, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        with tracker_store.writes_deferred() as trackers:
            texts = await self._answer(event, stored.conversation_id, on_new_message)
        replies, handed_to_agent = await asyncio.to_thread(
            _store_replies, stored.conversation_id, event["message_id"], texts, list(trackers.values())
        )
        if handed_to_agent is not None:
            asyncio.create_task(notify_workbench(handed_to_agent, event["message_id"]))
        return _reply(event, replies, duplicate=stored.state != Inbound.NEW)

    async def _answer(
        self, event: Dict[str, Any], conversation_id: int, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> List[str]:
        collector = CollectingOutputChannel()
        own_model = self._shop_agents.get(event["shop_id"])
        await (own_model.handle_message if own_model else on_new_message)(
            UserMessage(
                event["rasa_text"],
                collector,
                sender_id=sender_key(event),
                input_channel=self.name(),
                message_id=event["message_id"],
                # the actions label the stored message by conversation and message id
                metadata={
                    "shop_id": event["shop_id"],
                    "buyer_id": event["buyer_id"],
                    "buyer_nick": event.get("buyer_nick"),
                    "conversation_id": conversation_id,
                },
            )
        )
        return [m["text"] for m in collector.messages if m.get("text")]
