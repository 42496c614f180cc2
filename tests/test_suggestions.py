"""Suggested replies: top intents' quick-phrases, filled with the buyer's order data."""

from datetime import datetime

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bot.service.suggestions import as_person, suggest
from bot.shop.config import shop
from bot.store.models import Base, Buyer, Order, OrderStatus, Shop

NOW = datetime(2026, 11, 20, 10, 30)


def _session_with_order():
    engine = create_engine("sqlite://", future=True)
    Base.metadata.create_all(engine)
    s = Session(engine, future=True)
    s.add(Shop(id="qingshan", name="青衫"))
    s.add(Buyer(id="b1", shop_id="qingshan", nick="阿强", created_at=NOW))
    s.add(
        Order(
            id="3000000000000001234",
            shop_id="qingshan",
            buyer_id="b1",
            status=OrderStatus.PAID,
            created_at=NOW,
            paid_at=NOW,
            goods_fen=7900,
            express="SF",
            receiver_name="王强",
            receiver_phone="138",
            province="浙江",
            city="杭州",
            address="x",
            note="",
        )
    )
    s.flush()
    return s


def test_three_suggestions_ranked_by_confidence():
    s = _session_with_order()
    ranking = [
        {"name": "ask_shipping_fee", "confidence": 0.8},
        {"name": "bargain", "confidence": 0.15},
        {"name": "ask_gift", "confidence": 0.05},
    ]
    found = suggest(s, shop(), "b1", ranking, seed="m1")
    assert [x.intent for x in found] == ["ask_shipping_fee", "bargain", "ask_gift"]
    assert "99" in found[0].text and found[0].confidence == 0.8


def test_phrases_are_filled_from_the_order_and_skipped_when_they_cannot_be():
    s = _session_with_order()
    found = suggest(s, shop(), "b1", [{"name": "greet", "confidence": 0.9}], seed="m2")
    assert any("阿强" in x.text for x in found)  # the returning-buyer welcome, with the nick
    assert all("{" not in x.text for x in found)


def test_fallback_is_never_suggested():
    s = _session_with_order()
    found = suggest(
        s,
        shop(),
        "b1",
        [{"name": "nlu_fallback", "confidence": 0.9}, {"name": "ask_shipping_fee", "confidence": 0.1}],
        seed="m3",
    )
    assert found and all(x.intent == "ask_shipping_fee" for x in found)


def test_a_person_does_not_call_themselves_by_the_bots_name():
    assert as_person("不客气亲，能帮到您是店小二的荣幸") == "不客气亲，能帮到您是我的荣幸"
    s = _session_with_order()
    ranking = [{"name": "thank", "confidence": 0.9}, {"name": "ask_stock", "confidence": 0.5}]
    offered = [x.text for seed in range(12) for x in suggest(s, shop(), "b1", ranking, seed=str(seed))]
    assert offered and not [t for t in offered if "店小二" in t]
    assert any("是我的荣幸" in t or "我帮您查一下" in t for t in offered)  # these variants name the bot
