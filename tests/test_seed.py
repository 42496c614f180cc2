"""The demo shop's data: enough realistic data for every answer the bot gives."""

from sqlalchemy import and_, func, select

from bot.seed import DEMO_BUYERS, PRODUCTS, STATUS_COUNTS, TEA_STATUS_COUNTS
from bot.store.db import session_scope
from bot.store.models import Agent, Buyer, Order, OrderStatus, Product, Shipment, ShipmentStatus

# Other tests add their own buyers (t_…) to the same database; the demo shop's are tb_…
# (tb_regular shops in the second demo shop too: test_second_shop_has_its_own_orders).
SEEDED = and_(Order.shop_id == "qingshan", Order.buyer_id.like("tb\\_%", escape="\\"))


def test_catalogue_has_a_dozen_products_with_size_charts(db_url):
    with session_scope() as s:
        products = s.execute(select(Product).where(Product.sku.in_([spec.sku for spec in PRODUCTS]))).scalars().all()
        assert len(products) == 12  # (other tests may add products of their own)
        for p in products:
            sizes = [row.size for row in p.size_chart]
            assert sizes[:4] == ["S", "M", "L", "XL"]
            assert all(a.height_max_cm <= b.height_max_cm for a, b in zip(p.size_chart, p.size_chart[1:]))
            assert p.variants and p.model_size


def test_orders_in_every_state(db_url):
    with session_scope() as s:
        counts = dict(s.execute(select(Order.status, func.count()).where(SEEDED).group_by(Order.status)).all())
    assert counts == STATUS_COUNTS
    assert sum(counts.values()) >= 300


def test_order_timelines_are_consistent(db_url):
    with session_scope() as s:
        for order in s.execute(select(Order).where(SEEDED)).scalars():
            if order.paid_at:
                assert order.created_at <= order.paid_at
            if order.status in (OrderStatus.SHIPPED, OrderStatus.SIGNED, OrderStatus.COMPLETED):
                assert order.shipment is not None and order.paid_at <= order.shipped_at
            if order.status is OrderStatus.COMPLETED:
                assert order.signed_at <= order.completed_at
            if order.status is OrderStatus.UNPAID:
                assert order.paid_at is None and order.shipment is None
            assert order.freight_fen >= 0 and order.goods_fen > 0


def test_problem_parcels_exist_for_the_logistics_answers(db_url):
    with session_scope() as s:
        statuses = set(s.execute(select(Shipment.status)).scalars())
    assert {
        ShipmentStatus.DELAYED,
        ShipmentStatus.OUT_OF_AREA,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.SIGNED,
    } <= statuses


def test_regular_demo_buyer_has_an_order_in_every_state(db_url):
    regular = DEMO_BUYERS[1][0]
    with session_scope() as s:
        states = set(s.execute(select(Order.status).where(Order.buyer_id == regular)).scalars())
    assert states == set(OrderStatus)


def test_agents_have_hashed_passwords(db_url):
    with session_scope() as s:
        agents = s.execute(select(Agent)).scalars().all()
    assert len(agents) >= 3
    assert all(a.password_hash.startswith("$2") for a in agents)


def test_second_shop_has_its_own_orders_products_and_agents(db_url):
    """拾叶茶舍 (shops/shiye/): a tea shop beside the T-shirt brand, the regular buyer in both."""
    with session_scope() as s:
        tea = Order.shop_id == "shiye"
        seeded = and_(tea, Order.buyer_id.like("te_\\_%", escape="\\") | (Order.buyer_id == "tb_regular"))
        counts = dict(s.execute(select(Order.status, func.count()).where(seeded).group_by(Order.status)).all())
        assert counts == TEA_STATUS_COUNTS
        regular = s.execute(select(Order.status).where(tea, Order.buyer_id == "tb_regular")).scalars().all()
        assert set(regular) == set(TEA_STATUS_COUNTS)
        # a buyer of each shop: a row of the tea shop's own, which its orders point at
        assert set(s.execute(select(Buyer.shop_id).where(Buyer.id == "tb_regular")).scalars()) == {"qingshan", "shiye"}
        assert {o.buyer.shop_id for o in s.execute(select(Order).where(tea)).scalars()} == {"shiye"}
        skus = s.execute(select(Product.sku).where(Product.shop_id == "shiye")).scalars().all()
        assert skus and all(sku.startswith("TEA-") for sku in skus)
        logins = s.execute(select(Agent.login).where(Agent.shop_id == "shiye")).scalars().all()
        assert set(logins) >= {"xiaocha", "chaye"}
