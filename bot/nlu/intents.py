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
