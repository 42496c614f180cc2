"""How likely each intent is before a word is read: the classifier's prior.

The training data gives every intent a few hundred examples, so the classifier's
probabilities assume every intent is about as likely as any other — an off-topic message as
likely as a product question. Real buyers ask about products five times as often as they
chat off-topic. The component re-weights each probability by the intent's share of real
traffic over its share of the training data (Bayes' rule with the prior changed), raised to
`strength` (0: off, 1: the full correction).

The default mix is what real Taobao/JD buyer messages measured (docs/intents.md); a shop
sets its own under `intent_mix:` in shop.yml (shares, any scale), e.g. learned from its
traffic. Intents it leaves out keep the default share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, Sequence

import numpy as np
import yaml

from bot import settings

# Share of real buyer messages, in percent (931 real Taobao/JD messages, each label agreed
# by two readers).
REAL_TRAFFIC_MIX: Dict[str, float] = {
    "ask_product": 12.1, "ask_return_policy": 7.2, "affirm": 7.0, "thank": 5.7, "ask_promotion": 5.3,
    "request_refund": 5.2, "track_package": 4.9, "ask_invoice": 4.7, "ask_ship_time": 3.9, "ask_stock": 3.8,
    "complain_quality": 3.5, "bargain": 3.3, "ask_gift": 3.1, "ask_arrival_time": 2.9, "change_address": 2.8,
    "ask_human": 2.8, "ask_express": 2.6, "ask_shipping_fee": 2.5, "out_of_scope": 2.4, "ask_payment": 2.3,
    "ask_price_diff": 1.9, "complain_service": 1.9, "request_exchange": 1.6, "greet": 1.5, "ask_size": 1.2,
    "modify_order": 1.2, "goodbye": 1.1, "deny": 0.8, "wrong_item": 0.6, "bulk_order": 0.3,
}  # fmt: skip


class IntentMixError(ValueError):
    """shop.yml's intent_mix names an unknown intent or a share that is not a positive number."""


def shop_mix(path: Path | None = None) -> Dict[str, float]:
    """The intent mix the shop's buyers have: shop.yml's intent_mix over the default, as shares
    summing to 1."""
    path = Path(path or settings.SHOP_CONFIG)
    own = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intent_mix") or {}
    if not isinstance(own, dict):
        raise IntentMixError(f"{path}: intent_mix must map intents to their shares")
    for intent, share in own.items():
        if intent not in REAL_TRAFFIC_MIX:
            raise IntentMixError(f"{path}: intent_mix: unknown intent {intent!r}")
        if not isinstance(share, (int, float)) or isinstance(share, bool) or share <= 0:
            raise IntentMixError(f"{path}: intent_mix: {intent} needs a positive share, not {share!r}")
    mix = {**REAL_TRAFFIC_MIX, **own}
    total = sum(mix.values())
    return {intent: share / total for intent, share in mix.items()}


def prior_factors(
    classes: Sequence[str], training_share: Mapping[str, float], mix: Mapping[str, float], strength: float
) -> np.ndarray:
    """Per class, what its probability is multiplied by (before renormalising) so that the
    classifier expects the intents in `mix` rather than in the training data's shares."""
    return np.array([mix[c] / training_share[c] for c in classes]) ** strength
