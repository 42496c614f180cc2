"""A shop's own model: the tea shop's examples and words over the shared data, serving that shop's
buyers in the same Rasa server, while the other shop keeps the shared model and its own reading.

The tea shop's test split (tests/nlu/shops/shiye.yml) was written blind to its training examples
(shops/shiye/data/nlu) by another writer; neither model trains on it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import settings
from bot.nlu.evaluation import load_holdout, predict, score
from bot.nlu.training import has_own_model, model_path, shop_config
from bot.store.db import session_scope
from bot.store.models import Conversation, Message
from tests.helpers import console_event, console_post, new_buyer

TEA, SHIRTS = "shiye", "qingshan"
TEA_SPLIT = "tests/nlu/shops/shiye.yml"


def test_only_a_shop_with_examples_of_its_own_gets_a_model():
    assert has_own_model(TEA) and not has_own_model(SHIRTS)
    assert model_path(shop_id=TEA).name.startswith(f"xiaoer-{TEA}-")


def test_the_shop_config_adds_the_shops_words_and_mix(tmp_path: Path):
    generated = yaml.safe_load(shop_config(TEA, settings.ROOT, settings.NLU_CONFIG, tmp_path).read_text("utf-8"))
    names = [c["name"] for c in generated["pipeline"]]
    shared = yaml.safe_load((settings.ROOT / settings.NLU_CONFIG).read_text("utf-8"))
    assert names == [c["name"] for c in shared["pipeline"]]  # the same pipeline, not a copy to drift
    tokenizer = next(c for c in generated["pipeline"] if c["name"] == "JiebaTokenizer")
    words = sorted(p.name for p in Path(tokenizer["dictionary_path"]).iterdir())
    assert "shop_words.txt" in words and f"{TEA}-tea_words.txt" in words
    classifier = next(c for c in generated["pipeline"] if c["name"].endswith("ShopIntentClassifier"))
    assert classifier["shop_config"] == f"shops/{TEA}/shop.yml"


@pytest.fixture(scope="module")
def tea_readings(model, shop_models):
    """The tea split read by the shared model and by the tea shop's own."""
    examples = load_holdout(split=TEA_SPLIT)
    assert len(examples) >= 100
    return examples, predict(model, examples, progress=False), predict(shop_models[TEA], examples, progress=False)


def test_the_tea_shops_model_reads_tea_buyers_at_least_as_well(tea_readings):
    """(Measured: the shared model already reads this split well, 0.980; the tea model 0.993.)"""
    examples, shared, own = tea_readings
    shared_accuracy, own_accuracy = score(examples, shared).accuracy, score(examples, own).accuracy
    print(f"tea split ({len(examples)}): shared model {shared_accuracy:.3f}, the tea shop's model {own_accuracy:.3f}")
    assert own_accuracy >= shared_accuracy
    assert own_accuracy >= 0.95


def test_the_tea_shops_model_still_reads_clothing_buyers(model, shop_models):
    """The shared examples are in the tea model too: adding a shop's data must not break them."""
    examples = load_holdout()
    shared = score(examples, predict(model, examples, progress=False)).accuracy
    own = score(examples, predict(shop_models[TEA], examples, progress=False)).accuracy
    assert own >= shared - 0.03


def test_a_shops_words_stay_in_its_own_model(model, shop_models):
    """Loading the tea model in the server (which holds the shared one too) does not change how
    the shared model cuts a message: each tokenizer has its own jieba."""
    from rasa.core.agent import Agent

    from connectors import shop_models as loader

    loader.apply()
    text = "这个龙井茶汤发浑 是受潮了吗"

    async def run():
        shared = Agent.load(str(model))
        tokenizer = _jieba_of(shared)
        before = [w for w, *_ in tokenizer.tokenize(text)]
        tea = Agent.load(str(shop_models[TEA]))
        after = [w for w, *_ in tokenizer.tokenize(text)]
        tea_cut = [w for w, *_ in _jieba_of(tea).tokenize(text)]
        return before, after, tea_cut

    before, after, tea_cut = asyncio.run(run())
    assert before == after
    assert "受潮" in tea_cut and before != tea_cut  # the tea model does know the shop's words


def _jieba_of(agent):
    """The jieba a loaded model's JiebaTokenizer cuts with."""
    from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer

    graph = agent.processor.graph_runner._instantiated_nodes  # Rasa 3.6's graph of loaded components
    tokenizer = next(node._component for node in graph.values() if isinstance(node._component, JiebaTokenizer))
    assert tokenizer.own_jieba is not None
    return tokenizer.own_jieba


@pytest.mark.servers
def test_the_server_reads_each_shops_buyers_with_that_shops_model(servers, tea_readings):
    """Messages the two models read differently, sent to both shops: each shop's stored reading
    is its own model's."""
    examples, shared, own = tea_readings
    differing = [
        (e.text, s.intent, o.intent)
        for e, s, o in zip(examples, shared, own)
        if s.intent != o.intent and o.intent == e.intent and s.intent != "nlu_fallback"
    ][:3]
    assert differing, "the two models should read some tea messages differently"
    for text, shared_intent, own_intent in differing:
        for shop_id, expected in ((TEA, own_intent), (SHIRTS, shared_intent)):
            event = console_event(new_buyer(), text, shop_id=shop_id)
            assert console_post(servers, event).status_code == 200
            with session_scope() as s:
                stored = s.execute(
                    select(Message.intent)
                    .join(Conversation)
                    .where(Conversation.shop_id == shop_id, Message.message_id == event["message_id"])
                ).scalar_one()
            assert stored == expected, (shop_id, text)
