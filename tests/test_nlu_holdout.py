"""The NLU on messages training never sees: the held-back split (tests/nlu/holdout_*.yml),
a second split by a writer who saw neither the training data nor the first split
(tests/nlu/writer2/), and the situation-first split in the real intent mix, by six blind
writers (tests/nlu/situations/): the split to trust.

Floors, not exact figures: every intent must be recognised reasonably on its own, and the
whole split well. `xiaoer eval` (with `--split` for the second) prints the full report.
"""

import functools

import pytest
import requests

from bot import settings
from bot.nlu.evaluation import FALLBACK, SPLITS, Prediction, load_holdout, load_training_texts, near_duplicates, score

pytestmark = pytest.mark.servers

# Training is deterministic (fixed folds and seeds), so these move only when data or code do.
# (accuracy, macro-F1) per split. Measured: held-back 0.937/0.939 (its prototypes were labelled
# before the real-traffic boundaries: 退回去算了 → refund, 订单留言 放门卫 → modify_order),
# writer2 0.976/0.977, situations 0.967/0.964.
FLOORS = {"held-back": (0.93, 0.93), "writer2": (0.95, 0.95), "situations": (0.95, 0.95)}
PER_INTENT_F1_FLOOR = 0.8  # the weakest intents measured 0.83-0.84
OUT_OF_SCOPE_CAUGHT = 0.9  # measured 1.0 in each: off-topic messages end in out_of_scope or fallback
ENTITY_F1_FLOOR = {"order_id": 0.9, "height": 0.9, "weight": 0.9, "size": 0.9}  # held-back split


@functools.lru_cache(maxsize=None)  # one parse of each split per test session
def _report(rasa_url: str, split: str):
    examples = load_holdout(split=SPLITS[split])
    preds = []
    with requests.Session() as http:
        for ex in examples:
            parsed = http.post(rasa_url + "/model/parse", params={"token": settings.secret("rasa")},
                               json={"text": ex.text}, timeout=30).json()  # fmt: skip
            ents = [(e["entity"], e["start"], e["end"]) for e in parsed.get("entities", [])]
            intent = parsed.get("intent") or {}
            preds.append(Prediction(intent.get("name") or FALLBACK, intent.get("confidence") or 0.0, ents, 0.0))
    return score(examples, preds)


@pytest.fixture(params=sorted(SPLITS))
def split(request) -> str:
    return request.param


@pytest.fixture()
def report(split, servers):
    return _report(servers.urls["rasa"], split)


# Messages per intent that are not near-duplicates of training examples: the held-back split
# promises 15; the others were written blind and are kept as they came.
NEW_PER_INTENT = {"held-back": 15, "writer2": 5, "situations": 5}


def test_every_intent_is_tested_on_new_messages(split):
    examples = load_holdout(split=SPLITS[split])
    twins = near_duplicates(examples, load_training_texts())
    counts = {}
    for ex, twin in zip(examples, twins):
        counts[ex.intent] = counts.get(ex.intent, 0) + (twin is None)
    assert len(counts) == 30
    assert min(counts.values()) >= NEW_PER_INTENT[split], counts


def test_overall_accuracy_and_macro_f1(split, report):
    accuracy, macro_f1 = FLOORS[split]
    assert report.accuracy >= accuracy and report.macro_f1 >= macro_f1, (report.accuracy, report.macro_f1)


def test_every_intent_has_a_floor(report):
    weak = {i: round(s["f1"], 2) for i, s in report.per_intent.items() if s["f1"] < PER_INTENT_F1_FLOOR}
    assert not weak, f"intents below F1 {PER_INTENT_F1_FLOOR}: {weak}"


def test_off_topic_messages_are_not_read_as_shop_requests(report):
    assert report.out_of_scope_caught() >= OUT_OF_SCOPE_CAUGHT


def test_entities_on_the_held_back_split(servers):  # the second split has only a handful of each
    report = _report(servers.urls["rasa"], "held-back")
    for kind, floor in ENTITY_F1_FLOOR.items():
        assert report.entity_scores[kind]["f1"] >= floor, (kind, report.entity_scores[kind])
