"""Which welcome the buyer gets: peak, returning buyer, or first visit (handbook §1, §6)."""

from __future__ import annotations

from datetime import datetime
from typing import List

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.shop.config import ShopConfig
from bot.shop.peak import peak_scripts
from bot.shop.replies import Reply
from bot.store.models import Buyer, Order, ShopMode


def welcome_reply(
    session: Session, cfg: ShopConfig, buyer_id: str, when: datetime, mode: ShopMode = ShopMode.AUTO
) -> List[Reply]:
    if peak_scripts(when, cfg, mode):
        return [Reply("welcome.peak")]
    buyer = session.get(Buyer, buyer_id)
    orders = session.execute(select(func.count(Order.id)).where(Order.buyer_id == buyer_id)).scalar_one()
    if buyer is not None and orders:
        return [Reply("welcome.returning", {"buyer_nick": buyer.nick})]
    return [Reply("welcome.first")]
