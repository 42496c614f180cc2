"""The classifier's prior: real traffic's intent mix, and a shop's own (bot/nlu/priors.py)."""

import numpy as np
import pytest

from bot.nlu.intents import INTENTS
from bot.nlu.priors import REAL_TRAFFIC_MIX, IntentMixError, prior_factors, shop_mix
from bot.settings import SHOP_CONFIG


def test_the_default_mix_covers_every_intent_and_sums_to_one():
    assert set(REAL_TRAFFIC_MIX) == set(INTENTS)
    mix = shop_mix()
    assert sum(mix.values()) == pytest.approx(1.0)
    assert mix["ask_product"] > 5 * mix["out_of_scope"]


def test_a_shop_sets_its_own_shares(tmp_path):
    cfg = tmp_path / "shop.yml"
    cfg.write_text(SHOP_CONFIG.read_text(encoding="utf-8") + "\nintent_mix:\n  bulk_order: 20\n", encoding="utf-8")
    mix = shop_mix(cfg)
    assert mix["bulk_order"] > mix["ask_product"]  # a wholesale shop
    cfg.write_text("intent_mix:\n  buy_now: 3\n", encoding="utf-8")
    with pytest.raises(IntentMixError, match="unknown intent 'buy_now'"):
        shop_mix(cfg)
    cfg.write_text("intent_mix:\n  thank: -1\n", encoding="utf-8")
    with pytest.raises(IntentMixError, match="positive share"):
        shop_mix(cfg)


def test_the_correction_moves_probability_toward_common_intents():
    classes = ["ask_product", "out_of_scope"]
    training = {"ask_product": 0.5, "out_of_scope": 0.5}  # balanced training data
    real = {"ask_product": 0.9, "out_of_scope": 0.1}
    full = prior_factors(classes, training, real, strength=1.0)
    p = np.array([0.5, 0.5]) * full
    assert (p / p.sum()) == pytest.approx([0.9, 0.1])  # an undecided reading follows the mix
    assert prior_factors(classes, training, real, strength=0.0) == pytest.approx([1.0, 1.0])
