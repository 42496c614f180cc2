"""Tuning aid: parse a split once and score several fallback thresholds.

    .venv/bin/python tuning/thresholds.py models/xiaoer-<hash>.tar.gz [split name, default situations]

FallbackClassifier only relabels low-confidence messages, so the thresholds can be
simulated from one parse instead of one training run each.
"""

import asyncio
import sys

from bot.nlu.evaluation import FALLBACK, SPLITS, Prediction, load_holdout, score


async def _parse(model, examples):
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    return [await agent.parse_message(e.text) for e in examples]


def main() -> None:
    examples = load_holdout(split=SPLITS[sys.argv[2] if len(sys.argv) > 2 else "situations"])
    parsed = asyncio.run(_parse(sys.argv[1], examples))
    for threshold in (0.0, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6):
        for ambiguity in (0.0, 0.05, 0.1):
            preds = []
            for p in parsed:
                ranking = [r for r in p["intent_ranking"] if r["name"] != FALLBACK]
                top = ranking[0]
                second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
                unsure = top["confidence"] < threshold or top["confidence"] - second < ambiguity
                preds.append(Prediction(FALLBACK if unsure else top["name"], top["confidence"], [], 0.0))
            r = score(examples, preds)
            oos = [p.intent for e, p in zip(examples, preds) if e.intent == "out_of_scope"]
            oos_ok = sum(i in ("out_of_scope", FALLBACK) for i in oos) / len(oos)
            print(
                f"threshold {threshold:.2f} ambiguity {ambiguity:.2f}: accuracy {r.accuracy:.3f} "
                f"macro-F1 {r.macro_f1:.3f} fallback {r.fallback_rate:.1%} out_of_scope→oos/fallback {oos_ok:.0%}"
            )


if __name__ == "__main__":
    main()
