"""When the bot hands a buyer to a person (bot/service/handoff.py), besides the buyer asking."""

from datetime import datetime

from bot.service.handoff import INTENT_REASONS, in_service_hours, trigger
from bot.shop.config import shop
from bot.store.models import HandoffReason


def test_intents_that_always_go_to_a_person():
    assert INTENT_REASONS["ask_human"] is HandoffReason.ASKED
    assert INTENT_REASONS["complain_service"] is HandoffReason.ANGRY
    assert INTENT_REASONS["bulk_order"] is HandoffReason.BULK


def test_dispute_words_hand_off_whatever_the_intent():
    assert trigger(shop(), "再不处理我就去12315", [0.99], ["ask_ship_time"]) is HandoffReason.DISPUTE
    assert trigger(shop(), "我要申请平台介入维权", [0.9], ["request_refund"]) is HandoffReason.DISPUTE
    assert trigger(shop(), "好评返现吗", [0.9], ["ask_promotion"]) is None


def test_a_request_for_a_person_inside_a_longer_message():
    assert trigger(shop(), "转人工 我要退款", [0.9], ["request_refund"]) is HandoffReason.ASKED
    assert trigger(shop(), "人工客服在吗 发票开了没", [0.8], ["ask_invoice"]) is HandoffReason.ASKED
    assert trigger(shop(), "安装要人工费吗", [0.9], ["ask_product"]) is None  # 人工费 is labour, not a person
    assert trigger(shop(), "我要退款", [0.9], ["request_refund"]) is None


def test_two_fallbacks_in_a_row():
    assert trigger(shop(), "啊啊", [0.3, 0.2], ["nlu_fallback", "nlu_fallback"]) is HandoffReason.NOT_UNDERSTOOD
    assert trigger(shop(), "啊啊", [0.3, 0.9], ["nlu_fallback", "ask_size"]) is None


def test_confidence_that_stays_low():
    assert trigger(shop(), "x", [0.5, 0.55, 0.59], ["a", "b", "c"]) is HandoffReason.LOW_CONFIDENCE
    assert trigger(shop(), "x", [0.5, 0.95, 0.59], ["a", "b", "c"]) is None
    assert trigger(shop(), "x", [0.5, 0.5], ["a", "b"]) is None  # not three yet


def test_service_hours():
    cfg = shop()
    assert in_service_hours(cfg, datetime(2026, 11, 20, 8, 0))
    assert not in_service_hours(cfg, datetime(2026, 11, 20, 23, 0))
    assert not in_service_hours(cfg, datetime(2026, 11, 20, 3, 0))
