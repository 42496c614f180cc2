"""Which welcome the buyer gets: peak, returning buyer, or first visit (handbook §1, §6)."""
from __future__ import annotations

from datetime import datetime
from typing import Dict, Tuple

from sqlalchemy import func, select

from bot.db import session_scope
from bot.models import Buyer, Order
from bot.peak import peak_scripts
from bot.shop import ShopConfig


def welcome_reply(cfg: ShopConfig, buyer_id: str, when: datetime, mode: str = "auto") -> Tuple[str, Dict[str, object]]:
    if peak_scripts(when, cfg, mode):
        return "welcome.peak", {}
    with session_scope() as session:
        buyer = session.get(Buyer, buyer_id)
        orders = session.execute(select(func.count(Order.id)).where(Order.buyer_id == buyer_id)).scalar_one()
        if buyer is not None and orders:
            return "welcome.returning", {"buyer_nick": buyer.nick}
    return "welcome.first", {}
