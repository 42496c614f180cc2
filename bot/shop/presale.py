"""Pre-sale decisions: bargaining, free shipping, gifts, stock and invoices (handbook §2).

Bargaining is normal and never refused bluntly: the bot explains the value and offers what
the shop allows (free shipping over the threshold, gifts) — never a price the shop hasn't
set. Free shipping and gifts are checked against shop.yml; granted ones are noted on the
order, and a buyer who insists without qualifying goes to a person for approval.
"""

from __future__ import annotations

import re
from typing import List, Optional

from bot.shop.config import ShopConfig
from bot.shop.freight import shipping_fee_reply
from bot.shop.geo import province_of
from bot.shop.orders import NOT_SHIPPED, note_on_order
from bot.shop.phrases import library
from bot.shop.replies import Reply
from bot.store.models import HandoffReason, Order, Product, Variant


def bargain_reply(cfg: ShopConfig, quantity: Optional[int], attempt: int = 1) -> List[Reply]:
    """能便宜点吗, asked for the `attempt`-th time in this chat. Never a lower price, never a
    blunt no: first the value, then the shop's coupon, then everything it allows at once."""
    if quantity and quantity >= cfg.bulk_order_min_quantity:
        return [Reply("dialogue.bulk_order", handoff_reason=HandoffReason.BULK)]
    coupon = cfg.coupons[0].label if cfg.coupons else None
    if attempt <= 1:
        return [Reply("bargain.value")]
    if attempt == 2 and coupon:
        return [Reply("bargain.coupon", {"coupon": coupon})]
    return [Reply("bargain.last_offer", {"coupon": coupon or "店铺"})]


def shipping_fee_answer(
    cfg: ShopConfig, location: Optional[str], order: Optional[Order], insisted: bool
) -> List[Reply]:
    """包邮吗: the rule, or this order's case; a second ask after a "no" goes for approval."""
    if order is None or location:
        phrase_id, slots = shipping_fee_reply(cfg, location)
        return [Reply(phrase_id, slots)]
    province = province_of(order.province)
    goods = order.goods_fen / 100
    if province in cfg.freight.remote_regions:
        phrase_id, slots = shipping_fee_reply(cfg, province)
        return [Reply(phrase_id, slots)]
    if goods >= cfg.freight.free_shipping_threshold:
        if order.status in NOT_SHIPPED:
            note_on_order(order, "包邮")
        return [Reply("bargain.free_shipping_yes", {"order_id": order.id})]
    shortfall = cfg.freight.free_shipping_threshold - goods
    if insisted:
        return [Reply("bargain.ask_supervisor", handoff_reason=HandoffReason.FREE_SHIPPING_APPROVAL)]
    return [Reply("bargain.free_shipping_short", {"shortfall": f"{shortfall:.0f}"})]


def gift_answer(cfg: ShopConfig, order: Optional[Order], insisted: bool) -> List[Reply]:
    """有赠品吗: the gift rules, or the gift this order earns (noted on the order)."""
    if order is None or not cfg.gifts:
        return [Reply("bargain.gift")]
    goods = order.goods_fen / 100
    earned = [g for g in cfg.gifts if goods >= g.min_amount]
    if earned:
        best = max(earned, key=lambda g: g.min_amount)
        if order.status in NOT_SHIPPED:
            note_on_order(order, f"赠品：{best.gift}")
        return [Reply("bargain.gift_noted", {"gift": best.gift, "order_id": order.id})]
    if insisted:
        return [Reply("bargain.ask_supervisor", handoff_reason=HandoffReason.GIFT_APPROVAL)]
    nearest = min(cfg.gifts, key=lambda g: g.min_amount)
    return [Reply("bargain.gift_short", {"gift": nearest.gift, "shortfall": f"{nearest.min_amount - goods:.0f}"})]


def stock_answer(product: Optional[Product], size: Optional[str], color: Optional[str]) -> List[Reply]:
    """L码还有吗: the warehouse's real stock (not the page's), for the product in question."""
    if product is None:
        return [Reply("dialogue.ask_stock")]
    variants: List[Variant] = [
        v for v in product.variants if (size is None or v.size == size) and (color is None or v.color == color)
    ]
    wanted = " ".join(x for x in (color, size) if x) or library(product.shop_id).render("stock.any_variant")
    if not variants:
        return [Reply("stock.not_offered", {"product": product.title, "wanted": wanted})]
    if any(v.stock > 0 for v in variants):
        return [Reply("stock.available", {"product": product.title, "wanted": wanted})]
    return [Reply("stock.sold_out", {"product": product.title, "wanted": wanted})]


_TITLE = re.compile(r"抬头(?:是|写|为|开|：|:)?\s*([^\s，,。；;]{2,40})")


def invoice_answer(text: str, order: Optional[Order]) -> List[Reply]:
    """能开发票吗 / 抬头写XX公司: record the title and type on the order."""
    match = _TITLE.search(text)
    if order is None or match is None:
        return [Reply("dialogue.ask_invoice")]
    title = match.group(1)
    kind = "增值税专用发票" if re.search(r"专票|专用", text) else "电子普通发票"
    order.invoice_title, order.invoice_type = title, kind
    return [Reply("invoice.recorded", {"title": title, "invoice_type": kind, "order_id": order.id})]
