"""The intents the NLU reads (the contract in docs/intents.md), by area, and the names
around them.

The areas are how the training data is filed (data/nlu/<area>/<intent>.yml) and how a
trainer finds an intent: a test checks that every contract intent has exactly its file.
"""

from typing import Dict, Tuple

INTENT_AREAS: Dict[str, Tuple[str, ...]] = {
    "dialogue": ("greet", "goodbye", "thank", "affirm", "deny", "ask_human", "out_of_scope"),
    "presale": (
        "ask_product",
        "ask_size",
        "ask_stock",
        "bargain",
        "ask_promotion",
        "ask_gift",
        "ask_shipping_fee",
        "bulk_order",
    ),
    "orders": ("ask_payment", "ask_invoice", "change_address", "modify_order"),
    "logistics": ("ask_ship_time", "ask_arrival_time", "ask_express", "track_package"),
    "aftersales": (
        "request_refund",
        "request_exchange",
        "ask_return_policy",
        "complain_quality",
        "wrong_item",
        "ask_price_diff",
        "complain_service",
    ),
}
INTENTS: Tuple[str, ...] = tuple(intent for area in INTENT_AREAS.values() for intent in area)

# What Rasa's FallbackClassifier puts in place of an intent it does not trust.
FALLBACK = "nlu_fallback"

# The console channel sends cards and shop events as intent triggers (connectors/console.py):
# they never go through the classifier, which neither learns nor predicts them — so a pasted
# link or order number is read as one of the contract's intents, as any buyer text is.
CONSOLE_EVENTS = frozenset({"enter_shop", "share_product", "share_order", "share_image"})

# What an agent, trainer or manager reads for each intent (pages never show the code names).
INTENT_LABELS: Dict[str, str] = {
    "greet": "打招呼", "goodbye": "告别", "thank": "道谢", "affirm": "肯定/好的", "deny": "否定/不用",
    "ask_human": "要求人工", "out_of_scope": "闲聊/无关",
    "ask_product": "商品咨询", "ask_size": "尺码咨询", "ask_stock": "库存咨询", "bargain": "议价",
    "ask_promotion": "优惠活动", "ask_gift": "赠品", "ask_shipping_fee": "运费/包邮", "bulk_order": "批量采购",
    "ask_payment": "付款问题", "ask_invoice": "发票", "change_address": "改地址", "modify_order": "改订单",
    "ask_ship_time": "发货时间", "ask_arrival_time": "到货时间", "ask_express": "快递选择", "track_package": "查物流",
    "request_refund": "退款", "request_exchange": "换货", "ask_return_policy": "退换政策",
    "complain_quality": "质量投诉", "wrong_item": "发错货", "ask_price_diff": "补差价", "complain_service": "服务投诉",
    FALLBACK: "没读懂",
    "enter_shop": "进店", "share_product": "发来商品", "share_order": "发来订单", "share_image": "发来图片",
}  # fmt: skip


def intent_label(intent: str | None) -> str:
    """The Chinese name of an intent, for the pages; an unknown one reads as 其他."""
    return INTENT_LABELS.get(intent or "", "其他")
