"""Numbers and units as buyers write them."""

import pytest

from bot.nlu.numbers import height_cm, parse_number, quantity, weight_kg


@pytest.mark.parametrize(
    "text,value",
    [
        ("一百三十", 130),
        ("一百三", 130),
        ("一百零五", 105),
        ("十五", 15),
        ("两百", 200),
        ("七十五", 75),
        ("一七五", 175),
        ("65", 65),
        ("1.5", 1.5),
        ("两千", 2000),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_parse_number_rejects_words():
    assert parse_number("多少") is None
    assert parse_number("") is None


@pytest.mark.parametrize(
    "text,cm",
    [
        ("170", 170),
        ("1米7", 170),
        ("1米75", 175),
        ("一米七", 170),
        ("一米七五", 175),
        ("一米八", 180),
        ("1.75m", 175),
        ("1.8米", 180),
        ("175cm", 175),
        ("178公分", 178),
        ("168厘米", 168),
    ],
)
def test_height_cm(text, cm):
    assert height_cm(text) == cm


@pytest.mark.parametrize("text", ["5", "300", "米"])
def test_height_rejects_impossible(text):
    assert height_cm(text) is None


@pytest.mark.parametrize(
    "text,kg",
    [
        ("一百三十斤", 65.0),
        ("130斤", 65.0),
        ("一百二十斤", 60.0),
        ("65kg", 65.0),
        ("70公斤", 70.0),
        ("75千克", 75.0),
        ("140", 70.0),
        ("65", 65.0),
        ("一百四十五斤", 72.5),
    ],
)
def test_weight_kg(text, kg):
    assert weight_kg(text) == kg


def test_weight_bare_number_uses_given_unit():
    assert weight_kg("80", default_unit="kg") == 80.0
    assert weight_kg("80", default_unit="斤") == 40.0


@pytest.mark.parametrize("text,n", [("200件", 200), ("两百个", 200), ("一件", 1), ("3套", 3), ("两打", 24)])
def test_quantity(text, n):
    assert quantity(text) == n
