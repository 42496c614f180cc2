"""The agent workbench: login, live conversations over a websocket, suggested replies, the
queue page. Agents act only inside their own shop, and answer only the buyers they hold.

The Rasa console channel tells this app (POST /internal/buyer-message, signed) when a buyer
message is waiting for an agent; the app pushes it to the agent's open workbench with the
top three suggested replies. Everything else that changes the lists (a new buyer chatting
with the bot, the queue) is noticed by a watcher that looks at the database every second and
pushes each open workbench its new state; the page also asks for it every few seconds.

The same commands the websocket carries are an HTTP API for scripts (/api/workbench/…); each
refusal says in Chinese what is wrong (bot/service/casework.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import defaultdict
from typing import Any, AsyncIterator, Dict, List, Optional, Set

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot import clock, settings, signing
from bot.console import rasa_client
from bot.console.auth import (
    AGENT_COOKIE,
    ROLE_NAMES,
    STATIC,
    agent_page,
    current_agent_id,
    json_error,
    read_json,
    require_agent,
    set_cookie,
)
from bot.service import accounts, agents, casework, delivery, inbox, peak_watch
from bot.service.casework import DeskError, Invalid, NotAllowed
from bot.service.suggestions import as_person, confidence_label, order_slots, suggest
from bot.shop.config import shop
from bot.shop.orders import buyer_orders
from bot.shop.phrases import CATEGORIES, PhraseError, library, shop_slots
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import (
    AfterSaleTicket,
    Agent,
    AgentStatus,
    Buyer,
    Conversation,
    ConversationNote,
    Direction,
    Handler,
    Message,
    Role,
    Sender,
    Shop,
    ShopMode,
)

logger = logging.getLogger(__name__)


# --- login ------------------------------------------------------------------------------------


async def login_page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "login.html")


THROTTLE = web.AppKey("login_throttle", accounts.LoginThrottle)


async def login(request: web.Request) -> web.Response:
    """A session for the right login and password. Too many failures for one login or from one
    address lock it for a while; outside the demo a seeded password must be changed first
    ({"new_password": …} with the same request)."""
    body = await read_json(request)
    login_name, password, new_password = (body.get(k) for k in ("login", "password", "new_password"))
    if not isinstance(login_name, str) or not isinstance(password, str) or len(login_name) > 32:
        raise json_error(web.HTTPBadRequest, "send login and password as text")
    address = request.remote or "?"
    throttle = request.app[THROTTLE]
    if throttle.locked(login_name, address):
        raise json_error(web.HTTPTooManyRequests, "登录失败次数太多，请15分钟后再试 (too many failed logins)")
    with session_scope() as session:
        agent = accounts.authenticate(session, login_name, password)
        if agent is None:
            throttle.failed(login_name, address)
            return web.json_response({"error": "账号或密码不对 (wrong login or password)"}, status=401)
        if agent.must_change_password:
            if not isinstance(new_password, str):
                return web.json_response(
                    {"error": "首次登录请先设置新密码 (set a new password first)", "change_password": True}, status=403
                )
            try:
                accounts.change_password(session, agent, new_password)
            except accounts.PasswordError as err:
                return web.json_response({"error": str(err), "change_password": True}, status=400)
        resp = web.json_response({"name": agent.name, "role": agent.role})
        set_cookie(request, resp, AGENT_COOKIE, accounts.open_session(session, agent, clock.now()))
        return resp


async def change_password(request: web.Request) -> web.Response:
    """An agent's new password; every other session of theirs ends."""
    agent_id = require_agent(request)
    body = await read_json(request)
    old, new = body.get("password"), body.get("new_password")
    if not isinstance(old, str) or not isinstance(new, str):
        raise json_error(web.HTTPBadRequest, "send password and new_password as text")
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        if not accounts.password_matches(old, agent.password_hash):
            raise json_error(web.HTTPForbidden, "原密码不对 (wrong password)")
        try:
            accounts.change_password(session, agent, new)
        except accounts.PasswordError as err:
            raise json_error(web.HTTPBadRequest, str(err)) from None
        resp = web.json_response({"ok": True})
        set_cookie(request, resp, AGENT_COOKIE, accounts.open_session(session, agent, clock.now()))
        return resp


async def logout(request: web.Request) -> web.Response:
    """The session ends here and now (the cookie is worthless afterwards)."""
    agent_id = current_agent_id(request)
    if agent_id is not None:
        with session_scope() as session:
            agent = session.get(Agent, agent_id)
            agents.set_status(session, agent, AgentStatus.AWAY, clock.now())
            agents.move_queue(session, agent.shop_id, shop(agent.shop_id), clock.now())
            accounts.close_session(session, request.cookies.get(AGENT_COOKIE, ""))
            shop_id = agent.shop_id
        await request.app[HUB].send_state_to_shop(shop_id)
    resp = web.json_response({"ok": True})
    resp.del_cookie(AGENT_COOKIE)
    return resp


# --- the queue --------------------------------------------------------------------------------


async def queue_api(request: web.Request) -> web.Response:
    """Who waits and for how long: nobody waits unseen."""
    agent_id = require_agent(request)
    now = clock.now()
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        waiting = agents.queue(session, agent.shop_id, shop(agent.shop_id), now)
        rows = []
        for conv in waiting:
            buyer = session.get(Buyer, (conv.shop_id, conv.buyer_id))
            place = agents.place_in_queue(session, conv, shop(agent.shop_id), now)
            rows.append(
                {
                    "conversation_id": conv.id,
                    "buyer": inbox.display_nick(buyer, conv.buyer_id),
                    "skill": conv.skill,
                    "skill_label": agents.SKILL_LABELS.get(conv.skill, "") if conv.skill else "",
                    "reason": inbox.reason_label(conv.handoff_reason),
                    "waited_seconds": int((now - conv.queued_at).total_seconds()) if conv.queued_at else 0,
                    "position": place.position if place else None,
                }
            )
        pool = [
            {
                "name": a.name,
                "status": a.status,
                "status_label": agents.STATUS_LABELS.get(a.status, ""),
                "load": agents.load(session, a),
                "max": a.max_sessions,
                "skills": a.skills,
                "skill_labels": [agents.SKILL_LABELS.get(s, s) for s in a.skills or []],
            }
            for a in session.execute(select(Agent).where(Agent.shop_id == agent.shop_id)).scalars()
        ]
    return web.json_response({"waiting": rows, "agents": pool})


# --- pushing to agents ------------------------------------------------------------------------


class Hub:
    """Open workbench sockets by agent."""

    def __init__(self) -> None:
        self.sockets: Dict[int, Set[web.WebSocketResponse]] = defaultdict(set)

    async def send(self, agent_id: int, payload: Dict[str, Any]) -> None:
        for ws in list(self.sockets.get(agent_id, ())):
            try:
                await ws.send_json(payload)
            except (ConnectionResetError, RuntimeError):
                self.sockets[agent_id].discard(ws)

    def connected(self) -> List[int]:
        return [agent_id for agent_id, sockets in self.sockets.items() if sockets]

    async def send_state_to_shop(self, shop_id: str) -> None:
        with session_scope() as session:
            ids = [a.id for a in session.execute(select(Agent).where(Agent.shop_id == shop_id)).scalars()]
        for agent_id in ids:
            if self.sockets.get(agent_id):
                await self.send(agent_id, state(agent_id))

    async def send_state_to_all(self) -> None:
        for agent_id in self.connected():
            await self.send(agent_id, state(agent_id))


HUB = web.AppKey("hub", Hub)
WATCH_SECONDS = 1.0


def _change_mark() -> tuple:
    """Changes nothing else announces: a new message or note, a buyer queued or handed on."""
    with session_scope() as session:
        return (
            session.execute(select(func.max(Message.id))).scalar_one(),
            session.execute(select(func.max(ConversationNote.id))).scalar_one(),
            tuple(
                session.execute(
                    select(Conversation.handled_by, func.count(Conversation.id), func.sum(Conversation.agent_id))
                    .where(Conversation.handled_by != Handler.BOT)
                    .group_by(Conversation.handled_by)
                    .order_by(Conversation.handled_by)
                ).all()
            ),
        )


async def watch_changes(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: push every open workbench its new state when the database changed — a
    buyer chatting with the bot, a buyer queued — within about a second."""

    async def loop() -> None:
        last = None
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if not app[HUB].connected():
                last = None
                continue
            try:
                mark = await asyncio.to_thread(_change_mark)
                if last is not None and mark != last:
                    await app[HUB].send_state_to_all()
                last = mark
            except Exception:  # the workbench goes on: the pages also ask every few seconds
                logger.exception("workbench watcher round failed")

    task = asyncio.create_task(loop())
    yield
    task.cancel()


def _agent_name(session, conversation_id: int) -> Optional[str]:
    conv = session.get(Conversation, conversation_id)
    agent = session.get(Agent, conv.agent_id) if conv is not None and conv.agent_id else None
    return agent.name if agent is not None else None


async def suggestions_for(app: web.Application, message_db_id: int) -> List[Dict[str, Any]]:
    """Top three replies a person can send for a stored buyer message, filled for this buyer
    and the order they are talking about; its NLU reading is kept on the message."""
    with session_scope() as session:
        msg = session.get(Message, message_db_id)
        text, buyer_id, seed = msg.text, msg.conversation.buyer_id, msg.message_id or str(msg.id)
        shop_id = msg.conversation.shop_id
        conversation_id = msg.conversation_id
    reading = await rasa_client.parse(app, text)
    with session_scope() as session:
        msg = session.get(Message, message_db_id)
        top = reading.get("intent") or {}
        if top.get("name"):
            msg.intent, msg.confidence = top["name"], top.get("confidence")
        earlier = session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.kind == "order_card")
            .order_by(Message.id.desc())
            .limit(1)
        ).scalars()
        name = _agent_name(session, conversation_id)
        found = suggest(
            session,
            shop(shop_id),
            buyer_id,
            reading.get("intent_ranking") or [],
            seed=seed,
            order_id=inbox.discussed_order(earlier),
            extra={"agent_name": name} if name else None,
        )
        return [
            {**s.as_dict(), "intent_label": inbox.intent_label(s.intent), "sure": confidence_label(s.confidence)}
            for s in found
        ]


async def buyer_message(request: web.Request) -> web.Response:
    """From the Rasa console channel: a buyer message waits for an agent."""
    body = await request.read()
    problem = signing.problem(settings.secret("internal"), request.headers, body)
    if problem:
        return web.json_response({"error": problem}, status=401)
    try:
        event = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return web.json_response({"error": "body is not valid JSON"}, status=400)
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("conversation_id"), int)
        or not isinstance(event.get("message_id"), str)
    ):
        return web.json_response({"error": 'send {"conversation_id": <int>, "message_id": <text>}'}, status=400)
    started = time.perf_counter()
    now = clock.now()
    with session_scope() as session:
        conv = session.get(Conversation, event["conversation_id"])
        if conv is None or conv.agent_id is None:
            return web.json_response({"delivered": False})
        holder = session.get(Agent, conv.agent_id)
        if holder is None or holder.shop_id != conv.shop_id:  # only ever to the shop's own agent
            logger.warning("conversation %s is held by an agent of another shop: not pushed", conv.id)
            return web.json_response({"delivered": False})
        agent_id = conv.agent_id
        msg = conversations.find_message(session, conv.id, event["message_id"])
        if msg is None:
            return web.json_response({"delivered": False})
        cards = inbox.Cards(session, conv.buyer_id, conv.shop_id)
        message, message_db_id = inbox.message_json(msg, cards, now), msg.id
        buyer = inbox.display_nick(session.get(Buyer, (conv.shop_id, conv.buyer_id)), conv.buyer_id)
        # In the peak the bot may have answered a bot-safe question for the agent already.
        bot_replies = [
            inbox.message_json(m, cards, now) for m in conversations.replies_to(session, conv.id, event["message_id"])
        ]
    suggestions = [] if bot_replies else await suggestions_for(request.app, message_db_id)
    await request.app[HUB].send(agent_id, state(agent_id))  # a newly assigned buyer appears in the list
    await request.app[HUB].send(
        agent_id,
        {
            "type": "buyer_message",
            "conversation_id": event["conversation_id"],
            "buyer": buyer,
            "message": message,
            "bot_replies": bot_replies,
            "suggestions": suggestions,
            "suggest_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return web.json_response({"delivered": True})


# --- the workbench's views ----------------------------------------------------------------------


def state(agent_id: int) -> Dict[str, Any]:
    """The agent's whole view: themselves, the shop's mode, their buyers, the queue, the
    buyers the bot is serving."""
    now = clock.now()
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        mine = (
            session.execute(
                select(Conversation)
                .where(Conversation.agent_id == agent.id, Conversation.handled_by == Handler.AGENT)
                .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            )
            .scalars()
            .all()
        )
        with_bot = (
            session.execute(
                select(Conversation)
                .where(Conversation.shop_id == agent.shop_id, Conversation.handled_by == Handler.BOT)
                .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
                .limit(15)
            )
            .scalars()
            .all()
        )
        waiting = agents.queue(session, agent.shop_id, shop(agent.shop_id), now)
        return {
            "type": "state",
            "agent": {
                "id": agent.id,
                "name": agent.name,
                "status": agent.status,
                "status_label": agents.STATUS_LABELS.get(agent.status, ""),
                "load": agents.load(session, agent),
                "max": agent.max_sessions,
                "skills": [agents.SKILL_LABELS.get(s, s) for s in agent.skills or []],
                "role": agent.role,
                "role_label": ROLE_NAMES[Role(agent.role)],
            },
            "mode": conversations.shop_mode(session, agent.shop_id),
            "peak": _peak(session, agent.shop_id),
            "target_seconds": shop(agent.shop_id).workbench.response_target_seconds,
            "mine": inbox.rows(session, mine, now, agent),
            "waiting": inbox.rows(session, waiting[:20], now, agent),
            "with_bot": inbox.rows(session, with_bot, now, agent),
            "queue": len(waiting),
        }


def _peak(session, shop_id: str) -> Dict[str, Any]:
    peak = peak_watch.state(session, shop(shop_id), shop_id, clock.now())
    return {"on": peak.on, "why": peak.why}


def _own_conversation(session, agent: Agent, conversation_id: Any, take: bool = False) -> Conversation:
    """A conversation of the agent's shop (`take`), or one the agent holds."""
    if take:
        return casework.conversation_of_shop(session, agent, conversation_id)
    return casework.own_conversation(session, agent, conversation_id)


async def conversation_view(
    app: web.Application, agent_id: int, conversation_id: Any, history: bool = False
) -> Dict[str, Any]:
    """A conversation as the agent sees it: the chat with its cards, the buyer and their
    orders, notes and tags; with suggestions when the agent holds it (and has now read it)."""
    now = clock.now()
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        conv = casework.conversation_of_shop(session, agent, conversation_id)
        mine = conv.agent_id == agent.id and conv.handled_by == Handler.AGENT
        if mine and not history:
            inbox.read(session, agent, conv, now)
        msgs = (
            session.execute(
                select(Message).where(Message.conversation_id == conv.id).order_by(Message.id.desc()).limit(80)
            )
            .scalars()
            .all()
        )[::-1]
        last_in = next((m for m in reversed(msgs) if m.direction == Direction.IN and m.message_id), None)
        buyer = session.get(Buyer, (conv.shop_id, conv.buyer_id))
        orders = buyer_orders(session, conv.shop_id, conv.buyer_id, limit=5)
        tickets = (
            session.execute(select(AfterSaleTicket).where(AfterSaleTicket.order_id.in_([o.id for o in orders])))
            .scalars()
            .all()
        )
        holder = session.get(Agent, conv.agent_id) if conv.agent_id else None
        cards = inbox.Cards(session, conv.buyer_id, conv.shop_id)
        supervisor = Role(agent.role).allows(Role.SUPERVISOR)
        view = {
            "type": "conversation",
            "id": conv.id,
            "buyer": inbox.display_nick(buyer, conv.buyer_id),
            "buyer_since": f"{buyer.created_at.year}年{buyer.created_at.month}月" if buyer is not None else "",
            "handled_by": conv.handled_by,
            "handler_label": inbox.HANDLER_LABELS[Handler(conv.handled_by)],
            "holder": holder.name if holder is not None else "",
            "mine": mine and not history,
            "history": history,
            "can_take": not mine and (conv.handled_by != Handler.AGENT or supervisor),
            "state": str(conv.state),
            "state_label": inbox.state_label(conv.state),
            "reason": inbox.reason_label(conv.handoff_reason),
            "tags": list(conv.tags or []),
            "suggested_tags": list(casework.SUGGESTED_TAGS),
            "notes": inbox.notes_json(session, casework.notes(session, conv)),
            "messages": [inbox.message_json(m, cards, now) for m in msgs],
            "summary": inbox.summary_json(
                agents.summary(session, conv),
                next((m for m in reversed(msgs) if m.direction == Direction.IN and m.kind != "enter_shop"), None),
            ),
            "orders": [inbox.order_card(o) for o in orders],
            "order_count": len(orders),
            "tickets": [
                {
                    "number": t.number,
                    "kind": inbox.TICKET_KIND_LABELS.get(t.kind, ""),
                    "status": inbox.TICKET_STATUS_LABELS.get(t.status, ""),
                    "reason": t.reason,
                    "due": t.due_at.strftime("%m-%d %H:%M"),
                }
                for t in tickets
            ],
        }
        for o in view["orders"]:
            o.pop("buyer_id", None)
        last_id = last_in.id if last_in is not None and view["mine"] else None
    view["suggestions"] = await suggestions_for(app, last_id) if last_id else []
    return view


def newer_messages(agent_id: int, conversation_id: Any, after: Any) -> Dict[str, Any]:
    """Messages of a conversation of the shop after the one the page shows last."""
    if isinstance(after, bool) or not isinstance(after, int):
        raise Invalid("请求格式不对")
    now = clock.now()
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        conv = casework.conversation_of_shop(session, agent, conversation_id)
        msgs = (
            session.execute(
                select(Message).where(Message.conversation_id == conv.id, Message.id > after).order_by(Message.id)
            )
            .scalars()
            .all()
        )[:100]
        cards = inbox.Cards(session, conv.buyer_id, conv.shop_id)
        return {
            "type": "more",
            "conversation_id": conv.id,
            "messages": [inbox.message_json(m, cards, now) for m in msgs],
        }


def search_phrases(agent_id: int, query: str, conversation_id: Any = None) -> List[Dict[str, Any]]:
    """Phrases matching the query, filled with the shop's facts and the open buyer's order as
    the buyer would read them. One that needs what only a conversation knows (a ticket number)
    cannot be sent as it is, so it is not offered."""
    query = query.strip().lower()
    if not query or len(query) > 20:
        return []
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        phrases = library(agent.shop_id)
        values = dict(shop_slots(agent.shop_id), agent_name=agent.name)
        if str(conversation_id or "").isdigit():
            conv = session.get(Conversation, int(conversation_id))
            if conv is not None and conv.shop_id == agent.shop_id:
                cards = session.execute(
                    select(Message)
                    .where(Message.conversation_id == conv.id, Message.kind == "order_card")
                    .order_by(Message.id.desc())
                    .limit(1)
                ).scalars()
                values.update(order_slots(session, conv.buyer_id, shop(agent.shop_id), inbox.discussed_order(cards)))
    found = []
    for p in phrases.phrases.values():
        haystack = " ".join([p.id, p.title, CATEGORIES[p.category], *p.variants]).lower()
        if query not in haystack:
            continue
        try:
            text = as_person(phrases.render(p.id, values, rng=random.Random(0)))
        except PhraseError:
            continue
        found.append({"id": p.id, "title": p.title, "category": CATEGORIES[p.category], "text": text})
    # Titles that hold the keyword first: /包邮 finds 包邮 before a phrase that mentions it.
    found.sort(key=lambda f: query not in f["title"].lower())
    return found[:20]


async def send_reply(agent_id: int, data: Dict[str, Any]) -> Dict[str, Any]:
    """The agent's reply to their buyer, stored with the phrase and intent it came from and
    whether it was edited (a label for the trainers), and pushed to the console if it wants."""
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Invalid("回复不能为空")
    text = text.strip()
    if len(text) > 2000:
        raise Invalid("一条回复最多2000个字")
    phrase_id, intent = data.get("phrase_id"), data.get("intent")
    intent = intent if isinstance(intent, str) and len(intent) <= 32 else None
    now = clock.now()
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        phrase_id = phrase_id if isinstance(phrase_id, str) and phrase_id in library(agent.shop_id).phrases else None
        conv = casework.own_conversation(session, agent, data.get("conversation_id"))
        conversations.mark_read(session, conv.id, now)  # answering is reading
        msg = conversations.record(session, conv, Direction.OUT, Sender.AGENT, text)
        msg.phrase_id, msg.intent, msg.edited, msg.agent_id = phrase_id, intent, bool(data.get("edited")), agent.id
        sent = {"type": "sent", "conversation_id": conv.id, "message": inbox.message_json(msg, None, now)}
        message_db_id = msg.id
    if delivery.callback_url(agent.shop_id):
        asyncio.create_task(delivery.deliver(message_db_id))
    return sent


# --- commands -------------------------------------------------------------------------------------


def _history(agent_id: int, query: Any) -> Dict[str, Any]:
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        found = casework.search_history(session, agent, query)
        names = {a.id: a.name for a in session.execute(select(Agent).where(Agent.shop_id == agent.shop_id)).scalars()}
        results = [
            {
                "id": f.conversation.id,
                "buyer": f.buyer_nick
                if f.buyer_nick != f.conversation.buyer_id
                else inbox.display_nick(None, f.buyer_nick),
                "matched": f.matched,
                "snippet": f.snippet,
                "state_label": inbox.state_label(f.conversation.state),
                "handler_label": inbox.HANDLER_LABELS[Handler(f.conversation.handled_by)],
                "agent": names.get(f.conversation.agent_id, "") if f.conversation.agent_id else "",
                "tags": list(f.conversation.tags or []),
                "when": f"{f.conversation.last_message_at.month}月{f.conversation.last_message_at.day}日 "
                f"{f.conversation.last_message_at:%H:%M}",
            }
            for f in found
        ]
    return {"type": "history", "q": query if isinstance(query, str) else "", "results": results}


def _colleagues(agent_id: int) -> Dict[str, Any]:
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        return {
            "type": "colleagues",
            "agents": [inbox.colleague_json(session, a) for a in casework.colleagues(session, agent)],
        }


async def handle(app: web.Application, agent_id: int, data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """One command from the workbench; returns the answer to send back (if any). Refusals
    raise DeskError (or PermissionError) with the reason in Chinese."""
    kind = data.get("type")
    now = clock.now()
    cid = data.get("conversation_id")
    if kind == "refresh":
        return state(agent_id)
    if kind == "open":
        return await conversation_view(app, agent_id, cid)
    if kind == "open_history":
        return await conversation_view(app, agent_id, cid, history=True)
    if kind == "more":
        return newer_messages(agent_id, cid, data.get("after"))
    if kind == "search":
        q = data.get("q") if isinstance(data.get("q"), str) else ""
        return {"type": "phrases", "q": q, "results": search_phrases(agent_id, q, cid)}
    if kind == "history":
        return _history(agent_id, data.get("q"))
    if kind == "colleagues":
        return _colleagues(agent_id)
    if kind == "send":
        sent = await send_reply(agent_id, data)
        await app[HUB].send(agent_id, state(agent_id))  # the buyer no longer waits
        return sent
    answer: Optional[Dict[str, Any]] = None
    push_shop, view_after, incoming = True, False, None
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        shop_id = agent.shop_id
        if kind == "read":
            conv = casework.conversation_of_shop(session, agent, cid)
            answer = {"type": "read", "conversation_id": conv.id, "marked": inbox.read(session, agent, conv, now)}
            push_shop = False
        elif kind == "take_over":
            conv = casework.conversation_of_shop(session, agent, cid)
            if conv.agent_id not in (None, agent.id) and conv.handled_by == Handler.AGENT:
                if not Role(agent.role).allows(Role.SUPERVISOR):
                    raise NotAllowed("这位买家正由其他客服接待：只有主管可以接过来")
            agents.take_over(conv, agent, now)
            view_after = True
        elif kind == "give_back":
            conv = casework.own_conversation(session, agent, cid)
            holder = session.get(Agent, conv.agent_id)
            agents.give_back(session, conv)
            agents.announce(session, conv, "agent.left", {"agent_name": holder.name})
            agents.move_queue(session, agent.shop_id, shop(agent.shop_id), now)
            view_after = True
        elif kind == "transfer":
            conv = casework.own_conversation(session, agent, cid)
            colleague = casework.transfer(session, conv, agent, data.get("to_agent_id"), data.get("note"), now)
            buyer = inbox.display_nick(session.get(Buyer, (conv.shop_id, conv.buyer_id)), conv.buyer_id)
            note = casework.latest_transfer(session, conv)
            incoming = (colleague.id, {"type": "incoming", "conversation_id": conv.id, "buyer": buyer,
                                       "from": agent.name, "note": note.text if note else ""})  # fmt: skip
            view_after = True
        elif kind == "set_state":
            conv = casework.own_conversation(session, agent, cid)
            casework.set_state(session, conv, agent, data.get("state"), shop(agent.shop_id), now)
            view_after = True
        elif kind == "note":
            conv = casework.conversation_of_shop(session, agent, cid)
            casework.add_note(session, conv, agent, data.get("text"), now)
            answer = {"type": "notes", "conversation_id": conv.id,
                      "notes": inbox.notes_json(session, casework.notes(session, conv))}  # fmt: skip
            push_shop = False
        elif kind in ("tag_add", "tag_remove"):
            conv = casework.conversation_of_shop(session, agent, cid)
            change = casework.add_tag if kind == "tag_add" else casework.remove_tag
            answer = {"type": "tags", "conversation_id": conv.id, "tags": change(conv, data.get("tag"))}
        elif kind == "status":
            if data.get("status") not in set(AgentStatus):
                raise Invalid("状态只能是：在线、忙碌、离开")
            agents.set_status(session, agent, AgentStatus(data["status"]), now)
            agents.move_queue(session, agent.shop_id, shop(agent.shop_id), now)
        elif kind == "mode":
            if not Role(agent.role).allows(Role.SUPERVISOR):
                raise NotAllowed("只有主管可以切换店铺模式")
            if data.get("mode") not in set(ShopMode):
                raise Invalid("模式只能是：自动、辅助、大促")
            session.get(Shop, agent.shop_id).mode = ShopMode(data["mode"])
        else:
            raise Invalid("没有这个操作")
        conversation_id = conv.id if kind not in ("status", "mode") else None
    if push_shop:
        await app[HUB].send_state_to_shop(shop_id)
    if incoming is not None:
        await app[HUB].send(*incoming)
    if view_after:
        return await conversation_view(app, agent_id, conversation_id)
    return answer


def _refusal(exc: BaseException) -> str:
    """What the page shows for a refused command: our reasons as they are, else a plain one."""
    if isinstance(exc, (DeskError, PermissionError)) and str(exc):
        return str(exc)
    return "请求格式不对，请刷新页面后再试"


async def socket(request: web.Request) -> web.WebSocketResponse:
    agent_id = require_agent(request)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    hub = request.app[HUB]
    hub.sockets[agent_id].add(ws)
    try:
        await ws.send_json(state(agent_id))
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = None
            try:
                data = json.loads(msg.data)
                if not isinstance(data, dict):
                    raise ValueError("a command is a JSON object")
                if current_agent_id(request) != agent_id:  # logged out or expired meanwhile
                    await ws.send_json({"type": "error", "error": "登录已过期，请重新登录", "login": True})
                    break
                answer = await handle(request.app, agent_id, data)
            except (DeskError, PermissionError, ValueError, KeyError, TypeError, RecursionError) as exc:
                command = data.get("type") if isinstance(data, dict) else None
                answer = {"type": "error", "error": _refusal(exc), "command": command}
            if answer is not None:
                await ws.send_json(answer)
    finally:
        hub.sockets[agent_id].discard(ws)
    return ws


# --- the same commands over HTTP -----------------------------------------------------------------

HTTP_COMMANDS = {"open", "read", "take_over", "give_back", "transfer", "set_state", "note", "tag_add", "tag_remove"}


async def _answer_http(request: web.Request, data: Dict[str, Any]) -> web.Response:
    agent_id = require_agent(request)
    if data.get("type") in HTTP_COMMANDS:  # a command that changes something sends its fields as JSON
        try:
            body = json.loads(await request.text() or "{}")
        except (ValueError, RecursionError, UnicodeDecodeError):
            raise json_error(web.HTTPBadRequest, "请求内容要用 JSON 格式") from None
        if not isinstance(body, dict):
            raise json_error(web.HTTPBadRequest, "请求内容要是一个 JSON 对象")
        data = {**body, "type": data["type"]}
    try:
        answer = await handle(request.app, agent_id, data)
    except DeskError as exc:
        status = {403: web.HTTPForbidden, 404: web.HTTPNotFound}.get(exc.status, web.HTTPBadRequest)
        raise json_error(status, str(exc)) from None
    except PermissionError as exc:
        raise json_error(web.HTTPForbidden, _refusal(exc)) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise json_error(web.HTTPBadRequest, _refusal(exc)) from None
    return web.json_response(answer if answer is not None else {"ok": True})


async def command_api(request: web.Request) -> web.Response:
    """POST /api/workbench/<command> with the command's fields as JSON."""
    command = request.match_info["command"]
    if command not in HTTP_COMMANDS:
        require_agent(request)
        raise json_error(web.HTTPNotFound, "没有这个操作")
    return await _answer_http(request, {"type": command})


async def history_api(request: web.Request) -> web.Response:
    """GET /api/workbench/history?q=…: the shop's past conversations that match."""
    return await _answer_http(request, {"type": "history", "q": request.query.get("q", "")})


async def colleagues_api(request: web.Request) -> web.Response:
    return await _answer_http(request, {"type": "colleagues"})


async def state_api(request: web.Request) -> web.Response:
    return await _answer_http(request, {"type": "refresh"})


def add_routes(app: web.Application) -> None:
    app[HUB] = Hub()
    app[THROTTLE] = accounts.LoginThrottle()
    app.cleanup_ctx.append(watch_changes)
    app.router.add_get("/login", login_page)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/password", change_password)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/workbench", agent_page("workbench.html"))
    app.router.add_get("/queue", agent_page("queue.html"))
    app.router.add_get("/api/queue", queue_api)
    app.router.add_get("/api/workbench/state", state_api)
    app.router.add_get("/api/workbench/history", history_api)
    app.router.add_get("/api/workbench/colleagues", colleagues_api)
    app.router.add_post("/api/workbench/{command}", command_api)
    app.router.add_get("/ws", socket)
    app.router.add_post("/internal/buyer-message", buyer_message)
