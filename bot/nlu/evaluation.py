"""NLU evaluation on the held-back split (tests/nlu/holdout_*.yml), which training never sees.

Prints and saves (reports/nlu.md + reports/confusion.png): accuracy, macro-F1, per-intent
precision/recall/F1, the most confused pairs, the fallback rate, entity F1 by type, and
parse latency. Used by `xiaoer eval` and by the test suite's per-intent floors.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot import settings
from bot.nlu.classifier import normalise
from bot.nlu.intents import FALLBACK
from bot.nlu.priors import shop_mix

HOLDOUT_GLOB = "tests/nlu/holdout_*.yml"
# Every split the project tests on, by name: the held-back split, a second writer's, and the
# situation-first split in the real intent mix.
SPLITS = {
    "held-back": HOLDOUT_GLOB,
    "writer2": "tests/nlu/writer2/*.yml",
    # Written situation first, blind, in the real intent mix: the split to trust.
    "situations": "tests/nlu/situations/*.yml",
}
TRAINING_GLOB = "data/nlu/**/*.yml"
# A held-back message whose character bigrams overlap a training example's this much
# (Jaccard, after normalisation) tests memory rather than understanding.
NEAR_DUPLICATE_JACCARD = 0.7


@dataclass
class Example:
    text: str
    intent: str
    entities: List[Tuple[str, int, int]]  # (type, start, end)


@dataclass
class Prediction:
    intent: str
    confidence: float
    entities: List[Tuple[str, int, int]]
    seconds: float


@dataclass
class Report:
    examples: List[Example]
    predictions: List[Prediction]
    per_intent: Dict[str, Dict[str, float]] = field(default_factory=dict)
    entity_scores: Dict[str, Dict[str, float]] = field(default_factory=dict)
    # For each held-back message, the training example it nearly repeats (if any).
    near_duplicates: List[Optional[str]] = field(default_factory=list)

    def novel_accuracy(self) -> float:
        """Accuracy on the held-back messages that are not near-duplicates of training data."""
        pairs = [(e, p) for e, p, twin in zip(self.examples, self.predictions, self.near_duplicates) if twin is None]
        return sum(p.intent == e.intent for e, p in pairs) / len(pairs)

    def novel_per_intent(self) -> Dict[str, int]:
        counts: Counter = Counter()
        for example, twin in zip(self.examples, self.near_duplicates or [None] * len(self.examples)):
            counts[example.intent] += twin is None
        return dict(counts)

    @property
    def accuracy(self) -> float:
        hits = sum(p.intent == e.intent for e, p in zip(self.examples, self.predictions))
        return hits / len(self.examples)

    def mix_accuracy(self, mix: Dict[str, float]) -> float:
        """Accuracy as a shop would see it: each intent's recall weighted by its share of real
        traffic (`mix`), not by how many messages the split happens to hold of it."""
        present = {i: share for i, share in mix.items() if self.per_intent.get(i, {}).get("support")}
        return sum(share * self.per_intent[i]["recall"] for i, share in present.items()) / sum(present.values())

    @property
    def macro_f1(self) -> float:
        return statistics.mean(s["f1"] for s in self.per_intent.values())

    def out_of_scope_caught(self) -> Optional[float]:
        """Share of off-topic messages that end in out_of_scope or fallback, not a shop intent."""
        off_topic = [p.intent for e, p in zip(self.examples, self.predictions) if e.intent == "out_of_scope"]
        return sum(i in ("out_of_scope", FALLBACK) for i in off_topic) / len(off_topic) if off_topic else None

    @property
    def fallback_rate(self) -> float:
        return sum(p.intent == FALLBACK for p in self.predictions) / len(self.predictions)

    def confused_pairs(self, top: int = 12) -> List[Tuple[str, str, int]]:
        pairs = Counter((e.intent, p.intent) for e, p in zip(self.examples, self.predictions) if e.intent != p.intent)
        return [(a, b, n) for (a, b), n in pairs.most_common(top)]

    def latency_ms(self) -> Dict[str, float]:
        ms = sorted(p.seconds * 1000 for p in self.predictions)
        return {
            "p50": statistics.median(ms),
            "p95": ms[int(len(ms) * 0.95) - 1],
            "per_second": 1000 / statistics.mean(ms),
        }


def load_holdout(root: Optional[Path] = None, split: str = HOLDOUT_GLOB) -> List[Example]:
    """Labelled messages to test on: `split` is a glob of Rasa NLU files under `root`."""
    from rasa.shared.nlu.training_data.loading import load_data

    root = root or settings.ROOT
    examples = []
    for path in sorted(root.glob(split)):
        for msg in load_data(str(path)).intent_examples:
            ents = [(e["entity"], e["start"], e["end"]) for e in msg.get("entities") or []]
            examples.append(Example(msg.get("text"), msg.get("intent"), ents))
    return examples


def load_training_texts(root: Optional[Path] = None) -> List[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    root = root or settings.ROOT
    return [m.get("text") for path in sorted(root.glob(TRAINING_GLOB)) for m in load_data(str(path)).intent_examples]


def _bigrams(text: str) -> frozenset:
    t = normalise(text).replace(" ", "")
    return frozenset(t[i : i + 2] for i in range(len(t) - 1)) or frozenset([t])


def near_duplicates(
    examples: Sequence[Example], training: Sequence[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> List[Optional[str]]:
    """For each example, the most similar training text if it is a near-duplicate, else None."""
    index: Dict[str, List[int]] = defaultdict(list)
    grams = [_bigrams(t) for t in training]
    for i, g in enumerate(grams):
        for b in g:
            index[b].append(i)
    out: List[Optional[str]] = []
    for ex in examples:
        mine = _bigrams(ex.text)
        candidates = {i for b in mine for i in index.get(b, ())}
        best, best_score = None, 0.0
        for i in candidates:
            score_ = len(mine & grams[i]) / len(mine | grams[i])
            if score_ > best_score:
                best, best_score = training[i], score_
        out.append(best if best_score >= threshold else None)
    return out


def _f1(tp: int, fp: int, fn: int) -> Dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def score(examples: Sequence[Example], predictions: Sequence[Prediction]) -> Report:
    report = Report(list(examples), list(predictions))
    for intent in sorted({e.intent for e in examples}):
        tp = sum(e.intent == intent and p.intent == intent for e, p in zip(examples, predictions))
        fp = sum(e.intent != intent and p.intent == intent for e, p in zip(examples, predictions))
        fn = sum(e.intent == intent and p.intent != intent for e, p in zip(examples, predictions))
        report.per_intent[intent] = _f1(tp, fp, fn)
    counts: Dict[str, Counter] = defaultdict(Counter)
    for e, p in zip(examples, predictions):
        gold, pred = set(e.entities), set(p.entities)
        for kind in {k for k, _, _ in gold | pred}:
            g = {x for x in gold if x[0] == kind}
            q = {x for x in pred if x[0] == kind}
            counts[kind]["tp"] += len(g & q)
            counts[kind]["fp"] += len(q - g)
            counts[kind]["fn"] += len(g - q)
    report.entity_scores = {k: _f1(c["tp"], c["fp"], c["fn"]) for k, c in sorted(counts.items())}
    return report


def predict(model: Path, examples: Sequence[Example], progress: bool = True) -> List[Prediction]:
    """Parse every example with the trained model, in this process, timing each parse."""
    from rasa.core.agent import Agent

    async def _run() -> List[Prediction]:
        agent = Agent.load(str(model))
        out = []
        for i, ex in enumerate(examples, 1):
            start = time.perf_counter()
            parsed = await agent.parse_message(ex.text)
            took = time.perf_counter() - start
            ents = [(e["entity"], e["start"], e["end"]) for e in parsed.get("entities", [])]
            intent = parsed.get("intent") or {}
            out.append(Prediction(intent.get("name") or FALLBACK, intent.get("confidence") or 0.0, ents, took))
            if progress and (i % 50 == 0 or i == len(examples)):
                print(f"\r  parsed {i}/{len(examples)}", end="", flush=True)
        if progress:
            print()
        return out

    return asyncio.run(_run())


def summary(report: Report) -> Dict[str, object]:
    return {
        "accuracy": round(report.accuracy, 4),
        "macro_f1": round(report.macro_f1, 4),
        "fallback_rate": round(report.fallback_rate, 4),
        "real_mix_accuracy": round(report.mix_accuracy(shop_mix()), 4),
        "messages": len(report.examples),
        "f1": {intent: round(s["f1"], 4) for intent, s in report.per_intent.items()},
    }


def compare(models: Dict[str, Path], splits: Optional[Dict[str, str]] = None) -> Dict[str, Dict[str, object]]:
    """Each model on each split: {split: {model name: summary}}. One parse per model."""
    splits = splits or SPLITS
    examples = {name: load_holdout(split=glob) for name, glob in splits.items()}
    everything = [ex for name in splits for ex in examples[name]]
    out: Dict[str, Dict[str, object]] = {name: {} for name in splits}
    for model_name, path in models.items():
        predictions = iter(predict(path, everything, progress=False))
        for split_name in splits:
            mine = [next(predictions) for _ in examples[split_name]]
            out[split_name][model_name] = summary(score(examples[split_name], mine))
    return out


def markdown(report: Report, title: str) -> str:
    lat = report.latency_ms()
    mix = shop_mix()
    lines = [
        f"# {title}",
        "",
        f"- messages: {len(report.examples)} held back ({len(report.per_intent)} intents)",
        f"- accuracy: **{report.accuracy:.3f}**, macro-F1: **{report.macro_f1:.3f}**",
        f"- accuracy in the real intent mix (each intent's recall weighted by its share of real "
        f"traffic, bot/nlu/priors.py): **{report.mix_accuracy(mix):.3f}**",
        f"- fallback rate: {report.fallback_rate:.1%}",
    ]
    if report.out_of_scope_caught() is not None:
        lines.append(f"- out-of-scope messages ending in out_of_scope or fallback: {report.out_of_scope_caught():.0%}")
    if report.near_duplicates:
        novel = report.novel_per_intent()
        lines.append(
            f"- not near-duplicates of training examples (bigram Jaccard < {NEAR_DUPLICATE_JACCARD}): "
            f"{sum(novel.values())} of {len(report.examples)}, at least {min(novel.values())} per intent; "
            f"accuracy on those: {report.novel_accuracy():.3f}"
        )
    lines += [
        f"- parse latency: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms "
        f"({lat['per_second']:.0f} parses/s, one process)",
        "",
        "| intent | share of real traffic | precision | recall | F1 | n |",
        "|---|---|---|---|---|---|",
    ]
    for intent, s in sorted(report.per_intent.items(), key=lambda kv: kv[1]["f1"]):
        lines.append(
            f"| {intent} | {mix.get(intent, 0):.1%} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} "
            f"| {s['support']} |"
        )
    lines += ["", "Most confused (gold → predicted):", "", "| gold | predicted | n |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {n} |" for a, b, n in report.confused_pairs()]
    lines += [
        "",
        "Entities (exact span and type):",
        "",
        "| entity | precision | recall | F1 | n |",
        "|---|---|---|---|---|",
    ]
    for kind, s in report.entity_scores.items():
        lines.append(f"| {kind} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} | {s['support']} |")
    # What a trainer reviews: every misread message, by gold intent, least confident first.
    misread = sorted(
        ((e, p) for e, p in zip(report.examples, report.predictions) if e.intent != p.intent),
        key=lambda ep: (ep[0].intent, ep[1].confidence),
    )
    lines += [
        "",
        f"Misread messages ({len(misread)}):",
        "",
        "| message | gold | predicted | confidence |",
        "|---|---|---|---|",
    ]
    lines += [f"| {e.text.replace('|', '¦')} | {e.intent} | {p.intent} | {p.confidence:.2f} |" for e, p in misread]
    return "\n".join(lines) + "\n"


def side_by_side(reports: Dict[str, Report], title: str) -> str:
    """The splits' figures in one table, then each intent's F1 on each split (weakest first on
    the last split, the one in the real mix), so a trainer sees what a shop would see."""
    mix = shop_mix()
    names = list(reports)
    lines = [
        f"# {title}",
        "",
        "| split | messages | accuracy | macro-F1 | accuracy in the real mix | fallback | accuracy on messages "
        "unlike any training example |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in reports.items():
        novel = f"{r.novel_accuracy():.3f} ({sum(r.novel_per_intent().values())})" if r.near_duplicates else "–"
        lines.append(
            f"| {name} | {len(r.examples)} | **{r.accuracy:.3f}** | **{r.macro_f1:.3f}** | {r.mix_accuracy(mix):.3f} "
            f"| {r.fallback_rate:.1%} | {novel} |"
        )
    last = reports[names[-1]]
    lines += [
        "",
        "F1 per intent:",
        "",
        "| intent | share of real traffic | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for intent in sorted(last.per_intent, key=lambda i: last.per_intent[i]["f1"]):
        cells = [
            f"{reports[n].per_intent[intent]['f1']:.2f}" if intent in reports[n].per_intent else "–" for n in names
        ]
        lines.append(f"| {intent} | {mix.get(intent, 0):.1%} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def confusion_png(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(report.per_intent) + [FALLBACK]
    matrix = confusion_matrix(
        [e.intent for e in report.examples], [p.intent for p in report.predictions], labels=labels
    )
    fig, ax = plt.subplots(figsize=(12, 11))
    ax.imshow(matrix, cmap="Oranges")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title("NLU confusion on the held-back split")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
