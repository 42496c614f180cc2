"""The shop's clock. Shops, cut-offs and couriers run on China time, whatever the server's
zone; database times are naive China local times. Tests pin the clock with XIAOER_NOW."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    pinned = os.environ.get("XIAOER_NOW")
    if pinned:
        return datetime.fromisoformat(pinned)
    return datetime.now(CHINA).replace(tzinfo=None)
