"""After-sales decisions (handbook §4): the right offer, the right window, the ticket in the DB."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import List, Optional

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.shop.aftersales import (
    exchange_reply,
    price_diff_reply,
    quality_reply,
    refund_reply,
    return_policy_reply,
    wrong_item_reply,
)
from bot.shop.config import shop
from bot.shop.phrases import library, shop_slots
from bot.shop.replies import Reply
from bot.store.models import (
    AfterSaleTicket,
    Buyer,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    TicketKind,
    TicketStatus,
)

NOW = datetime(2026, 11, 20, 10, 30)  # a quiet Friday morning, far from Double 11
# The phrases the after-sales rules send (each named in bot/shop/aftersales.py).
RULES_SOURCE = Path(__file__).resolve().parent.parent / "bot" / "shop" / "aftersales.py"
_order_ids = itertools.count(1)


@pytest.fixture()
def cfg():
    return shop()


@pytest.fixture()
def session(cfg, shop_db):
    shop_db.add(Buyer(id="tb_buyer", shop_id=cfg.shop_id, nick="阿强", created_at=NOW - timedelta(days=300)))
    shop_db.add_all(
        [
            Product(
                id=1,
                shop_id=cfg.shop_id,
                sku="QS-T001",
                title="经典纯棉圆领短袖T恤",
                category="T恤",
                price_fen=7900,
                material="100%精梳棉",
            ),
            Product(
                id=2,
                shop_id=cfg.shop_id,
                sku="QS-C001",
                title="刺绣姓名定制POLO衫",
                category="POLO衫",
                price_fen=19900,
                material="100%棉",
                custom_made=True,
            ),
        ]
    )
    shop_db.flush()
    return shop_db


def make_order(
    session: Session,
    status: OrderStatus,
    *,
    paid: Optional[datetime] = None,
    shipped: Optional[datetime] = None,
    signed: Optional[datetime] = None,
    completed: Optional[datetime] = None,
    products=(1,),
    freight_fen: int = 800,
) -> Order:
    """An order with one of each product id given (1 = ordinary T-shirt 79元, 2 = custom-made POLO 199元)."""
    items = []
    for product_id in products:
        product = session.get(Product, product_id)
        items.append(OrderItem(product=product, color="黑色", size="L", quantity=1, unit_price_fen=product.price_fen))
    order = Order(
        id=f"3{next(_order_ids):018d}",
        shop_id="qingshan",
        buyer_id="tb_buyer",
        status=status,
        created_at=(paid or NOW) - timedelta(minutes=5),
        paid_at=paid,
        shipped_at=shipped,
        signed_at=signed,
        completed_at=completed,
        goods_fen=sum(i.unit_price_fen for i in items),
        freight_fen=freight_fen,
        express="YTO",
        receiver_name="王强",
        receiver_phone="13800000000",
        province="浙江",
        city="杭州",
        address="西湖区文三路1号",
        note="",
        items=items,
    )
    session.add(order)
    session.flush()
    return order


def signed_order(session: Session, signed: datetime, **kw) -> Order:
    return make_order(
        session,
        OrderStatus.SIGNED,
        paid=signed - timedelta(days=3),
        shipped=signed - timedelta(days=2),
        signed=signed,
        **kw,
    )


def completed_order(session: Session, completed: datetime, **kw) -> Order:
    return make_order(
        session,
        OrderStatus.COMPLETED,
        paid=completed - timedelta(days=6),
        shipped=completed - timedelta(days=5),
        signed=completed - timedelta(days=3),
        completed=completed,
        **kw,
    )


def said(replies: List[Reply]) -> List[str]:
    """The phrase ids, after checking each reply renders and fills every variant's slots."""
    for reply in replies:
        assert library().render(reply.phrase_id, reply.slots).strip()
        missing = set(library().get(reply.phrase_id).slots) - set(reply.slots) - set(shop_slots())
        assert not missing, f"{reply.phrase_id} lacks {missing}"
    return [r.phrase_id for r in replies]


def tickets(session: Session) -> List[AfterSaleTicket]:
    return session.execute(select(AfterSaleTicket).order_by(AfterSaleTicket.id)).scalars().all()


# --- refunds ------------------------------------------------------------------------------


def test_unpaid_order_needs_no_refund_and_no_ticket(session, cfg):
    order = make_order(session, OrderStatus.UNPAID)
    assert said(refund_reply(session, order, NOW, cfg)) == ["aftersales.refund_unpaid"]
    assert tickets(session) == []


def test_refund_before_shipment_cancels_with_full_refund_including_freight(session, cfg):
    order = make_order(session, OrderStatus.PAID, paid=NOW - timedelta(hours=2))
    replies = refund_reply(session, order, NOW, cfg)
    assert said(replies) == ["aftersales.refund_cancel"]
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.REFUND and ticket.status is TicketStatus.OPEN
    assert ticket.order_id == order.id
    assert ticket.amount_fen == 7900 + 800
    assert ticket.created_at == NOW
    assert ticket.due_at == NOW + timedelta(hours=cfg.returns.refund_hours)
    assert replies[0].slots == {"ticket_no": ticket.number, "due": "11月21日 10:30", "refund_amount": "87"}
    assert order.flag == "blue"  # the warehouse must not ship it meanwhile


def test_refund_of_a_parcel_on_its_way_means_refusing_it(session, cfg):
    order = make_order(session, OrderStatus.SHIPPED, paid=NOW - timedelta(days=2), shipped=NOW - timedelta(days=1))
    assert said(refund_reply(session, order, NOW, cfg)) == ["aftersales.refund_refuse_parcel"]
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.REFUND and ticket.amount_fen == 7900  # goods; the freight was used


def test_refund_after_signing_is_a_no_reason_return(session, cfg):
    order = signed_order(session, NOW - timedelta(days=2))
    replies = refund_reply(session, order, NOW, cfg)
    assert said(replies) == ["aftersales.return_no_reason"]
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.RETURN and ticket.order_id == order.id
    assert ticket.amount_fen == 7900
    assert ticket.due_at == NOW + timedelta(hours=24)
    assert "买家承担" in ticket.reason
    assert replies[0].slots["ticket_no"] == ticket.number


def test_day_7_after_signing_still_returns_by_calendar_day(session, cfg):
    # Signed early on 11-13: more than 7×24 h ago, but 11-20 is day 7 and still counts.
    order = signed_order(session, datetime(2026, 11, 13, 8, 0))
    assert said(refund_reply(session, order, NOW, cfg)) == ["aftersales.return_no_reason"]
    assert [t.kind for t in tickets(session)] == [TicketKind.RETURN]


def test_day_8_after_signing_is_explained_kindly_without_a_ticket(session, cfg):
    order = signed_order(session, datetime(2026, 11, 12, 23, 0))
    replies = refund_reply(session, order, NOW, cfg)
    assert said(replies) == ["aftersales.return_window_passed"]
    assert replies[0].slots == {"last_day": "11月19日"}
    assert replies[0].handoff_reason is None
    assert tickets(session) == []


def test_quality_return_is_at_the_shops_cost_even_past_seven_days(session, cfg):
    order = completed_order(session, NOW - timedelta(days=10))
    assert said(refund_reply(session, order, NOW, cfg, reason="quality")) == ["aftersales.return_shop_pays"]
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.RETURN and "店铺承担" in ticket.reason


def test_unknown_reason_is_a_programming_error(session, cfg):
    order = signed_order(session, NOW - timedelta(days=1))
    with pytest.raises(ValueError):
        refund_reply(session, order, NOW, cfg, reason="changed_mind")


def test_custom_made_item_is_not_returnable(session, cfg):
    order = signed_order(session, NOW - timedelta(days=1), products=(2,))
    replies = refund_reply(session, order, NOW, cfg)
    assert said(replies) == ["aftersales.not_returnable_custom"]
    assert replies[0].slots == {"custom_items": "刺绣姓名定制POLO衫"}
    assert tickets(session) == []
    assert said(exchange_reply(session, order, NOW, cfg, wanted="XL")) == ["aftersales.not_returnable_custom"]
    assert tickets(session) == []


def test_mixed_order_returns_only_the_ordinary_items(session, cfg):
    order = signed_order(session, NOW - timedelta(days=1), products=(1, 2))
    assert said(refund_reply(session, order, NOW, cfg)) == [
        "aftersales.not_returnable_custom",
        "aftersales.return_no_reason",
    ]
    [ticket] = tickets(session)
    assert ticket.amount_fen == 7900


def test_custom_made_item_with_a_defect_is_returnable(session, cfg):
    order = signed_order(session, NOW - timedelta(days=1), products=(2,))
    assert said(refund_reply(session, order, NOW, cfg, reason="quality")) == ["aftersales.return_shop_pays"]
    assert tickets(session)[0].amount_fen == 19900


def test_asking_twice_reuses_the_open_ticket(session, cfg):
    order = make_order(session, OrderStatus.PAID, paid=NOW - timedelta(hours=1))
    first = refund_reply(session, order, NOW, cfg)
    second = refund_reply(session, order, NOW + timedelta(minutes=5), cfg)
    assert len(tickets(session)) == 1
    assert first[0].slots["ticket_no"] == second[0].slots["ticket_no"]


def test_ticket_numbers_are_sequential_per_day_and_unique(session, cfg):
    a = make_order(session, OrderStatus.PAID, paid=NOW - timedelta(hours=1))
    b = make_order(session, OrderStatus.PAID, paid=NOW - timedelta(hours=1))
    refund_reply(session, a, NOW, cfg)
    refund_reply(session, b, NOW, cfg)
    c = signed_order(session, NOW - timedelta(days=1))
    refund_reply(session, c, NOW + timedelta(days=1), cfg)
    assert [t.number for t in tickets(session)] == ["SH202611200001", "SH202611200002", "SH202611210001"]


def test_refunding_order_points_to_its_ticket(session, cfg):
    order = signed_order(session, NOW - timedelta(days=1))
    refund_reply(session, order, NOW, cfg)
    order.status = OrderStatus.REFUNDING
    replies = refund_reply(session, order, NOW + timedelta(hours=3), cfg)
    assert said(replies) == ["aftersales.refund_in_progress"]
    assert replies[0].slots["ticket_no"] == tickets(session)[0].number
    assert len(tickets(session)) == 1


def test_closed_order_has_nothing_to_refund(session, cfg):
    order = make_order(session, OrderStatus.CLOSED)
    assert said(refund_reply(session, order, NOW, cfg)) == ["aftersales.order_closed"]


# --- exchanges ----------------------------------------------------------------------------


def test_exchange_within_the_window_records_the_wanted_size(session, cfg):
    order = signed_order(session, datetime(2026, 11, 13, 9, 0))  # day 7
    replies = exchange_reply(session, order, NOW, cfg, wanted="XL码 黑色")
    assert said(replies) == ["aftersales.exchange_registered"]
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.EXCHANGE and ticket.order_id == order.id
    assert "XL码 黑色" in ticket.reason and "多退少补" in ticket.reason
    assert ticket.due_at == NOW + timedelta(hours=cfg.returns.refund_hours)
    assert replies[0].slots["wanted"] == "XL码 黑色"


def test_exchange_on_day_8_is_refused_kindly(session, cfg):
    order = signed_order(session, datetime(2026, 11, 12, 9, 0))
    assert said(exchange_reply(session, order, NOW, cfg, wanted="XL")) == ["aftersales.return_window_passed"]
    assert tickets(session) == []


def test_exchange_without_a_wanted_size_asks_for_it(session, cfg):
    order = signed_order(session, NOW - timedelta(days=1))
    assert said(exchange_reply(session, order, NOW, cfg, wanted=None)) == ["aftersales.exchange_ask_wanted"]
    assert tickets(session) == []


def test_exchange_before_shipment_is_an_order_change_within_the_hour(session, cfg):
    order = make_order(session, OrderStatus.PAID, paid=NOW - timedelta(hours=1))
    assert said(exchange_reply(session, order, NOW, cfg, wanted="XL")) == ["aftersales.exchange_before_shipment"]
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.ORDER_CHANGE and "XL" in ticket.reason
    assert ticket.due_at == NOW + timedelta(hours=cfg.returns.info_change_hours)


def test_exchange_of_a_parcel_on_its_way_waits_for_signing(session, cfg):
    order = make_order(session, OrderStatus.SHIPPED, paid=NOW - timedelta(days=2), shipped=NOW - timedelta(days=1))
    assert said(exchange_reply(session, order, NOW, cfg, wanted="XL")) == ["aftersales.exchange_wait_receipt"]
    assert said(exchange_reply(session, make_order(session, OrderStatus.UNPAID), NOW, cfg, wanted="XL")) == [
        "aftersales.exchange_unpaid"
    ]
    assert tickets(session) == []


def test_exchange_for_a_defect_is_at_the_shops_cost(session, cfg):
    order = completed_order(session, NOW - timedelta(days=12))
    assert said(exchange_reply(session, order, NOW, cfg, wanted="L码", reason="quality")) == [
        "aftersales.exchange_shop_pays"
    ]
    assert tickets(session)[0].kind is TicketKind.EXCHANGE


# --- the rules ----------------------------------------------------------------------------


def test_return_policy_without_an_order_gives_the_general_rules(cfg):
    assert said(return_policy_reply(None, NOW, cfg)) == ["aftersales.policy_general"]


def test_return_policy_names_the_last_day_of_a_signed_order(session, cfg):
    order = signed_order(session, datetime(2026, 11, 18, 20, 0))
    replies = return_policy_reply(order, NOW, cfg)
    assert said(replies) == ["aftersales.policy_general", "aftersales.policy_last_day"]
    assert replies[1].slots == {"last_day": "11月25日"}


def test_return_policy_after_the_window_says_when_it_ended(session, cfg):
    order = signed_order(session, datetime(2026, 11, 12, 20, 0))
    replies = return_policy_reply(order, NOW, cfg)
    assert said(replies) == ["aftersales.policy_general", "aftersales.policy_window_passed"]
    assert replies[1].slots == {"last_day": "11月19日"}


def test_return_policy_warns_about_custom_items(session, cfg):
    order = make_order(session, OrderStatus.PAID, paid=NOW, products=(1, 2))
    assert said(return_policy_reply(order, NOW, cfg)) == [
        "aftersales.policy_general",
        "aftersales.not_returnable_custom",
    ]


# --- quality complaints -------------------------------------------------------------------


def test_quality_complaint_without_photos_asks_for_them(session, cfg):
    order = completed_order(session, NOW - timedelta(days=3))
    assert said(quality_reply(session, order, NOW, cfg, has_photos=False)) == ["aftersales.quality_ask_photos"]
    assert tickets(session) == []


def test_quality_complaint_on_day_15_after_completion_is_handled(session, cfg):
    order = completed_order(session, datetime(2026, 11, 5, 22, 0))
    replies = quality_reply(session, order, NOW, cfg, has_photos=True)
    assert said(replies) == ["aftersales.quality_options"]
    assert replies[0].handoff_reason is None


def test_quality_complaint_on_day_16_goes_to_a_person(session, cfg):
    order = completed_order(session, datetime(2026, 11, 4, 22, 0))
    replies = quality_reply(session, order, NOW, cfg, has_photos=True)
    assert said(replies) == ["aftersales.quality_past_deadline"]
    assert replies[0].handoff_reason == "quality_past_deadline"
    assert replies[0].slots == {"last_day": "11月19日"}
    assert said(refund_reply(session, order, NOW, cfg, reason="quality")) == ["aftersales.quality_past_deadline"]
    assert tickets(session) == []


def test_quality_complaint_before_completion_is_always_in_time(session, cfg):
    order = signed_order(session, NOW - timedelta(days=30))
    assert said(quality_reply(session, order, NOW, cfg, has_photos=True)) == ["aftersales.quality_options"]


def test_compensation_within_the_limit_is_registered(session, cfg):
    order = completed_order(session, NOW - timedelta(days=2))
    limit = cfg.compensation.max_without_approval
    replies = quality_reply(session, order, NOW, cfg, has_photos=True, amount_asked=limit)
    assert said(replies) == ["aftersales.compensation_registered"]
    assert replies[0].handoff_reason is None
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.COMPENSATION and ticket.order_id == order.id
    assert ticket.amount_fen == round(limit * 100)
    assert ticket.due_at == NOW + timedelta(hours=cfg.returns.refund_hours)
    assert replies[0].slots["amount"] == "10"


def test_compensation_above_the_limit_needs_a_supervisor(session, cfg):
    order = completed_order(session, NOW - timedelta(days=2))
    replies = quality_reply(
        session, order, NOW, cfg, has_photos=True, amount_asked=cfg.compensation.max_without_approval + 0.5
    )
    assert said(replies) == ["aftersales.compensation_over_limit"]
    assert replies[0].handoff_reason == "compensation_over_limit"
    assert replies[0].slots == {"amount": "10.5"}
    assert tickets(session) == []


# --- wrong and missing items --------------------------------------------------------------


@pytest.mark.parametrize(
    "missing, phrase", [(True, "aftersales.resend_missing"), (False, "aftersales.resend_wrong_item")]
)
def test_wrong_or_missing_item_is_re_sent(session, cfg, missing, phrase):
    order = signed_order(session, NOW - timedelta(days=1))
    replies = wrong_item_reply(session, order, NOW, cfg, missing=missing)
    assert said(replies) == [phrase]
    [ticket] = tickets(session)
    assert ticket.kind is TicketKind.RESEND and ticket.order_id == order.id
    assert ticket.reason.startswith("漏发" if missing else "错发") and "责任" in ticket.reason
    assert ticket.due_at == NOW + timedelta(hours=cfg.returns.refund_hours)


def test_wrong_item_on_an_unshipped_order_checks_the_parcel_first(session, cfg):
    order = make_order(session, OrderStatus.PAID, paid=NOW - timedelta(hours=3))
    assert said(wrong_item_reply(session, order, NOW, cfg, missing=False)) == ["aftersales.wrong_item_not_shipped"]
    assert tickets(session) == []


# --- price differences --------------------------------------------------------------------


def test_price_difference_waits_until_the_goods_are_received(session, cfg):
    shipped = make_order(session, OrderStatus.SHIPPED, paid=NOW - timedelta(days=2), shipped=NOW - timedelta(days=1))
    replies = price_diff_reply(shipped, NOW, cfg)
    assert said(replies) == ["aftersales.price_diff_wait_receipt"]
    assert replies[0].handoff_reason is None
    assert said(price_diff_reply(make_order(session, OrderStatus.UNPAID), NOW, cfg)) == ["aftersales.price_diff_unpaid"]


def test_price_difference_after_receipt_is_checked_by_a_person(session, cfg):
    order = signed_order(session, NOW - timedelta(days=1))
    replies = price_diff_reply(order, NOW, cfg)
    assert said(replies) == ["aftersales.price_diff_check"]
    assert replies[0].handoff_reason == "price_difference"
    assert tickets(session) == []


# --- the phrase file ----------------------------------------------------------------------

SAMPLE_SLOTS = {
    "ticket_no": "SH202611200001",
    "due": "11月21日 10:30",
    "refund_amount": "87",
    "last_day": "11月27日",
    "wanted": "XL码",
    "amount": "10",
    "custom_items": "刺绣姓名定制POLO衫",
    "order_id": "3000000000000000001",
}


def test_every_phrase_the_rules_send_renders():
    ids = sorted(set(re.findall(r'"(aftersales\.\w+)"', RULES_SOURCE.read_text(encoding="utf-8"))))
    assert len(ids) >= 30
    for phrase_id in ids:
        phrase = library().get(phrase_id)
        assert phrase.category == "aftersales" and 2 <= len(phrase.variants) <= 4
        assert library().render(phrase_id, SAMPLE_SLOTS)
        for variant in phrase.variants:  # render picks one variant at random: check them all
            text = variant.format_map({**shop_slots(), **SAMPLE_SLOTS})
            assert "{" not in text and "亲" in text, f"{phrase_id}: {text}"
