"""Double 11 (双11): is the shop in its peak rush right now? (handbook §6)"""

from __future__ import annotations

from datetime import datetime

from bot.shop.config import ShopConfig
from bot.store.models import ShopMode


def _at(year: int, month_day_time: str) -> datetime:
    return datetime.strptime(f"{year}-{month_day_time}", "%Y-%m-%d %H:%M")


def in_rush(when: datetime, cfg: ShopConfig) -> bool:
    """True from the evening before the peak day until the small hours after it."""
    start = _at(when.year, cfg.peak.rush_start)
    end = _at(when.year, cfg.peak.rush_end)
    return start <= when < end


def peak_scripts(when: datetime, cfg: ShopConfig, mode: ShopMode) -> bool:
    """Use the short peak scripts: in the rush, or when the shop switched to peak mode."""
    return mode == ShopMode.PEAK or in_rush(when, cfg)
