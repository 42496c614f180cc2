"""Size advice (尺码推荐): one concrete size from the buyer's height and weight.

The handbook (§2) says a size chart alone is not an answer: the buyer gets one size, the
model's height/weight/size as a reference, and a clear word on whether the cut is standard.
Weight (girth) decides, because a shirt that is a little long is wearable and one that is
tight across the chest is not; height only moves the size up for length. A buyer beyond the
chart is told so honestly: close to its end they get the nearest size with a caveat, further
out a person takes over, so a waist of 70 never gets an 80.

Ranges in a chart meet at their ends (M is 52.5–60 kg, L is 60–67.5 kg). A buyer exactly on
a boundary gets the larger size: at the top of a range the garment is at its tightest.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from bot.shop.replies import Reply
from bot.store.models import HandoffReason, Product, SizeChartRow

# Handoff reason when no size in the chart fits the buyer: an agent compares measurements.
OFF_CHART_HANDOFF = HandoffReason.SIZE_OFF_CHART


class SizeReason(enum.StrEnum):
    """Why a size was chosen; size_reply turns most of them into a note for the buyer."""

    MATCHES_CHART = "matches_chart"  # height and weight both fall in the size's row
    WEIGHT_ONLY = "weight_only"  # no height given: weight alone decided
    HEIGHT_ONLY = "height_only"  # no weight given: a rough guess from height
    TALL_FOR_WEIGHT = "tall_for_weight"  # taller than the weight's row: one size up for length
    SHORT_FOR_WEIGHT = "short_for_weight"  # shorter than the weight's row: weight decides, a bit long
    LENGTH_SHORT = "length_short"  # taller than even the recommended size: may still be short
    RUNS_SMALL = "runs_small"  # slim cut: the chest needs one size more than the chart says
    RUNS_LARGE = "runs_large"  # loose cut: regular size recommended, one smaller for a fitted look
    BELOW_CHART = "below_chart"  # lighter than the smallest size: smallest, a bit loose
    ABOVE_CHART = "above_chart"  # heavier than the largest size allows: largest, may be snug
    OFF_CHART_LIGHT = "off_chart_light"  # far lighter than the smallest size: no size, handoff
    OFF_CHART_HEAVY = "off_chart_heavy"  # far heavier than the largest size: no size, handoff


@dataclass(frozen=True)
class SizeAdvice:
    size: Optional[str]  # None: no size of this product fits; a person must advise
    reasons: Tuple[SizeReason, ...]
    smaller_option: Optional[str] = None  # loose cut: the size to take for a fitted look
    closest: Optional[str] = None  # off chart: the nearest size, named in the honest answer


def recommend_size(product: Product, height_cm: Optional[int], weight_kg: Optional[float]) -> SizeAdvice:
    """The one size to recommend for this product, and why.

    Needs at least one of height and weight (ValueError otherwise); with only a height the
    advice is a rough guess (HEIGHT_ONLY), which is why size_reply asks for both.
    """
    rows: Sequence[SizeChartRow] = product.size_chart
    if not rows:
        raise ValueError(f"product {product.sku} has no size chart")
    if weight_kg is None and height_cm is None:
        raise ValueError("need the buyer's height or weight")
    last = len(rows) - 1
    # A slim cut measures one size down, so the chest needs one size more than the chart says.
    fit_shift = 1 if product.fit == "runs_small" else 0

    reasons: List[SizeReason] = []
    if weight_kg is None:
        girth = min(max(_height_row(rows, height_cm), 0), last)
        reasons.append(SizeReason.HEIGHT_ONLY)
    else:
        girth = _weight_row(rows, weight_kg)
        if girth < 0:
            if rows[0].weight_min_kg - weight_kg > _half_step(rows[0]):
                return SizeAdvice(None, (SizeReason.OFF_CHART_LIGHT,), closest=rows[0].size)
            girth = 0
            reasons.append(SizeReason.BELOW_CHART)

    # Beyond the largest size (by weight, or by the slim cut's extra size): the largest size
    # with a caveat while the buyer is within half a size of what it holds, else a person.
    if girth + fit_shift > last:
        holds = rows[last - fit_shift].weight_max_kg
        if weight_kg is not None and weight_kg - holds > _half_step(rows[last]):
            return SizeAdvice(None, (SizeReason.OFF_CHART_HEAVY,), closest=rows[last].size)
        chosen = last
        reasons.append(SizeReason.ABOVE_CHART)
        if height_cm is not None and _height_row(rows, height_cm) > last - fit_shift:
            reasons.append(SizeReason.LENGTH_SHORT)
    else:
        chosen = girth + fit_shift
        if weight_kg is not None and height_cm is not None:
            chosen = _adjust_for_height(rows, girth, chosen, height_cm, fit_shift, reasons)
        elif height_cm is None:
            reasons.append(SizeReason.WEIGHT_ONLY)

    smaller = None
    if product.fit == "runs_small":
        reasons.append(SizeReason.RUNS_SMALL)
    elif product.fit == "runs_large":
        reasons.append(SizeReason.RUNS_LARGE)
        # A fitted option only when one size smaller still fits: not for a buyer at the
        # chart's top, nor one sized up for length (the smaller size would be short).
        no_room = {SizeReason.ABOVE_CHART, SizeReason.TALL_FOR_WEIGHT, SizeReason.LENGTH_SHORT}
        if chosen > 0 and not no_room & set(reasons):
            smaller = rows[chosen - 1].size
    return SizeAdvice(rows[chosen].size, tuple(reasons), smaller_option=smaller)


def _adjust_for_height(
    rows: Sequence[SizeChartRow], girth: int, chosen: int, height_cm: int, fit_shift: int, reasons: List[SizeReason]
) -> int:
    """Height only ever adds length: one size up when the buyer is taller than the girth's
    row. Appends the reason and returns the size index to recommend."""
    last = len(rows) - 1
    tallness = _height_row(rows, height_cm)
    if tallness > girth:
        if chosen < last:
            chosen += 1
            reasons.append(SizeReason.TALL_FOR_WEIGHT)
        # Still taller than the row whose length the chosen size has (a slim cut is a size
        # shorter too): say the length may be short rather than size up again.
        if tallness > chosen - fit_shift:
            reasons.append(SizeReason.LENGTH_SHORT)
    elif tallness < girth:
        reasons.append(SizeReason.SHORT_FOR_WEIGHT)
    elif SizeReason.BELOW_CHART not in reasons:
        reasons.append(SizeReason.MATCHES_CHART)
    return chosen


def _weight_row(rows: Sequence[SizeChartRow], kg: float) -> int:
    return _position(kg, [(r.weight_min_kg, r.weight_max_kg) for r in rows])


def _height_row(rows: Sequence[SizeChartRow], cm: float) -> int:
    return _position(cm, [(r.height_min_cm, r.height_max_cm) for r in rows])


def _position(value: float, ranges: Sequence[Tuple[float, float]]) -> int:
    """The range a value falls in: -1 below the first, len(ranges) above the last.

    A value on the boundary between two ranges belongs to the larger one; the last range
    keeps its own upper bound.
    """
    if value < ranges[0][0]:
        return -1
    for i, (_, high) in enumerate(ranges):
        if value < high:
            return i
    return len(ranges) - 1 if value == ranges[-1][1] else len(ranges)


def _half_step(row: SizeChartRow) -> float:
    """How far past the chart's end a buyer may be and still get its end size: half that
    row's weight range, i.e. half a size."""
    return (row.weight_max_kg - row.weight_min_kg) / 2


def _jin(kg: float) -> float:
    """Buyers think in 斤 (1 斤 = 0.5 kg); quote weights back in their unit."""
    return round(kg * 2, 1)


# What each reason adds to the recommendation, in the order it is said (RUNS_LARGE comes
# with its fitted option, below).
_NOTES = {
    SizeReason.TALL_FOR_WEIGHT: "size.note_tall",
    SizeReason.SHORT_FOR_WEIGHT: "size.note_short",
    SizeReason.LENGTH_SHORT: "size.note_length_short",
    SizeReason.BELOW_CHART: "size.note_below_chart",
    SizeReason.ABOVE_CHART: "size.note_above_chart",
    SizeReason.RUNS_SMALL: "size.note_runs_small",
}


def size_reply(
    product: Product,
    height_cm: Optional[int],
    weight_kg: Optional[float],
    asked_size: Optional[str] = None,
) -> List[Reply]:
    """Answer "170 130斤穿多大 / 一米八 160斤 XL够吗": ask for what is missing, else one size,
    why, whether the cut is standard, and the model as a reference.

    asked_size is the canonical size code from the NLU (M, XL, 2XL, ...).
    """
    if height_cm is None and weight_kg is None:
        return [Reply("size.ask_body")]
    if weight_kg is None:
        return [Reply("size.ask_weight", {"height": height_cm})]
    if height_cm is None:
        return [Reply("size.ask_height", {"weight_jin": _jin(weight_kg)})]

    advice = recommend_size(product, height_cm, weight_kg)
    body = {"height": height_cm, "weight_jin": _jin(weight_kg)}
    if advice.size is None:
        return [_off_chart_reply(product, advice, body)]

    size_slots = {**body, "size": advice.size}
    replies = [_main_reply(product, advice, size_slots, asked_size)]
    replies += [Reply(note, {"size": advice.size}) for reason, note in _NOTES.items() if reason in advice.reasons]
    if SizeReason.RUNS_LARGE in advice.reasons:
        if advice.smaller_option:
            replies.append(Reply("size.note_runs_large", {"size": advice.size, "smaller_size": advice.smaller_option}))
        else:
            replies.append(Reply("size.note_runs_large_loose", {"size": advice.size}))
    elif product.fit == "standard":
        replies.append(Reply("size.note_true_to_size"))
    replies += _model_reference(product)
    return replies


def _main_reply(product: Product, advice: SizeAdvice, slots: dict, asked_size: Optional[str]) -> Reply:
    """The recommendation itself, or the verdict on the size the buyer asked about."""
    if not asked_size:
        return Reply("size.recommend", slots)
    sizes = [_canonical(row.size) for row in product.size_chart]
    asked = _canonical(asked_size)
    slots = {**slots, "asked_size": asked}
    if asked not in sizes:
        return Reply("size.asked_not_offered", slots)
    if asked == _canonical(advice.size):
        # At the chart's edge the size is the best there is, not "just right": recommend it
        # plainly and let the caveat note that follows say why.
        if {SizeReason.BELOW_CHART, SizeReason.ABOVE_CHART} & set(advice.reasons):
            return Reply("size.recommend", slots)
        return Reply("size.asked_fits", slots)
    if advice.smaller_option and asked == _canonical(advice.smaller_option):
        return Reply("size.asked_fitted", slots)
    if sizes.index(asked) < sizes.index(_canonical(advice.size)):
        return Reply("size.asked_too_small", slots)
    return Reply("size.asked_too_big", slots)


def _canonical(size: str) -> str:
    """xl → XL, XXL → 2XL, "L码" → L: the chart's spelling, so sizes compare."""
    code = size.strip().upper().rstrip("码号")
    if re.fullmatch(r"X{2,}L", code):
        return f"{len(code) - 1}XL"
    return code


def _off_chart_reply(product: Product, advice: SizeAdvice, body: dict) -> Reply:
    """Honest answer when no size fits: name the nearest size and its limit, hand over."""
    row = next(r for r in product.size_chart if r.size == advice.closest)
    if SizeReason.OFF_CHART_HEAVY in advice.reasons:
        return Reply(
            "size.off_chart_heavy",
            {**body, "size": row.size, "limit_weight_jin": _jin(row.weight_max_kg)},
            handoff_reason=OFF_CHART_HANDOFF,
        )
    return Reply(
        "size.off_chart_light",
        {**body, "size": row.size, "limit_weight_jin": _jin(row.weight_min_kg)},
        handoff_reason=OFF_CHART_HANDOFF,
    )


def _model_reference(product: Product) -> List[Reply]:
    """The model's height, weight and size, when the product page has them."""
    if not (product.model_height_cm and product.model_weight_kg and product.model_size):
        return []
    return [
        Reply(
            "size.model_reference",
            {
                "model_height": product.model_height_cm,
                "model_weight_jin": _jin(product.model_weight_kg),
                "model_size": product.model_size,
            },
        )
    ]


_FIT_PHRASES = {"runs_small": "size.fit_runs_small", "runs_large": "size.fit_runs_large"}


def fit_reply(product: Product) -> List[Reply]:
    """Answer "偏大吗 / 偏小吗 / 标准码吗" without body data: how the cut runs, the model as a
    reference, and an invite to send height and weight for a concrete size."""
    return [Reply(_FIT_PHRASES.get(product.fit, "size.fit_standard")), *_model_reference(product)]
