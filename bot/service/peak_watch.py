"""A peak that switches itself (handbook §6): on when the agents cannot keep up, off again
when they can — whatever the date.

Besides the rush dates and a supervisor's 高峰模式, the shop is in its peak while the load
says so: the queue is longer than the online agents' free places (接待上限 summed, less the
buyers they hold), or the oldest waiting buyer has waited longer than
`peak.auto.on_oldest_wait_seconds`. It switches off only after `off_hold_seconds` of calm —
the queue within the free places and nobody waiting longer than `off_oldest_wait_seconds` —
so a queue that empties for a moment does not flap the shop in and out. Every switch is
logged (`peak_switches`) with its reason in Chinese, for the workbench and the peak board.

In the peak the bot uses the short scripts, serves pre-sale buyers first, and answers the
shop's bot-safe intents itself even in assist mode (`bot_answers_for_agents`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.service.agents import load
from bot.shop.config import ShopConfig, shop
from bot.shop.peak import PeakState, peak_state
from bot.store.models import (
    Agent,
    AgentStatus,
    Conversation,
    Handler,
    HandoffReason,
    PeakSwitch,
    Shop,
)


@dataclass(frozen=True)
class Load:
    queue: int  # buyers waiting for a person
    free_places: int  # the online agents' 接待上限 summed, less the buyers they hold
    oldest_wait_seconds: float
    agents_online: int
    agents_full: int  # online agents at their 接待上限


def measure(session: Session, shop_id: str, now: datetime) -> Load:
    agents = session.execute(
        select(Agent).where(Agent.shop_id == shop_id, Agent.status == AgentStatus.ONLINE)
    ).scalars()
    holding = [(a.max_sessions, load(session, a)) for a in agents]
    queue, oldest = session.execute(
        select(func.count(Conversation.id), func.min(Conversation.queued_at)).where(
            Conversation.shop_id == shop_id, Conversation.handled_by == Handler.QUEUE
        )
    ).one()
    return Load(
        queue=queue,
        free_places=sum(max(0, cap - held) for cap, held in holding),
        oldest_wait_seconds=(now - oldest).total_seconds() if oldest is not None else 0.0,
        agents_online=len(holding),
        agents_full=sum(1 for cap, held in holding if held >= cap),
    )


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}分{int(seconds % 60)}秒" if seconds >= 60 else f"{int(seconds)}秒"


def overload(load: Load, cfg: ShopConfig) -> Optional[str]:
    """Why the agents cannot keep up now (a reason for the board), or None. With nobody
    online the shop is closed, not in a peak: the queue waits for the morning."""
    if not load.agents_online:
        return None
    if load.queue > load.free_places:
        return f"排队{load.queue}人，多于在线客服的空位{load.free_places}个"
    if load.oldest_wait_seconds > cfg.peak.auto.on_oldest_wait_seconds:
        return (
            f"最久的买家已等{_minutes(load.oldest_wait_seconds)}，超过{_minutes(cfg.peak.auto.on_oldest_wait_seconds)}"
        )
    return None


def calm(load: Load, cfg: ShopConfig) -> bool:
    if not load.agents_online:
        return True
    return load.queue <= load.free_places and load.oldest_wait_seconds <= cfg.peak.auto.off_oldest_wait_seconds


class PeakWatch:
    """Looks at the load now and then (the console app's scheduler) and switches the peak.
    Remembers since when it has been calm; a restart only makes the peak last a little longer."""

    def __init__(self) -> None:
        self.calm_since: Dict[str, Optional[datetime]] = {}

    def check(self, session: Session, cfg: ShopConfig, shop_id: str, now: datetime) -> Optional[PeakSwitch]:
        shop = session.get(Shop, shop_id)
        current = measure(session, shop_id, now)
        if shop.peak_by_load_since is None:
            reason = overload(current, cfg)
            if reason is None:
                return None
            shop.peak_by_load_since, self.calm_since[shop_id] = now, None
            return _log(session, shop_id, now, True, reason)
        if not calm(current, cfg):
            self.calm_since[shop_id] = None
            return None
        since = self.calm_since.get(shop_id) or now
        self.calm_since[shop_id] = since
        held = (now - since).total_seconds()
        if held < cfg.peak.auto.off_hold_seconds:
            return None
        shop.peak_by_load_since, self.calm_since[shop_id] = None, None
        reason = (
            f"已平稳{_minutes(held)}：排队{current.queue}人，空位{current.free_places}个，"
            f"最久等待{_minutes(current.oldest_wait_seconds)}"
        )
        return _log(session, shop_id, now, False, reason)


def _log(session: Session, shop_id: str, now: datetime, on: bool, reason: str) -> PeakSwitch:
    switch = PeakSwitch(shop_id=shop_id, at=now, on=on, reason=reason)
    session.add(switch)
    session.flush()
    return switch


def state(session: Session, cfg: ShopConfig, shop_id: str, now: datetime) -> PeakState:
    """Is the shop in its peak now, and why — with the reason of the load's last switch."""
    last = session.execute(
        select(PeakSwitch.reason).where(PeakSwitch.shop_id == shop_id).order_by(PeakSwitch.id.desc()).limit(1)
    ).scalar_one_or_none()
    return peak_state(session.get(Shop, shop_id), cfg, now, last or "")


def recent_switches(session: Session, shop_id: str, limit: int = 20) -> List[PeakSwitch]:
    return list(
        session.execute(
            select(PeakSwitch).where(PeakSwitch.shop_id == shop_id).order_by(PeakSwitch.id.desc()).limit(limit)
        ).scalars()
    )


def bot_may_answer(conv: Conversation, peak: PeakState) -> bool:
    """In the peak, a buyer whom assist mode gave to an agent may get the bot's answer to a
    bot-safe question at once: the agents are saturated. Buyers handed over for a reason
    (asked for a person, a complaint, …) stay with the person."""
    return peak.on and _with_agent_by_assist_mode(conv)


def bot_may_answer_now(session: Session, conv: Conversation, now: datetime) -> bool:
    """bot_may_answer for a stored buyer message: the peak is read only for the buyers it can
    concern (the console channel asks for every message a person holds)."""
    return _with_agent_by_assist_mode(conv) and state(session, shop(conv.shop_id), conv.shop_id, now).on


def _with_agent_by_assist_mode(conv: Conversation) -> bool:
    return conv.handled_by == Handler.AGENT and conv.handoff_reason == HandoffReason.ASSIST_MODE


def bot_safe(intent: Optional[str], cfg: ShopConfig) -> bool:
    """Shipping time, size, tracking …: the questions the shop lets the bot answer for agents."""
    return intent in cfg.peak.bot_safe_intents


def bot_answers_for_agents(conv: Conversation, peak: PeakState, intent: Optional[str], cfg: ShopConfig) -> bool:
    return bot_may_answer(conv, peak) and bot_safe(intent, cfg)
