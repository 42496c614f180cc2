"""Rule-based entity extraction with normalised values (bot/nlu/entities.py)."""

import pytest

from bot.nlu.entities import extract


def values(text):
    return [(e.entity, e.value) for e in extract(text)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("170 130斤穿多大", [("height", 170), ("weight", 65.0)]),
        ("一米七五 一百四十斤拿什么码", [("height", 175), ("weight", 70.0)]),
        ("175/140穿多大", [("height", 175), ("weight", 70.0)]),
        ("身高180体重75", [("height", 180), ("weight", 75.0)]),
        ("身高一米八 体重一百五十斤", [("height", 180), ("weight", 75.0)]),
        ("1米75 65kg m码还是l码", [("height", 175), ("weight", 65.0), ("size", "M"), ("size", "L")]),
        ("xxl有货吗", [("size", "2XL")]),
        ("要200件黑色的XL", [("quantity", 200), ("color", "黑色"), ("size", "XL")]),
        ("订单号3847561029384756 能发顺丰吗", [("order_id", "3847561029384756"), ("express", "SF")]),
        ("寄到新疆维吾尔自治区运费多少", [("location", "新疆")]),
        ("藏蓝色的还有吗", [("color", "藏青")]),
        ("这个价格170块贵了", [("amount", 170.0)]),  # a price, not a height
        ("别让我寄了 补我三十元得了", [("amount", 30.0)]),
    ],
)
def test_extracts_and_normalises(text, expected):
    assert values(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "明白的",  # not the colour 白的
        "等了3个月了",  # a duration, not a quantity
        "https://item.taobao.com/item.htm?id=623456789012",  # a product id in a link, not an order
        "我电话13812345678",  # a phone number is not an order id
        "退款按钮是灰的 点不了",  # greyed out, not a grey shirt
        "好的#E-s[数字x] 订单[ORDERID_10358477]",  # an emoticon code and a mask: no size S, no order id
    ],
)
def test_no_false_entities(text):
    assert values(text) == []


def test_spans_point_at_the_text():
    text = "我1米75 65kg"
    for e in extract(text):
        assert text[e.start : e.end] == e.text
