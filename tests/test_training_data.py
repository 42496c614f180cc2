"""The NLU training data is complete and clean by Rasa's own validator."""

import os
import re
import subprocess
from collections import Counter

import yaml

from bot.nlu.intents import CONSOLE_EVENTS
from bot.nlu.training import rasa_bin
from bot.settings import ROOT

MIN_EXAMPLES = 80
BUSY_INTENTS = [
    "greet",
    "ask_ship_time",
    "track_package",
    "request_refund",
    "ask_size",
    "bargain",
    "ask_product",
    "ask_promotion",
]


def _counts() -> Counter:
    from rasa.shared.nlu.training_data.loading import load_data

    return Counter(
        m.get("intent") for p in sorted(ROOT.glob("data/nlu/**/*.yml")) for m in load_data(str(p)).intent_examples
    )


def test_every_intent_has_enough_examples():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    counts = _counts()
    short = {i: counts[i] for i in domain["intents"] if i not in CONSOLE_EVENTS and counts[i] < MIN_EXAMPLES}
    assert not short, f"intents under {MIN_EXAMPLES} examples: {short}"
    assert all(counts[i] >= 150 for i in BUSY_INTENTS), {i: counts[i] for i in BUSY_INTENTS}
    assert all(counts[i] >= 1 for i in CONSOLE_EVENTS)


def test_rasa_data_validate_is_clean():
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [rasa_bin(), "data", "validate", "--fail-on-warnings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "UserWarning" in line]
    assert result.returncode == 0 and not complaints, "\n".join(complaints) or result.stderr[-2000:]


def test_every_intent_has_a_chinese_name_for_the_pages():
    from bot.nlu.intents import CONSOLE_EVENTS, FALLBACK, INTENT_LABELS, INTENTS

    assert set(INTENTS) | CONSOLE_EVENTS | {FALLBACK} == set(INTENT_LABELS)
    assert all(re.fullmatch(r"[\u4e00-\u9fff/]+", label) for label in INTENT_LABELS.values())
