"""Who is asking: the signed cookies that name a buyer (the store chat page) or an agent
(the workbench, queue and trainer pages), and the pages and APIs that need one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from aiohttp import web

from bot import settings, signing

STATIC = Path(__file__).parent / "static"
AGENT_COOKIE = "xiaoer_agent"
BUYER_COOKIE = "xiaoer_buyer"


def json_error(status: type, message: str) -> web.HTTPException:
    """An HTTP error whose body is {"error": message}, for the pages' scripts to show."""
    return status(text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json")


def set_identity(resp: web.StreamResponse, cookie: str, kind: str, value: str) -> None:
    resp.set_cookie(
        cookie, signing.cookie_value(settings.console_secret(), kind, value), httponly=True, samesite="Strict"
    )


def current_agent_id(request: web.Request) -> Optional[int]:
    value = signing.value_of_cookie(settings.console_secret(), "agent", request.cookies.get(AGENT_COOKIE, ""))
    return int(value) if value and value.isdigit() else None


def require_agent(request: web.Request) -> int:
    agent_id = current_agent_id(request)
    if agent_id is None:
        raise json_error(web.HTTPUnauthorized, "log in first")
    return agent_id


def current_buyer(request: web.Request) -> Optional[str]:
    return signing.value_of_cookie(settings.console_secret(), "buyer", request.cookies.get(BUYER_COOKIE, ""))


def require_buyer(request: web.Request) -> str:
    buyer_id = current_buyer(request)
    if buyer_id is None:
        raise json_error(web.HTTPUnauthorized, "enter the shop first (POST /api/session)")
    return buyer_id


def agent_page(name: str):
    """A handler serving static/<name> to a logged-in agent, and the login page to anyone else."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if current_agent_id(request) is None:
            raise web.HTTPFound("/login")
        return web.FileResponse(STATIC / name)

    return handler


async def read_json(request: web.Request) -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise json_error(web.HTTPBadRequest, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "body must be a JSON object")
    return body
