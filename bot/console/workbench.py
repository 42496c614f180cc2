"""The agent workbench: login, live conversations over a websocket, suggested replies, the
queue page. Agents act only inside their own shop and only on conversations they hold.

The Rasa console channel tells this app (POST /internal/buyer-message, signed) when a buyer
message is waiting for an agent; the app pushes it to the agent's open workbench with the
top three suggested replies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import defaultdict
from typing import Any, Dict, List, Optional, Set

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot import clock, settings, signing
from bot.console import rasa_client
from bot.console.auth import (
    AGENT_COOKIE,
    STATIC,
    agent_page,
    current_agent_id,
    json_error,
    read_json,
    require_agent,
    set_cookie,
)
from bot.service import accounts, agents, delivery, peak_watch
from bot.service.suggestions import order_slots, suggest
from bot.shop.config import shop
from bot.shop.orders import describe
from bot.shop.phrases import CATEGORIES, PhraseError, library, shop_slots
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import (
    AfterSaleTicket,
    Agent,
    AgentStatus,
    Buyer,
    Conversation,
    Direction,
    Handler,
    Message,
    Order,
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
            agents.move_queue(session, agent.shop_id, shop(), clock.now())
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
        waiting = agents.queue(session, agent.shop_id, shop(), now)
        rows = []
        for conv in waiting:
            buyer = session.get(Buyer, conv.buyer_id)
            place = agents.place_in_queue(session, conv, shop(), now)
            rows.append(
                {
                    "conversation_id": conv.id,
                    "buyer": buyer.nick if buyer else conv.buyer_id,
                    "skill": conv.skill,
                    "reason": conv.handoff_reason,
                    "waited_seconds": int((now - conv.queued_at).total_seconds()) if conv.queued_at else 0,
                    "position": place.position if place else None,
                }
            )
        pool = [
            {
                "name": a.name,
                "status": a.status,
                "load": agents.load(session, a),
                "max": a.max_sessions,
                "skills": a.skills,
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
            except ConnectionResetError:
                self.sockets[agent_id].discard(ws)

    async def send_state_to_shop(self, shop_id: str) -> None:
        with session_scope() as session:
            ids = [a.id for a in session.execute(select(Agent).where(Agent.shop_id == shop_id)).scalars()]
        for agent_id in ids:
            if self.sockets.get(agent_id):
                await self.send(agent_id, state(agent_id))


HUB = web.AppKey("hub", Hub)


async def suggestions_for(app: web.Application, message_db_id: int) -> List[Dict[str, Any]]:
    """Top three replies for a stored buyer message; its NLU reading is kept on it."""
    with session_scope() as session:
        msg = session.get(Message, message_db_id)
        text, buyer_id, seed = msg.text, msg.conversation.buyer_id, msg.message_id or str(msg.id)
    reading = await rasa_client.parse(app, text)
    with session_scope() as session:
        msg = session.get(Message, message_db_id)
        top = reading.get("intent") or {}
        if top.get("name"):
            msg.intent, msg.confidence = top["name"], top.get("confidence")
        return [s.as_dict() for s in suggest(session, shop(), buyer_id, reading.get("intent_ranking") or [], seed=seed)]


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
    with session_scope() as session:
        conv = session.get(Conversation, event["conversation_id"])
        if conv is None or conv.agent_id is None:
            return web.json_response({"delivered": False})
        agent_id = conv.agent_id
        msg = conversations.find_message(session, conv.id, event["message_id"])
        if msg is None:
            return web.json_response({"delivered": False})
        message, message_db_id = _message_json(msg), msg.id
        # In the peak the bot may have answered a bot-safe question for the agent already.
        bot_replies = [_message_json(m) for m in conversations.replies_to(session, conv.id, event["message_id"])]
    suggestions = [] if bot_replies else await suggestions_for(request.app, message_db_id)
    await request.app[HUB].send(agent_id, state(agent_id))  # a newly assigned buyer appears in the list
    await request.app[HUB].send(
        agent_id,
        {
            "type": "buyer_message",
            "conversation_id": event["conversation_id"],
            "message": message,
            "bot_replies": bot_replies,
            "suggestions": suggestions,
            "suggest_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return web.json_response({"delivered": True})


# --- the workbench socket ---------------------------------------------------------------------


def _message_json(m: Message) -> Dict[str, Any]:
    return {"id": m.id, "sender": m.sender, "text": m.text, "kind": m.kind, "time": m.created_at.strftime("%H:%M")}


def state(agent_id: int) -> Dict[str, Any]:
    """The agent's whole view: themselves, the shop's mode, their buyers, the queue."""
    now = clock.now()
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        mine = (
            session.execute(
                select(Conversation)
                .where(Conversation.agent_id == agent.id, Conversation.handled_by == Handler.AGENT)
                .order_by(Conversation.last_message_at.desc())
            )
            .scalars()
            .all()
        )
        with_bot = (
            session.execute(
                select(Conversation)
                .where(Conversation.shop_id == agent.shop_id, Conversation.handled_by == Handler.BOT)
                .order_by(Conversation.last_message_at.desc())
                .limit(10)
            )
            .scalars()
            .all()
        )
        waiting = agents.queue(session, agent.shop_id, shop(), now)

        def row(c: Conversation) -> Dict[str, Any]:
            buyer = session.get(Buyer, c.buyer_id)
            last = session.execute(
                select(Message).where(Message.conversation_id == c.id).order_by(Message.id.desc()).limit(1)
            ).scalar_one_or_none()
            return {
                "id": c.id,
                "buyer": buyer.nick if buyer else c.buyer_id,
                "reason": c.handoff_reason,
                "last": last.text[:40] if last else "",
            }

        return {
            "type": "state",
            "agent": {
                "name": agent.name,
                "status": agent.status,
                "load": agents.load(session, agent),
                "max": agent.max_sessions,
                "skills": agent.skills,
                "role": agent.role,
            },
            "mode": conversations.shop_mode(session, agent.shop_id),
            "peak": _peak(session, agent.shop_id),
            "mine": [row(c) for c in mine],
            "with_bot": [row(c) for c in with_bot],
            "queue": len(waiting),
        }


def _peak(session, shop_id: str) -> Dict[str, Any]:
    peak = peak_watch.state(session, shop(), shop_id, clock.now())
    return {"on": peak.on, "why": peak.why}


def _own_conversation(session, agent: Agent, conversation_id: Any, take: bool = False) -> Conversation:
    conv = session.get(Conversation, int(conversation_id)) if str(conversation_id).isdigit() else None
    if conv is None or conv.shop_id != agent.shop_id:
        raise PermissionError("not a conversation of your shop")
    if not take and conv.agent_id != agent.id:
        raise PermissionError("this buyer is not yours: take over first")
    return conv


async def conversation_view(app: web.Application, agent_id: int, conversation_id: Any) -> Dict[str, Any]:
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        conv = _own_conversation(session, agent, conversation_id, take=True)
        msgs = (
            session.execute(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id))
            .scalars()
            .all()
        )
        last_in = next((m for m in reversed(msgs) if m.direction == Direction.IN and m.message_id), None)
        orders = (
            session.execute(
                select(Order).where(Order.buyer_id == conv.buyer_id).order_by(Order.created_at.desc()).limit(5)
            )
            .scalars()
            .all()
        )
        tickets = (
            session.execute(select(AfterSaleTicket).where(AfterSaleTicket.order_id.in_([o.id for o in orders])))
            .scalars()
            .all()
        )
        view = {
            "type": "conversation",
            "id": conv.id,
            "handled_by": conv.handled_by,
            "mine": conv.agent_id == agent.id,
            "messages": [_message_json(m) for m in msgs[-50:]],
            "summary": agents.summary(session, conv),
            "orders": [{"id": o.id, "label": describe(o), "total": o.total_fen / 100, "note": o.note} for o in orders],
            "tickets": [
                {
                    "number": t.number,
                    "kind": t.kind.value,
                    "status": t.status.value,
                    "reason": t.reason,
                    "due": t.due_at.strftime("%m-%d %H:%M"),
                }
                for t in tickets
            ],
        }
        last_id = last_in.id if last_in else None
    view["suggestions"] = await suggestions_for(app, last_id) if last_id else []
    return view


def search_phrases(agent_id: int, query: str, conversation_id: Any = None) -> List[Dict[str, Any]]:
    """Phrases matching the query, filled with the shop's facts and the open buyer's order as
    the buyer would read them. One that needs what only a conversation knows (a ticket number)
    cannot be sent as it is, so it is not offered."""
    query = query.strip().lower()
    if not query:
        return []
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        values = dict(shop_slots())
        if str(conversation_id or "").isdigit():
            conv = session.get(Conversation, int(conversation_id))
            if conv is not None and conv.shop_id == agent.shop_id:
                values.update(order_slots(session, conv.buyer_id, shop()))
    found = []
    for p in library().phrases.values():
        haystack = " ".join([p.id, p.title, *p.variants]).lower()
        if query not in haystack:
            continue
        try:
            text = library().render(p.id, values, rng=random.Random(0))
        except PhraseError:
            continue
        found.append({"id": p.id, "title": p.title, "category": CATEGORIES[p.category], "text": text})
    return found[:20]


async def send_reply(agent_id: int, data: Dict[str, Any]) -> Dict[str, Any]:
    """The agent's reply to their buyer, stored with the phrase and intent it came from and
    whether it was edited (a label for the trainers), and pushed to the console if it wants."""
    text = str(data.get("text", "")).strip()
    if not text or len(text) > 2000:
        return {"type": "error", "error": "a reply needs 1–2,000 characters"}
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        conv = _own_conversation(session, agent, data.get("conversation_id"))
        msg = conversations.record(session, conv, Direction.OUT, Sender.AGENT, text)
        msg.phrase_id, msg.intent, msg.edited = data.get("phrase_id"), data.get("intent"), bool(data.get("edited"))
        sent = {"type": "sent", "conversation_id": conv.id, "message": _message_json(msg)}
        message_db_id = msg.id
    if delivery.callback_url():
        asyncio.create_task(delivery.deliver(message_db_id))
    return sent


async def handle(app: web.Application, agent_id: int, data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """One command from the workbench; returns the answer to send back (if any)."""
    kind = data.get("type")
    now = clock.now()
    if kind == "open":
        return await conversation_view(app, agent_id, data.get("conversation_id"))
    if kind == "search":
        return {
            "type": "phrases",
            "results": search_phrases(agent_id, str(data.get("q", "")), data.get("conversation_id")),
        }
    if kind == "send":
        return await send_reply(agent_id, data)
    with session_scope() as session:
        agent = session.get(Agent, agent_id)
        if kind == "take_over":
            conv = _own_conversation(session, agent, data.get("conversation_id"), take=True)
            if conv.agent_id not in (None, agent.id) and not Role(agent.role).allows(Role.SUPERVISOR):
                raise PermissionError("这位买家正由其他客服接待：只有主管可以接过来")
            agents.take_over(conv, agent)
        elif kind == "give_back":
            conv = _own_conversation(session, agent, data.get("conversation_id"))
            agents.give_back(session, conv)
            agents.announce(session, conv, "agent.left", {"agent_name": agent.name})
            agents.move_queue(session, agent.shop_id, shop(), now)
        elif kind == "status" and data.get("status") in set(AgentStatus):
            agents.set_status(session, agent, AgentStatus(data["status"]), now)
            agents.move_queue(session, agent.shop_id, shop(), now)
        elif kind == "mode" and data.get("mode") in set(ShopMode):
            if not Role(agent.role).allows(Role.SUPERVISOR):
                raise PermissionError("只有主管可以切换店铺模式")
            session.get(Shop, agent.shop_id).mode = ShopMode(data["mode"])
        else:
            return {"type": "error", "error": f"unknown command: {kind}"}
        shop_id = agent.shop_id
    await app[HUB].send_state_to_shop(shop_id)
    if kind == "take_over":
        return await conversation_view(app, agent_id, data.get("conversation_id"))
    return None


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
            try:
                data = json.loads(msg.data)
                if not isinstance(data, dict):
                    raise ValueError("a command is a JSON object")
                answer = await handle(request.app, agent_id, data)
            except RecursionError:
                answer = {"type": "error", "error": "a command is a JSON object"}
            except (PermissionError, ValueError, KeyError, TypeError) as exc:
                answer = {"type": "error", "error": str(exc)}
            if answer is not None:
                await ws.send_json(answer)
    finally:
        hub.sockets[agent_id].discard(ws)
    return ws


def add_routes(app: web.Application) -> None:
    app[HUB] = Hub()
    app[THROTTLE] = accounts.LoginThrottle()
    app.router.add_get("/login", login_page)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/password", change_password)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/workbench", agent_page("workbench.html"))
    app.router.add_get("/queue", agent_page("queue.html"))
    app.router.add_get("/api/queue", queue_api)
    app.router.add_get("/ws", socket)
    app.router.add_post("/internal/buyer-message", buyer_message)
