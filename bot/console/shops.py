"""The server operator's page of shops (/shops): the shops this server serves, and a form to
add one — what `xiaoer shop add` does (bot/seed.py `add_shop`: shops/<id>/shop.yml copied from
the default shop's facts, an empty responses/ for its own phrases, its database row). The
new shop answers at once: every process loads a shop's config the first time it is asked.

Only a supervisor of the default shop (the server's operator) may see or add shops; a
supervisor of a tenant shop manages their own shop, not the server.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import func, select

from bot.console.auth import STATIC, current_agent, json_error, read_json, require_agent
from bot.seed import ShopAddError, add_shop
from bot.shop.config import ShopConfigError, is_shop, shop, shop_ids, valid_shop_id
from bot.store.db import session_scope
from bot.store.models import Agent, Role, Shop

OPERATOR_ONLY = "只有服务器运营方（默认店铺）的主管可以管理店铺"


def _is_operator(agent_id: int) -> bool:
    with session_scope() as session:
        return session.get(Agent, agent_id).shop_id == shop().shop_id


def require_operator(request: web.Request) -> int:
    agent_id = require_agent(request, Role.SUPERVISOR)
    if not _is_operator(agent_id):
        raise json_error(web.HTTPForbidden, OPERATOR_ONLY)
    return agent_id


async def page(request: web.Request) -> web.StreamResponse:
    found = current_agent(request)
    if found is None or found[2]:
        raise web.HTTPFound("/login")
    if not found[1].allows(Role.SUPERVISOR) or not _is_operator(found[0]):
        raise web.HTTPForbidden(text=OPERATOR_ONLY, content_type="text/plain")
    return web.FileResponse(STATIC / "shops.html")


def _listing() -> list:
    with session_scope() as session:
        rows = {s.id: s for s in session.execute(select(Shop)).scalars()}
        agents = dict(session.execute(select(Agent.shop_id, func.count(Agent.id)).group_by(Agent.shop_id)).all())
        listed = []
        for shop_id in shop_ids():
            try:
                cfg = shop(shop_id)
            except ShopConfigError:
                listed.append(
                    {"id": shop_id, "name": "", "short_name": "", "problem": "配置文件有误：运行 xiaoer check"}
                )
                continue
            row = rows.get(shop_id)
            listed.append(
                {
                    "id": shop_id,
                    "name": cfg.name,
                    "short_name": cfg.short_name,
                    "default": shop_id == shop().shop_id,
                    "in_database": row is not None,
                    "mode": str(row.mode) if row is not None else None,
                    "agents": agents.get(shop_id, 0),
                }
            )
        return listed


async def list_api(request: web.Request) -> web.Response:
    require_operator(request)
    return web.json_response({"shops": await asyncio.to_thread(_listing)})


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise json_error(web.HTTPBadRequest, "店铺编号、名称和简称都须是文字")
    return value.strip()


async def add_api(request: web.Request) -> web.Response:
    require_operator(request)
    body = await read_json(request)
    shop_id, name, short_name = _text(body, "shop_id"), _text(body, "name"), _text(body, "short_name")
    if not shop_id:
        raise json_error(web.HTTPBadRequest, "请填写店铺编号")
    if not valid_shop_id(shop_id):
        raise json_error(web.HTTPBadRequest, "店铺编号只能用小写字母、数字、_ 或 -，以字母或数字开头，最多 32 个字符")
    if is_shop(shop_id):
        raise json_error(web.HTTPConflict, f"店铺编号 {shop_id} 已经有了")
    if not name:
        raise json_error(web.HTTPBadRequest, "请填写店铺名称")
    if len(name) > 64:
        raise json_error(web.HTTPBadRequest, "店铺名称最多 64 个字")
    if len(short_name) > 16:
        raise json_error(web.HTTPBadRequest, "店铺简称最多 16 个字")
    try:
        path = await asyncio.to_thread(add_shop, shop_id, name, short_name or None)
    except (ShopAddError, ShopConfigError) as err:
        raise json_error(web.HTTPBadRequest, f"没能添加店铺 ({err})") from None
    cfg = shop(shop_id)
    return web.json_response(
        {
            "id": shop_id,
            "name": cfg.name,
            "short_name": cfg.short_name,
            "config": f"shops/{path.parent.name}/{path.name}",
        },
        status=201,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/shops", page)
    app.router.add_get("/api/shops", list_api)
    app.router.add_post("/api/shops", add_api)
