"""Double 11 (双11): the rush dates (handbook §6). Whether the shop is in its peak right now —
the dates, the supervisor's 高峰模式, or the load — is bot/service/peak_watch.py's `state`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.shop.config import ShopConfig
from bot.store.models import Shop, ShopMode


def _at(year: int, month_day_time: str) -> datetime:
    return datetime.strptime(f"{year}-{month_day_time}", "%Y-%m-%d %H:%M")


def in_rush(when: datetime, cfg: ShopConfig) -> bool:
    """True from the evening before the peak day until the small hours after it."""
    start = _at(when.year, cfg.peak.rush_start)
    end = _at(when.year, cfg.peak.rush_end)
    return start <= when < end


@dataclass(frozen=True)
class PeakState:
    """Is the shop in its peak now, and why (for the workbench, the board and the bot)."""

    on: bool
    why: str


def peak_state(shop: Shop, cfg: ShopConfig, when: datetime, load_reason: str = "") -> PeakState:
    """The supervisor's 高峰模式, the load (bot/service/peak_watch.py), or the rush dates."""
    if shop.mode == ShopMode.PEAK:
        return PeakState(True, "主管开启了高峰模式")
    if shop.peak_by_load_since is not None:
        return PeakState(True, "按负载自动进入高峰" + (f"：{load_reason}" if load_reason else ""))
    if in_rush(when, cfg):
        return PeakState(True, f"大促时段（{cfg.peak.rush_start} 至 {cfg.peak.rush_end}）")
    return PeakState(False, "平峰")
