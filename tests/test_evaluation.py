"""The evaluation's arithmetic and its near-duplicate check, on hand-made examples."""

import pytest

from bot.nlu.evaluation import FALLBACK, Example, Prediction, markdown, near_duplicates, score


def _ex(text, intent):
    return Example(text, intent, [])


def _pred(intent, confidence=0.9):
    return Prediction(intent, confidence, [], 0.001)


def test_scores_per_intent_and_overall():
    examples = [
        _ex("包邮吗", "ask_shipping_fee"),
        _ex("运费多少", "ask_shipping_fee"),
        _ex("谢谢", "thank"),
        _ex("今天天气", "out_of_scope"),
    ]
    predictions = [_pred("ask_shipping_fee"), _pred("thank"), _pred("thank"), _pred(FALLBACK, 0.2)]
    report = score(examples, predictions)
    assert report.accuracy == 0.5
    assert report.per_intent["ask_shipping_fee"]["recall"] == 0.5
    assert report.per_intent["ask_shipping_fee"]["precision"] == 1.0
    assert report.per_intent["thank"]["precision"] == 0.5
    assert report.per_intent["out_of_scope"]["f1"] == 0.0
    assert report.fallback_rate == 0.25
    assert report.out_of_scope_caught() == 1.0  # fallback is a right end for an off-topic message
    assert report.confused_pairs()[0][:2] in {("ask_shipping_fee", "thank"), ("out_of_scope", FALLBACK)}
    # In a shop where shipping-fee questions are three times as common as thanks and off-topic
    # is rare, the same readings are worth (3×0.5 + 1×1.0 + 0×…) / (3 + 1 + 0.1).
    mix = {"ask_shipping_fee": 3.0, "thank": 1.0, "out_of_scope": 0.1, "greet": 5.0}  # greet: not in the split
    assert report.mix_accuracy(mix) == pytest.approx(2.5 / 4.1)


def test_near_duplicates_catch_copies_not_paraphrases():
    training = ["什么时候发货", "能开发票吗", "顺丰包邮吗"]
    examples = [
        _ex("什么时候發貨?", "ask_ship_time"),  # the same words, traditional and a "?"
        _ex("哪天能寄出", "ask_ship_time"),
    ]  # the same need in other words
    twins = near_duplicates(examples, training)
    assert twins == ["什么时候发货", None]


def test_report_lists_misread_messages_for_review():
    examples = [_ex("包邮吗", "ask_shipping_fee"), _ex("运费多少", "ask_shipping_fee")]
    report = score(examples, [_pred("ask_shipping_fee"), _pred("bargain", 0.41)])
    report.near_duplicates = [None, None]
    text = markdown(report, "t")
    assert "| 运费多少 | ask_shipping_fee | bargain | 0.41 |" in text
    assert "accuracy on those: 0.500" in text
    assert report.novel_accuracy() == pytest.approx(0.5)
