"""Freight and free shipping (包邮), from shop.yml's freight rules."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

from bot.shop.config import ShopConfig
from bot.shop.geo import province_of


def freight_fee(cfg: ShopConfig, province: Optional[str], goods_amount: float) -> float:
    """What the buyer pays for delivery: remote regions always pay their own rate,
    elsewhere orders at or above the threshold ship free."""
    province = province_of(province)
    if province in cfg.freight.remote_regions:
        return cfg.freight.remote_regions[province]
    if goods_amount >= cfg.freight.free_shipping_threshold:
        return 0
    return cfg.freight.base_fee


def shipping_fee_reply(cfg: ShopConfig, location: Optional[str]) -> Tuple[str, Dict[str, object]]:
    """The phrase and slots answering "包邮吗 / 寄X运费多少"."""
    province = province_of(location)
    if province in cfg.freight.remote_regions:
        return "logistics.remote_fee", {"location": location, "fee": cfg.freight.remote_regions[province]}
    return "logistics.free_shipping", {}
