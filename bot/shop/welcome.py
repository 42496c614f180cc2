"""Which welcome the buyer gets: peak, returning buyer, or first visit (handbook §1, §6)."""

from __future__ import annotations

from typing import List

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.shop.replies import Reply
from bot.store.models import Buyer, Order


def welcome_reply(session: Session, shop_id: str, buyer_id: str, in_peak: bool = False) -> List[Reply]:
    """The welcome: the short peak script in the peak (bot/service/peak_watch.py), else by
    whether the buyer has ordered from this shop before."""
    if in_peak:
        return [Reply("welcome.peak")]
    buyer = session.get(Buyer, (shop_id, buyer_id))  # the nick this shop knows
    orders = session.execute(
        select(func.count(Order.id)).where(Order.shop_id == shop_id, Order.buyer_id == buyer_id)
    ).scalar_one()
    if buyer is not None and orders:
        return [Reply("welcome.returning", {"buyer_nick": buyer.nick})]
    return [Reply("welcome.first")]
