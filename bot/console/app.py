"""aiohttp app factory for the console: the store chat page, the workbench and queue, the
trainer page, the supervisor's Double 11 pages and scheduler, the operator's shops page, each
adding its own routes and state."""

from __future__ import annotations

from aiohttp import web

from bot.console import auth, operations, rasa_client, reports, shops, store_page, trainer, workbench
from bot.console.auth import STATIC


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024, middlewares=[auth.guard])
    app.cleanup_ctx.append(rasa_client.http_session)
    app.router.add_get("/healthz", healthz)
    store_page.add_routes(app)
    workbench.add_routes(app)
    trainer.add_routes(app)
    operations.add_routes(app)
    reports.add_routes(app)
    shops.add_routes(app)
    app.router.add_static("/static", STATIC)
    return app
