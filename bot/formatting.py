"""How money and dates read in a chat: one spelling everywhere the bot or a page shows them.

Dates are named as dates (11月21日), not "tomorrow": a buyer often reads the chat again the
next morning.
"""

from __future__ import annotations

from datetime import date, datetime


def yuan(fen: int | float) -> str:
    """15800 → '158', 15850 → '158.5': a price as a buyer reads it (money is stored in fen)."""
    return f"{fen / 100:.2f}".rstrip("0").rstrip(".")


def cn_date(day: date) -> str:
    """11月21日"""
    return f"{day.month}月{day.day}日"


def cn_time(when: datetime) -> str:
    """11月21日 14:30"""
    return f"{when.month}月{when.day}日 {when:%H:%M}"
