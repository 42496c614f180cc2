"""The intent classifier's text normalisation and model, without Rasa."""

import numpy as np
import pytest

from bot.nlu.classifier import NgramSvm, normalise


@pytest.mark.parametrize(
    "raw, folded",
    [
        ("發貨了沒", "发货了没"),  # traditional characters
        ("ＸＬ有嗎", "xl有吗"),  # full-width letters, upper case
        ("订单[ORDERID_10358477]到哪了", "订单#到哪了"),  # JD's masked order id …
        ("3847561029384756 到哪了", "# 到哪了"),  # … looks like a real one
        ("[金额x]元包邮吗", "0元包邮吗"),
        ("好的#E-s[数字x]", "好的"),  # emoticon codes carry no request
        ("175 130斤", "000 000斤"),  # digits keep their length, not value
        ("https://item.jd.com/100012345678.html 有货吗", "http://# 有货吗"),  # a link is a link
        ("[链接x]这款有货吗", "http://#这款有货吗"),  # … and ends where the buyer's words begin
    ],
)
def test_normalise_folds_spellings_that_mean_the_same(raw, folded):
    assert normalise(raw) == folded


def test_word_segmented_logs_are_joined_but_a_buyers_clauses_are_not():
    assert normalise("发 什么 快递 啊") == "发什么快递啊"
    assert normalise("在吗 今天能发货吗") == "在吗 今天能发货吗"


TRAIN = {
    "ask_shipping_fee": ["包邮吗", "运费多少", "邮费怎么算", "新疆包邮不", "运费谁出", "包不包邮"],
    "ask_ship_time": ["什么时候发货", "今天能发吗", "几号发货", "怎么还不发货", "发货没", "明天发吗"],
    "thank": ["谢谢", "谢谢亲", "多谢", "感谢", "谢啦", "谢谢你"],
}


def _fit() -> NgramSvm:
    texts = [t for examples in TRAIN.values() for t in examples]
    labels = [i for i, examples in TRAIN.items() for _ in examples]
    return NgramSvm().fit(texts, [list(t) for t in texts], labels)


def test_it_learns_from_examples_and_reads_new_spellings():
    model = _fit()
    messages = ["包郵嗎", "啥时候发货", "谢谢老板"]
    probabilities = model.predict_proba(messages, [list(m) for m in messages])
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert [model.classes[i] for i in probabilities.argmax(axis=1)] == ["ask_shipping_fee", "ask_ship_time", "thank"]
    assert model.temperature > 0


def test_saved_model_loads_with_the_same_answers(tmp_path):
    model = _fit()
    model.save(tmp_path)
    again = NgramSvm.load(tmp_path)
    messages = ["运费呢", "发了吗"]
    words = [list(m) for m in messages]
    assert again.classes == model.classes
    assert np.allclose(again.predict_proba(messages, words), model.predict_proba(messages, words))


def test_the_fast_features_are_sklearns_numbers():
    """FastTfidf stands in for the vectorizers' transform when reading: the same matrix, for
    messages with seen and unseen n-grams, several at once or one, and an empty one."""
    from scipy.sparse import hstack

    from bot.nlu.evaluation import load_holdout

    texts = [e.text for e in load_holdout()][:300]
    words = [list(t) for t in texts]
    model = NgramSvm().fit(texts, words, [e.intent for e in load_holdout()][:300])
    messages = texts[:50] + ["包郵嗎 亲 XL有吗？", "🙂", "", "abc def"]
    message_words = [list(m) for m in messages]
    views = model._views(messages, message_words)
    vectorizers = (model.chars, model.words, model.sounds)
    expected = hstack([v.transform(docs) for v, docs in zip(vectorizers, views)]).toarray()
    assert np.allclose(model._matrix(messages, message_words).toarray(), expected)
    assert np.allclose(model._matrix(messages[:1], message_words[:1]).toarray(), expected[:1])
