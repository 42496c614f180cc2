"""Size advice: one concrete size from height and weight, honest beyond the chart (handbook §2)."""

import itertools
import random
from typing import List

import pytest
from sqlalchemy.orm import Session

from bot.nlu.numbers import weight_kg
from bot.seed import BASE_CHART
from bot.shop.phrases import library, shop_slots
from bot.shop.replies import Reply
from bot.shop.sizing import OFF_CHART_HANDOFF, SizeReason, fit_reply, recommend_size, size_reply
from bot.store.models import Product, SizeChartRow

SIZES = [row[0] for row in BASE_CHART]
_skus = itertools.count(1)


@pytest.fixture()
def session(shop_db):
    return shop_db


def make_product(session: Session, fit: str, model=(183, 70.0, "XL")) -> Product:
    """A product with the demo brand's chart (who each size fits is the same for every cut)."""
    height, weight, size = model
    product = Product(
        shop_id="qingshan",
        sku=f"T{next(_skus):03d}",
        title="纯棉短袖T恤",
        category="T恤",
        price_fen=7900,
        material="100%棉",
        fit=fit,
        model_height_cm=height,
        model_weight_kg=weight,
        model_size=size,
    )
    product.size_chart = [
        SizeChartRow(
            position=i,
            size=s,
            height_min_cm=hmin,
            height_max_cm=hmax,
            weight_min_kg=wmin,
            weight_max_kg=wmax,
            chest_cm=chest,
            length_cm=length,
        )
        for i, (s, hmin, hmax, wmin, wmax, chest, length) in enumerate(BASE_CHART)
    ]
    session.add(product)
    session.flush()
    return product


@pytest.fixture()
def standard(session):
    return make_product(session, "standard")


@pytest.fixture()
def slim(session):
    return make_product(session, "runs_small")


@pytest.fixture()
def loose(session):
    return make_product(session, "runs_large")


def ids(replies: List[Reply]) -> List[str]:
    return [r.phrase_id for r in replies]


# --- recommend_size ---------------------------------------------------------------------


def test_170cm_65kg_in_a_standard_cut_gets_L(standard):
    advice = recommend_size(standard, 170, 65.0)
    assert advice.size == "L"
    assert advice.reasons == (SizeReason.MATCHES_CHART,)


def test_same_buyer_in_a_slim_cut_gets_one_size_up(slim):
    advice = recommend_size(slim, 170, 65.0)
    assert advice.size == "XL"
    assert SizeReason.RUNS_SMALL in advice.reasons


def test_same_buyer_in_a_loose_cut_gets_the_regular_size_and_a_fitted_option(loose):
    advice = recommend_size(loose, 170, 65.0)
    assert advice.size == "L"
    assert advice.smaller_option == "M"
    assert SizeReason.RUNS_LARGE in advice.reasons


@pytest.mark.parametrize("said", ["130斤", "一百三十斤", "65kg", "65公斤"])
def test_weight_in_jin_or_kg_gives_the_same_size(standard, said):
    kg = weight_kg(said)
    assert kg == 65.0
    assert recommend_size(standard, 170, kg) == recommend_size(standard, 170, 65.0)


def test_tall_and_slim_sizes_up_once_for_length(standard):
    # 60 kg is an L by weight, 185 cm a 3XL by height: weight decides, one size up for length,
    # and the buyer is told the length may still be short rather than given a 3XL tent.
    advice = recommend_size(standard, 185, 60.0)
    assert advice.size == "XL"
    assert SizeReason.TALL_FOR_WEIGHT in advice.reasons
    assert SizeReason.LENGTH_SHORT in advice.reasons


def test_just_above_the_weights_height_range_sizes_up_without_length_warning(standard):
    advice = recommend_size(standard, 176, 65.0)
    assert advice.size == "XL"
    assert SizeReason.TALL_FOR_WEIGHT in advice.reasons
    assert SizeReason.LENGTH_SHORT not in advice.reasons


def test_short_and_heavy_goes_by_weight(standard):
    # 165 cm says M, 80 kg says 2XL: an M would not close across the chest.
    advice = recommend_size(standard, 165, 80.0)
    assert advice.size == "2XL"
    assert SizeReason.SHORT_FOR_WEIGHT in advice.reasons


def test_tall_and_slim_in_a_slim_cut_adds_both_steps(slim):
    advice = recommend_size(slim, 176, 65.0)
    assert advice.size == "2XL"
    assert {SizeReason.RUNS_SMALL, SizeReason.TALL_FOR_WEIGHT} <= set(advice.reasons)


def test_a_weight_on_a_boundary_takes_the_larger_size(standard):
    assert recommend_size(standard, 168, 60.0).size == "L"  # M ends at 60 kg, L starts there
    assert recommend_size(standard, 168, 59.9).size == "M"


def test_the_largest_size_keeps_its_own_upper_bound(standard):
    advice = recommend_size(standard, 190, 102.5)
    assert advice.size == "4XL"
    assert SizeReason.ABOVE_CHART not in advice.reasons


def test_weight_alone_is_enough_for_a_size(standard):
    advice = recommend_size(standard, None, 70.0)
    assert advice.size == "XL" and advice.reasons == (SizeReason.WEIGHT_ONLY,)


def test_no_body_data_is_an_error(standard):
    with pytest.raises(ValueError):
        recommend_size(standard, None, None)


@pytest.mark.parametrize("fit", ["standard", "runs_large"])
def test_never_a_size_too_small_or_more_than_one_up_in_a_regular_cut(session, fit):
    """A waist of 70 never gets an 80: across the chart the advice stays at the weight's row
    or one above it (for length), never below it."""
    product = make_product(session, fit)
    for height in range(150, 201, 2):
        for half_kg in range(90, 206):  # 45 kg … 102.5 kg in 0.5 kg steps
            kg = half_kg / 2
            weight_row = max(i for i, row in enumerate(BASE_CHART) if row[3] <= kg)
            advice = recommend_size(product, height, kg)
            assert weight_row <= SIZES.index(advice.size) <= weight_row + 1, (height, kg, advice)


# --- beyond the chart ---------------------------------------------------------------------


def test_slightly_heavier_than_the_largest_size_gets_it_with_a_caveat(standard):
    advice = recommend_size(standard, 182, 105.0)  # 4XL holds 102.5 kg; half a size over is 107.5
    assert advice.size == "4XL"
    assert SizeReason.ABOVE_CHART in advice.reasons
    replies = size_reply(standard, 182, 105.0)
    assert "size.note_above_chart" in ids(replies)
    assert all(r.handoff_reason is None for r in replies)


def test_far_heavier_than_the_largest_size_is_told_honestly_and_handed_over(standard):
    advice = recommend_size(standard, 182, 115.0)
    assert advice.size is None and advice.closest == "4XL"
    [reply] = size_reply(standard, 182, 115.0)
    assert reply.phrase_id == "size.off_chart_heavy"
    assert reply.handoff_reason == OFF_CHART_HANDOFF
    assert reply.slots["size"] == "4XL" and reply.slots["limit_weight_jin"] == 205
    assert reply.slots["weight_jin"] == 230


def test_a_slim_cut_runs_out_a_size_earlier(slim, standard):
    # 100 kg fits a regular 4XL, but a slim 4XL measures like a 3XL (up to 92.5 kg).
    assert recommend_size(standard, 188, 100.0).size == "4XL"
    assert recommend_size(slim, 188, 100.0).size is None
    near = recommend_size(slim, 188, 95.0)
    assert near.size == "4XL" and SizeReason.ABOVE_CHART in near.reasons


def test_slightly_lighter_than_the_smallest_size_gets_it_with_a_caveat(standard):
    advice = recommend_size(standard, 160, 43.0)  # S starts at 45 kg
    assert advice.size == "S"
    assert SizeReason.BELOW_CHART in advice.reasons
    assert "size.note_below_chart" in ids(size_reply(standard, 160, 43.0))


def test_far_lighter_than_the_smallest_size_is_handed_over(standard):
    advice = recommend_size(standard, 155, 38.0)
    assert advice.size is None and advice.closest == "S"
    [reply] = size_reply(standard, 155, 38.0)
    assert reply.phrase_id == "size.off_chart_light"
    assert reply.handoff_reason == OFF_CHART_HANDOFF
    assert reply.slots["limit_weight_jin"] == 90


def test_taller_than_the_chart_gets_a_length_caveat_not_a_bigger_chest(standard):
    advice = recommend_size(standard, 200, 95.0)
    assert advice.size == "4XL"
    assert SizeReason.LENGTH_SHORT in advice.reasons
    assert SizeReason.TALL_FOR_WEIGHT not in advice.reasons  # there is no larger size to go to


# --- size_reply ---------------------------------------------------------------------------


def test_missing_both_asks_for_height_and_weight(standard):
    assert size_reply(standard, None, None) == [Reply("size.ask_body")]


def test_missing_weight_asks_for_weight(standard):
    assert size_reply(standard, 170, None) == [Reply("size.ask_weight", {"height": 170})]


def test_missing_height_asks_for_height(standard):
    assert size_reply(standard, None, 65.0) == [Reply("size.ask_height", {"weight_jin": 130})]


def test_recommendation_cites_the_size_the_fit_and_the_model(standard):
    replies = size_reply(standard, 170, 65.0)
    assert ids(replies) == ["size.recommend", "size.note_true_to_size", "size.model_reference"]
    assert replies[0].slots == {"height": 170, "weight_jin": 130, "size": "L"}
    assert replies[2].slots == {"model_height": 183, "model_weight_jin": 140, "model_size": "XL"}


def test_slim_cut_reply_says_it_runs_small(slim):
    replies = size_reply(slim, 170, 65.0)
    assert replies[0].slots["size"] == "XL"
    assert "size.note_runs_small" in ids(replies)
    assert "size.note_true_to_size" not in ids(replies)


def test_loose_cut_reply_offers_one_smaller(loose):
    replies = size_reply(loose, 170, 65.0)
    [note] = [r for r in replies if r.phrase_id == "size.note_runs_large"]
    assert note.slots == {"size": "L", "smaller_size": "M"}


def test_a_tall_buyer_in_a_loose_cut_gets_no_smaller_option(loose):
    # Sized up for length: one smaller would be short again, so only "it is loose" is said.
    advice = recommend_size(loose, 185, 60.0)
    assert advice.size == "XL" and advice.smaller_option is None
    replies = size_reply(loose, 185, 60.0)
    assert "size.note_runs_large_loose" in ids(replies) and "size.note_runs_large" not in ids(replies)


def test_mismatch_notes_are_said(standard):
    assert "size.note_tall" in ids(size_reply(standard, 185, 60.0))
    assert "size.note_length_short" in ids(size_reply(standard, 185, 60.0))
    assert "size.note_short" in ids(size_reply(standard, 165, 80.0))


def test_no_model_reference_when_the_page_has_no_model(session):
    product = make_product(session, "standard", model=(None, None, None))
    assert "size.model_reference" not in ids(size_reply(product, 170, 65.0))
    assert ids(fit_reply(product)) == ["size.fit_standard"]


@pytest.mark.parametrize(
    "asked,phrase",
    [
        ("L", "size.asked_fits"),
        ("l", "size.asked_fits"),
        ("XL", "size.asked_too_big"),
        ("2XL", "size.asked_too_big"),
        ("M", "size.asked_too_small"),
        ("5XL", "size.asked_not_offered"),
    ],
)
def test_asked_size_is_judged(standard, asked, phrase):
    main = size_reply(standard, 170, 65.0, asked_size=asked)[0]
    assert main.phrase_id == phrase
    assert main.slots["size"] == "L"


def test_asked_size_xxl_is_the_charts_2xl(standard):
    main = size_reply(standard, 180, 78.0, asked_size="XXL")[0]
    assert main.phrase_id == "size.asked_fits" and main.slots["asked_size"] == "2XL"


def test_asking_the_smaller_size_in_a_loose_cut_is_fine_for_a_fitted_look(loose):
    main = size_reply(loose, 170, 65.0, asked_size="M")[0]
    assert main.phrase_id == "size.asked_fitted"
    assert main.slots["size"] == "L" and main.slots["asked_size"] == "M"


def test_asked_size_in_a_slim_cut_one_up_from_usual(slim):
    # "一米八 160斤 XL够吗": 80 kg is a 2XL by the chart, and the slim cut needs a 3XL.
    main = size_reply(slim, 180, weight_kg("160斤"), asked_size="XL")[0]
    assert main.phrase_id == "size.asked_too_small"
    assert main.slots["size"] == "3XL"


def test_asked_size_at_the_charts_edge_is_not_called_just_right(standard):
    main = size_reply(standard, 182, 105.0, asked_size="4XL")[0]
    assert main.phrase_id == "size.recommend"


# --- fit_reply ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fit,phrase",
    [
        ("standard", "size.fit_standard"),
        ("runs_small", "size.fit_runs_small"),
        ("runs_large", "size.fit_runs_large"),
    ],
)
def test_fit_reply_says_how_the_cut_runs_and_cites_the_model(session, fit, phrase):
    replies = fit_reply(make_product(session, fit))
    assert ids(replies) == [phrase, "size.model_reference"]


# --- every phrase renders -----------------------------------------------------------------


def test_every_size_phrase_renders_with_the_slots_the_logic_gives(session):
    standard, slim, loose = (make_product(session, fit) for fit in ("standard", "runs_small", "runs_large"))
    replies = [
        *size_reply(standard, None, None),
        *size_reply(standard, 170, None),
        *size_reply(standard, None, 65.0),
        *size_reply(standard, 170, 65.0),
        *size_reply(standard, 185, 60.0),
        *size_reply(standard, 165, 80.0),
        *size_reply(standard, 182, 105.0),
        *size_reply(standard, 182, 115.0),
        *size_reply(standard, 155, 38.0),
        *size_reply(standard, 160, 43.0),
        *size_reply(slim, 170, 65.0),
        *size_reply(loose, 170, 65.0),
        *size_reply(loose, 182, 105.0),
        *(size_reply(standard, 170, 65.0, asked_size=s)[0] for s in ("L", "M", "XL", "5XL")),
        size_reply(loose, 170, 65.0, asked_size="M")[0],
        *fit_reply(standard),
        *fit_reply(slim),
        *fit_reply(loose),
    ]
    lib = library()
    size_phrases = {pid for pid in lib.phrases if pid.startswith("size.")}
    assert {r.phrase_id for r in replies} == size_phrases
    for reply in replies:
        text = lib.render(reply.phrase_id, reply.slots, rng=random.Random(0))
        assert "{" not in text and text.strip()
        for variant in lib.get(reply.phrase_id).variants:  # every variant, not just the one drawn
            variant.format_map({**shop_slots(), **reply.slots})


def test_rendered_recommendation_quotes_the_buyer_in_jin(standard):
    text = library().render("size.recommend", size_reply(standard, 170, 65.0)[0].slots)
    assert "170" in text and "130斤" in text and "L码" in text
