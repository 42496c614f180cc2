"""The manager's reports page (/reports, supervisors only): the figures of
bot/service/reports.py for a day or a range, optionally one agent, as JSON for the page and
each table as CSV (UTF-8 with a BOM, so Excel reads the Chinese)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Optional, Tuple
from urllib.parse import quote

from aiohttp import web

from bot import clock
from bot.console.auth import agent_page, json_error, require_agent
from bot.formatting import cn_date
from bot.service import reports
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Agent, Role


def _day(request: web.Request, key: str, default: date) -> date:
    raw = request.query.get(key, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise json_error(web.HTTPBadRequest, f"日期格式不对：{raw}（应为 年-月-日，如 2026-11-11）") from None


def _asked(request: web.Request) -> Tuple[date, date, Optional[int]]:
    """from/to (default: today) and agent (default: everyone) from the query."""
    today = clock.now().date()
    first = _day(request, "from", today)
    last = _day(request, "to", first)
    raw = request.query.get("agent", "").strip()
    if raw and not raw.isdigit():
        raise json_error(web.HTTPBadRequest, "没有这位客服")
    return first, last, int(raw) if raw else None


def _report(request: web.Request) -> Tuple[reports.Report, list]:
    agent_id = require_agent(request, Role.SUPERVISOR)
    first, last, only = _asked(request)
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        agents = [
            {"id": a.id, "name": a.name} for a in session.query(Agent).filter_by(shop_id=shop_id).order_by(Agent.id)
        ]
        if only is not None and only not in {a["id"] for a in agents}:
            raise json_error(web.HTTPNotFound, "本店没有这位客服")
        try:
            report = reports.build(session, shop(shop_id), shop_id, first, last, only)
        except reports.ReportError as err:
            raise json_error(web.HTTPBadRequest, str(err)) from None
    return report, agents


def _span(report: reports.Report) -> str:
    if report.first == report.last:
        return cn_date(report.first)
    return f"{cn_date(report.first)} – {cn_date(report.last)}"


async def report_json(request: web.Request) -> web.Response:
    report, agents = _report(request)
    data = report.as_dict()
    data["span"] = _span(report)
    data["agent_list"] = agents
    data["tables"] = {}
    for name, title in reports.TABLES.items():
        head, rows = reports.table(report, name)
        data["tables"][name] = {"title": title, "head": head, "rows": rows}
    data["yesterday"] = (clock.now().date() - timedelta(days=1)).isoformat()
    return web.json_response(data)


async def report_csv(request: web.Request) -> web.Response:
    name = request.match_info["table"]
    report, _ = _report(request)
    if name not in reports.TABLES:
        raise json_error(web.HTTPNotFound, "没有这张表")
    days = report.first.isoformat() + ("" if report.last == report.first else "_" + report.last.isoformat())
    filename = f"{reports.TABLES[name]}-{days}.csv"
    return web.Response(
        body=reports.csv_bytes(report, name),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}-{days}.csv\"; filename*=UTF-8''{quote(filename)}"
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reports", agent_page("reports.html", Role.SUPERVISOR))
    app.router.add_get("/api/reports", report_json)
    app.router.add_get("/api/reports/{table}.csv", report_csv)
