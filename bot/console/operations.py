"""Double 11 operations in the console app: the scheduler that runs the night, and the
supervisor's pages — the peak board, the staffing plan, the rehearsal's report.

The scheduler is a background task of this (single) console process: every
`peak.auto.check_seconds` it looks at the load (the peak switches itself:
bot/service/peak_watch.py), and sends what is due — payment reminders at the shop's times,
delay notices for the watch list (bot/service/outreach.py). Everything it sends is in the
database before anything is pushed, and unique per order and time, so a restart repeats
nothing. The shop clock (bot/clock.py) is the one the tests pin.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Dict, List

from aiohttp import web
from sqlalchemy import func, select

from bot import clock
from bot.console.auth import agent_page, json_error, read_json, require_agent
from bot.console.workbench import HUB
from bot.formatting import cn_time
from bot.service import delivery, outreach, peak_watch
from bot.shop import staffing
from bot.shop.config import shop, shop_ids
from bot.store.db import session_scope
from bot.store.models import Agent, Conversation, Direction, Message, Outreach, OutreachKind, Role, Shop

logger = logging.getLogger(__name__)


# --- the scheduler --------------------------------------------------------------------------------
def tick(watch: peak_watch.PeakWatch, now: datetime) -> Dict[str, Any]:
    """One round for every shop of the server: the peak by load, then what is due to its
    buyers, with the shop's own thresholds. Each step its own transaction."""
    switched, shops_switched, sent = None, [], []
    for shop_id in shop_ids():
        cfg = shop(shop_id)
        with session_scope() as session:
            if session.get(Shop, shop_id) is None:
                continue  # configured, not yet added to the database (xiaoer shop add)
            switch = watch.check(session, cfg, shop_id, now)
            if switch is not None:
                shops_switched.append(shop_id)
                switched = switched or {"on": switch.on, "reason": switch.reason}
                logger.info("peak %s for %s: %s", "on" if switch.on else "off", shop_id, switch.reason)
        with session_scope() as session:
            sent += outreach.send_payment_reminders(session, cfg, shop_id, now)
        with session_scope() as session:
            sent += outreach.send_delay_notices(session, cfg, shop_id, now)
    return {"switched": switched, "shops_switched": shops_switched, "sent": sent}


async def scheduler(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: runs for the app's lifetime."""

    async def loop() -> None:
        watch = peak_watch.PeakWatch()
        while True:
            try:
                done = await asyncio.to_thread(tick, watch, clock.now())
                for message_id in done["sent"]:
                    asyncio.create_task(delivery.deliver(message_id))
                for shop_id in done["shops_switched"]:
                    await app[HUB].send_state_to_shop(shop_id)
            except Exception:  # the night goes on: log it and look again next round
                logger.exception("scheduler round failed")
            await asyncio.sleep(min(shop(s).peak.auto.check_seconds for s in shop_ids()))

    task = asyncio.create_task(loop())
    yield
    task.cancel()


# --- the peak board -------------------------------------------------------------------------------
async def board(request: web.Request) -> web.Response:
    agent_id = require_agent(request, Role.SUPERVISOR)
    now = clock.now()
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        cfg = shop(shop_id)
        load = peak_watch.measure(session, shop_id, now)
        peak = peak_watch.state(session, cfg, shop_id, now)
        since = now - timedelta(minutes=30)
        arrivals = session.execute(
            select(Message.created_at)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.shop_id == shop_id, Message.direction == Direction.IN, Message.created_at >= since)
        ).scalars()
        # The last 30 minutes, the newest (up to now itself) in the last bar.
        per_minute = Counter(min(29, int((at - since).total_seconds() // 60)) for at in arrivals)
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        total, handed = session.execute(
            select(func.count(Conversation.id), func.count(Conversation.handoff_reason)).where(
                Conversation.shop_id == shop_id, Conversation.started_at >= day_start
            )
        ).one()
        reminders = session.execute(
            select(func.count(Outreach.id)).where(
                Outreach.shop_id == shop_id,
                Outreach.kind == OutreachKind.PAYMENT_REMINDER,
                Outreach.sent_at >= day_start,
            )
        ).scalar_one()
        watch = [
            {
                "order_id": o.id,
                "buyer": o.buyer.nick,
                "paid_at": cn_time(o.paid_at),
                "deadline": cn_time(o.paid_at + timedelta(hours=cfg.ship_limit_hours)),
                "told": any(x.kind == OutreachKind.DELAY_NOTICE for x in _outreach_of(session, o.id)),
            }
            for o in outreach.watch_list(session, cfg, shop_id, now)
        ]
        switches = [
            {"at": cn_time(s.at), "on": s.on, "reason": s.reason} for s in peak_watch.recent_switches(session, shop_id)
        ]
    return web.json_response(
        {
            "now": cn_time(now),
            "peak": {"on": peak.on, "why": peak.why},
            "per_minute": [per_minute.get(m, 0) for m in range(30)],
            "queue": load.queue,
            "oldest_wait_seconds": round(load.oldest_wait_seconds),
            "free_places": load.free_places,
            "agents_online": load.agents_online,
            "agents_full": load.agents_full,
            "conversations_today": total,
            "bot_resolution": round((total - handed) / total, 3) if total else None,
            "reminders_today": reminders,
            "watch_list": watch,
            "switches": switches,
        }
    )


def _outreach_of(session, order_id: str) -> List[Outreach]:
    return list(session.execute(select(Outreach).where(Outreach.order_id == order_id)).scalars())


# --- the staffing plan ----------------------------------------------------------------------------
def _agent_shop(agent_id: int):
    with session_scope() as session:
        return shop(session.get(Agent, agent_id).shop_id)


def _rehearse_command(cfg) -> str:
    """What rehearses this shop's night, for the pages to show and copy."""
    return "xiaoer rehearse --speed 10" + ("" if cfg.shop_id == shop().shop_id else f" --shop {cfg.shop_id}")


async def staffing_defaults(request: web.Request) -> web.Response:
    cfg = _agent_shop(require_agent(request, Role.SUPERVISOR))
    return web.json_response(
        {
            "bot_resolution": staffing.rehearsed_resolution(cfg.shop_id),
            "curve": cfg.peak.hourly_curve,
            "rehearse_command": _rehearse_command(cfg),
        }
    )


async def staffing_plan(request: web.Request) -> web.Response:
    agent_id = require_agent(request, Role.SUPERVISOR)
    body = await read_json(request)
    names = {
        "sales": "店铺销售额",
        "service_share": "客服销售占比",
        "avg_order": "客服客单价",
        "conversion": "询单转化率",
        "capacity": "单人每小时饱和接待量",
    }
    values: Dict[str, float] = {}
    for key, label in {**names, "bot_resolution": "机器人解决率"}.items():
        raw = body.get(key, 0 if key == "bot_resolution" else None)
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise json_error(web.HTTPBadRequest, f"请填写{label}")
        try:
            values[key] = float(raw)
        except ValueError:
            raise json_error(web.HTTPBadRequest, f"{label}须是数字") from None
    try:
        plan = staffing.plan(curve=_agent_shop(agent_id).peak.hourly_curve, **values)
    except staffing.StaffingError as err:
        raise json_error(web.HTTPBadRequest, str(err)) from None
    return web.json_response(
        {
            "agent_sales": round(plan.agent_sales, 2),
            "buyers_served_by_staff": round(plan.buyers_served_by_staff, 2),
            "total_receptions": round(plan.total_receptions, 2),
            "receptions_for_people": round(plan.receptions_for_people, 2),
            "agents_needed": plan.agents_needed,
            "agents_with_bot": plan.agents_with_bot,
            "agent_hours": plan.agent_hours,
            "hours": [
                {
                    "start": h.start,
                    "share": round(h.share, 4),
                    "receptions": round(h.receptions, 1),
                    "for_people": round(h.for_people, 1),
                    "agents": h.agents,
                    "agents_without_bot": h.agents_without_bot,
                }
                for h in plan.hours
            ],
        }
    )


# --- the rehearsal's report -----------------------------------------------------------------------
async def rehearsal_report(request: web.Request) -> web.Response:
    """The last rehearsal's report, to the supervisors of the shop it rehearsed only."""
    cfg = _agent_shop(require_agent(request, Role.SUPERVISOR))
    return web.json_response(
        {"report": staffing.last_rehearsal(cfg.shop_id), "rehearse_command": _rehearse_command(cfg)}
    )


async def rehearsal_chart(request: web.Request) -> web.StreamResponse:
    cfg = _agent_shop(require_agent(request, Role.SUPERVISOR))
    chart = staffing.rehearsal_file(cfg.shop_id).with_suffix(".png")
    if staffing.last_rehearsal(cfg.shop_id) is None or not chart.exists():
        raise web.HTTPNotFound(text=f"还没有演练报告：运行 {_rehearse_command(cfg)}", content_type="text/plain")
    return web.FileResponse(chart)


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(scheduler)
    app.router.add_get("/peak", agent_page("peak.html", Role.SUPERVISOR))
    app.router.add_get("/api/peak", board)
    app.router.add_get("/staffing", agent_page("staffing.html", Role.SUPERVISOR))
    app.router.add_get("/api/staffing", staffing_defaults)
    app.router.add_post("/api/staffing", staffing_plan)
    app.router.add_get("/rehearsal", agent_page("rehearsal.html", Role.SUPERVISOR))
    app.router.add_get("/api/rehearsal", rehearsal_report)
    app.router.add_get("/api/rehearsal/chart.png", rehearsal_chart)
