"""Who is asking, and what they may do.

- **Agents** log in (bot/service/accounts.py): the cookie carries a random session token the
  database can revoke; it expires with the shift and ends at logout or a password change.
  Each agent has a role (agent < trainer < supervisor) and each page and command asks for one.
- **Buyers** on the store chat page are named by a signed cookie. A visitor is a fresh guest;
  a known buyer needs proof: the console platform's signed identity, or — in the loopback
  demo only — one of the demo buyers.
- **Requests that change something** come from this site (the Origin, when the browser sends
  one, is this host's) and, with a body, send JSON: a form on another site can't post here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Awaitable, Callable, Optional, Tuple

from aiohttp import web

from bot import clock, settings, signing
from bot.service import accounts
from bot.store.db import session_scope
from bot.store.models import Role

STATIC = Path(__file__).parent / "static"
AGENT_COOKIE = "xiaoer_session"
BUYER_COOKIE = "xiaoer_buyer"
MAX_JSON_DEPTH_ERRORS = (ValueError, RecursionError, UnicodeDecodeError)


def json_error(status: type, message: str) -> web.HTTPException:
    """An HTTP error whose body is {"error": message}, for the pages' scripts to show."""
    return status(text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json")


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


def set_cookie(request: web.Request, resp: web.StreamResponse, name: str, value: str) -> None:
    resp.set_cookie(name, value, httponly=True, samesite="Strict", secure=_secure(request),
                    max_age=accounts.SESSION_HOURS * 3600 if name == AGENT_COOKIE else None)  # fmt: skip


# --- agents -------------------------------------------------------------------------------------


def current_agent(request: web.Request) -> Optional[Tuple[int, Role, bool]]:
    """The logged-in agent's id, role and whether their password must change first; None if
    the session is unknown, ended or expired."""
    token = request.cookies.get(AGENT_COOKIE, "")
    if not token:
        return None
    with session_scope() as session:
        agent = accounts.session_agent(session, token, clock.now())
        return (agent.id, Role(agent.role), agent.must_change_password) if agent is not None else None


def current_agent_id(request: web.Request) -> Optional[int]:
    found = current_agent(request)
    return found[0] if found else None


def require_agent(request: web.Request, role: Role = Role.AGENT) -> int:
    """The agent's id, if logged in with a role that allows `role` (401/403 otherwise)."""
    found = current_agent(request)
    if found is None:
        raise json_error(web.HTTPUnauthorized, "请先登录 (log in first)")
    agent_id, has, must_change = found
    if must_change:
        raise json_error(web.HTTPForbidden, "请先修改初始密码 (change the initial password first)")
    if not has.allows(role):
        raise json_error(web.HTTPForbidden, f"需要{ROLE_NAMES[role]}权限 (needs the {role.value} role)")
    return agent_id


ROLE_NAMES = {Role.AGENT: "客服", Role.TRAINER: "训练师", Role.SUPERVISOR: "主管"}


def agent_page(name: str, role: Role = Role.AGENT) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler serving static/<name> to an agent whose role allows it; the login page to
    anyone else, and a plain refusal to an agent without the role."""

    async def handler(request: web.Request) -> web.StreamResponse:
        found = current_agent(request)
        if found is None or found[2]:
            raise web.HTTPFound("/login")
        if not found[1].allows(role):
            raise web.HTTPForbidden(text=f"这个页面需要{ROLE_NAMES[role]}权限", content_type="text/plain")
        return web.FileResponse(STATIC / name)

    return handler


# --- buyers -------------------------------------------------------------------------------------


def current_buyer(request: web.Request) -> Optional[str]:
    return signing.value_of_cookie(settings.secret("cookie"), "buyer", request.cookies.get(BUYER_COOKIE, ""))


def require_buyer(request: web.Request) -> str:
    buyer_id = current_buyer(request)
    if buyer_id is None:
        raise json_error(web.HTTPUnauthorized, "enter the shop first (POST /api/session)")
    return buyer_id


def identity_proof(buyer_id: str) -> str:
    """What the console platform sends with a buyer id it vouches for (POST /api/session)."""
    return signing.cookie_value(settings.secret("identity"), "identity", buyer_id).rpartition(".")[2]


def buyer_cookie(buyer_id: str) -> str:
    return signing.cookie_value(settings.secret("cookie"), "buyer", buyer_id)


# --- requests -----------------------------------------------------------------------------------


async def read_json(request: web.Request) -> dict:
    """The request's JSON object, or a 4xx that says what is wrong with it."""
    try:
        body = json.loads(await request.text())
    except MAX_JSON_DEPTH_ERRORS:
        raise json_error(web.HTTPBadRequest, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "body must be a JSON object")
    return body


def same_origin(request: web.Request) -> bool:
    """The browser's Origin, if it sent one, is this site (or one the shop allowed)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site request: browsers send Origin on POST and websockets
    allowed = {f"http://{request.host}", f"https://{request.host}"}
    allowed |= {o.strip() for o in os.environ.get("XIAOER_ALLOWED_ORIGINS", "").split(",") if o.strip()}
    return origin in allowed


@web.middleware
async def guard(request: web.Request, handler):
    """Changes come from this site, with JSON: a page elsewhere can't act as a logged-in agent."""
    if request.method in ("POST", "PUT", "DELETE") or request.path == "/ws":
        if not same_origin(request):
            raise json_error(web.HTTPForbidden, "cross-site request refused (Origin)")
    if request.method in ("POST", "PUT") and request.can_read_body and request.content_type != "application/json":
        raise json_error(web.HTTPUnsupportedMediaType, "send JSON (Content-Type: application/json)")
    return await handler(request)
