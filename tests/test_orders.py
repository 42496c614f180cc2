"""Which order the buyer means (bot/shop/orders.py), and order changes (bot/shop/order_changes.py)."""

from datetime import datetime, timedelta

import pytest

from bot.shop.config import shop
from bot.shop.order_changes import change_address_reply, modify_order_reply
from bot.shop.orders import choose_order, confirmation_reply
from bot.shop.presale import gift_answer, shipping_fee_answer
from bot.store.models import Buyer, Order, OrderItem, OrderStatus, Product, TicketKind

NOW = datetime(2026, 11, 20, 10, 30)
S = OrderStatus


@pytest.fixture()
def session(shop_db):
    shop_db.add(
        Product(
            id=1,
            shop_id="qingshan",
            sku="QS-T001",
            title="经典纯棉圆领短袖T恤",
            category="T恤",
            price_fen=7900,
            material="棉",
        )
    )
    for buyer in ("alice", "bob"):
        shop_db.add(Buyer(id=buyer, shop_id="qingshan", nick=buyer, created_at=NOW))
    shop_db.flush()
    return shop_db


def order(session, oid, buyer="alice", status=S.PAID, goods=79, province="浙江", items=1, hours_ago=1):
    o = Order(
        id=oid,
        shop_id="qingshan",
        buyer_id=buyer,
        status=status,
        created_at=NOW - timedelta(hours=hours_ago),
        paid_at=None if status is S.UNPAID else NOW - timedelta(hours=hours_ago),
        goods_fen=goods * 100,
        express="YTO",
        receiver_name="王强",
        receiver_phone="13800000000",
        province=province,
        city="杭州",
        address="文三路1号",
        note="",
        items=[OrderItem(product_id=1, color="黑色", size="L", quantity=1, unit_price_fen=7900) for _ in range(items)],
    )
    session.add(o)
    session.flush()
    return o


def test_an_id_in_the_message_wins_but_only_for_the_buyers_own_order(session):
    mine, theirs = order(session, "301"), order(session, "302", buyer="bob")
    assert choose_order(session, "qingshan", "alice", "ask_ship_time", order_id="301").order is mine
    other = choose_order(session, "qingshan", "alice", "ask_ship_time", order_id=theirs.id)
    assert other.order is None and other.ask[0].phrase_id == "orders.not_found"


def test_the_one_fitting_order_is_taken_without_asking(session):
    order(session, "301", status=S.COMPLETED)
    shipped = order(session, "302", status=S.SHIPPED)
    assert choose_order(session, "qingshan", "alice", "track_package").order is shipped


def test_several_fitting_orders_are_listed_for_the_buyer_to_choose(session):
    order(session, "3000000000000001111", status=S.PAID, hours_ago=1)
    order(session, "3000000000000002222", status=S.UNPAID, hours_ago=3)
    choice = choose_order(session, "qingshan", "alice", "ask_ship_time")
    assert choice.order is None and choice.ask[0].phrase_id == "orders.which"
    listing = choice.ask[0].slots["order_list"]
    assert "尾号1111" in listing and "尾号2222" in listing and listing.index("1111") < listing.index("2222")


def test_the_order_under_discussion_is_kept(session):
    order(session, "301")
    current = order(session, "302")
    assert choose_order(session, "qingshan", "alice", "ask_ship_time", current_id="302").order is current


def test_address_change_before_and_after_shipping(session):
    cfg = shop()
    unshipped = order(session, "301", status=S.PAID)
    [reply] = change_address_reply(session, unshipped, NOW, cfg)
    assert reply.phrase_id == "address.before_shipping" and unshipped.flag == "green"
    [ticket] = unshipped.tickets
    assert ticket.kind is TicketKind.ORDER_CHANGE and ticket.due_at == NOW + timedelta(hours=1)

    shipped = order(session, "302", status=S.SHIPPED)
    [reply] = change_address_reply(session, shipped, NOW, cfg)
    assert reply.phrase_id == "address.after_shipping" and shipped.flag is None
    assert shipped.tickets[0].reason.startswith("已发货")


def test_modify_order_applies_before_shipping_only(session):
    cfg = shop()
    paid = order(session, "301", status=S.PAID)
    [reply] = modify_order_reply(session, paid, NOW, cfg, size="XL", color=None)
    assert reply.phrase_id == "modify.applied" and paid.items[0].size == "XL" and "XL" in paid.note
    shipped = order(session, "302", status=S.SHIPPED)
    [reply] = modify_order_reply(session, shipped, NOW, cfg, size="XL", color=None)
    assert reply.phrase_id == "modify.after_shipping" and shipped.items[0].size == "L"


def test_modify_a_multi_item_order_is_ticketed_not_guessed(session):
    multi = order(session, "301", items=2)
    [reply] = modify_order_reply(session, multi, NOW, shop(), size="XL", color=None)
    assert reply.phrase_id == "modify.ticketed" and all(i.size == "L" for i in multi.items)


@pytest.mark.parametrize("goods,phrase", [(98, "bargain.free_shipping_short"), (99, "bargain.free_shipping_yes")])
def test_free_shipping_threshold_on_an_order(session, goods, phrase):
    o = order(session, "301", goods=goods)
    [reply] = shipping_fee_answer(shop(), None, o, insisted=False)
    assert reply.phrase_id == phrase
    assert ("包邮" in o.note) == (phrase == "bargain.free_shipping_yes")


def test_insisting_on_free_shipping_goes_to_a_supervisor(session):
    o = order(session, "301", goods=80)
    [reply] = shipping_fee_answer(shop(), None, o, insisted=True)
    assert reply.phrase_id == "bargain.ask_supervisor" and reply.handoff_reason == "free_shipping_approval"


def test_remote_orders_pay_their_freight_whatever_the_amount(session):
    o = order(session, "301", goods=500, province="新疆")
    [reply] = shipping_fee_answer(shop(), None, o, insisted=False)
    assert reply.phrase_id == "logistics.remote_fee" and reply.slots["fee"] == 20


@pytest.mark.parametrize("goods,gift", [(198, None), (199, "同款纯棉短袜两双"), (399, "帆布收纳包一个")])
def test_gift_thresholds(session, goods, gift):
    o = order(session, "301", goods=goods)
    [reply] = gift_answer(shop(), o, insisted=False)
    if gift is None:
        assert reply.phrase_id == "bargain.gift_short" and reply.slots["shortfall"] == "1"
        assert o.note == ""
    else:
        assert reply.slots["gift"] == gift and gift in o.note


def test_confirmation_masks_the_receiver(session):
    o = order(session, "301")
    [reply] = confirmation_reply(o, "圆通速递")
    assert reply.slots["receiver"] == "王**" and "文三路" not in str(reply.slots)
