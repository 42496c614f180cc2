"""The demo shop: a men's T-shirt brand with a dozen products and a few hundred orders.

Deterministic (fixed random seed) and relative to the shop clock, so "paid this morning",
"signed six days ago" and "completed two weeks ago" are always true when the demo runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock, settings
from bot.service.accounts import hash_password, password_matches
from bot.shop.config import ShopConfig, ShopConfigError, is_shop, load_shop, shop, shop_dir, shop_ids, valid_shop_id
from bot.shop.freight import freight_fee
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import (
    AfterSaleTicket,
    Agent,
    Buyer,
    Order,
    OrderFlag,
    OrderItem,
    OrderStatus,
    Product,
    Role,
    Shipment,
    ShipmentStatus,
    Shop,
    SizeChartRow,
    TicketKind,
    TrackingEvent,
    Variant,
)

SIZES = ["S", "M", "L", "XL", "2XL", "3XL", "4XL"]
# The brand's base chart (standard cut): who each size fits.
# size, height range (cm), weight range (kg), chest, length
BASE_CHART: List[Tuple[str, int, int, float, float, int, int]] = [
    ("S", 155, 165, 45.0, 52.5, 96, 66),
    ("M", 165, 170, 52.5, 60.0, 100, 68),
    ("L", 170, 175, 60.0, 67.5, 104, 70),
    ("XL", 175, 180, 67.5, 75.0, 108, 72),
    ("2XL", 180, 185, 75.0, 82.5, 112, 74),
    ("3XL", 185, 190, 82.5, 92.5, 116, 76),
    ("4XL", 188, 195, 92.5, 102.5, 120, 78),
]


@dataclass
class ProductSpec:
    sku: str
    title: str
    category: str
    price: int
    material: str
    fit: str  # standard / runs_small / runs_large
    colors: Sequence[str]
    washing: str = "30℃以下温水手洗或机洗，反面晾晒，不可漂白"
    model: Tuple[int, float, str] = (183, 70.0, "XL")


PRODUCTS = [
    ProductSpec(
        "QS-T001", "经典纯棉圆领短袖T恤", "T恤", 79, "100%精梳棉 200g", "standard", ["白色", "黑色", "灰色", "藏青"]
    ),
    ProductSpec(
        "QS-T002",
        "重磅260g纯棉宽松落肩T恤",
        "T恤",
        99,
        "100%新疆长绒棉 260g",
        "runs_large",
        ["白色", "黑色", "米白", "军绿"],
    ),
    ProductSpec("QS-T003", "冰丝速干运动短袖", "T恤", 69, "锦纶88% 氨纶12%", "runs_small", ["黑色", "浅灰", "深蓝"]),
    ProductSpec("QS-P001", "商务翻领POLO衫", "POLO衫", 159, "棉95% 氨纶5% 珠地", "standard", ["白色", "藏青", "酒红"]),
    ProductSpec("QS-P002", "珠地棉刺绣POLO衫", "POLO衫", 139, "100%棉 珠地网眼", "standard", ["白色", "黑色", "浅蓝"]),
    ProductSpec("QS-T004", "华夫格长袖T恤", "T恤", 89, "棉80% 涤纶20% 华夫格", "standard", ["米白", "灰色", "卡其"]),
    ProductSpec("QS-T005", "美式复古印花短袖", "T恤", 89, "100%纯棉 230g", "runs_large", ["白色", "黑色", "花灰"]),
    ProductSpec(
        "QS-T006",
        "莫代尔V领修身打底T恤",
        "T恤",
        59,
        "莫代尔95% 氨纶5%",
        "runs_small",
        ["白色", "黑色", "灰色"],
        model=(180, 68.0, "XL"),
    ),
    ProductSpec(
        "QS-H001",
        "纯棉连帽卫衣",
        "卫衣",
        199,
        "100%棉 400g毛圈",
        "standard",
        ["黑色", "灰色", "藏青", "杏色"],
        washing="冷水机洗，不可烘干，反面晾晒",
    ),
    ProductSpec(
        "QS-S001",
        "亚麻休闲短袖衬衫",
        "衬衫",
        169,
        "亚麻55% 棉45%",
        "standard",
        ["白色", "浅蓝", "卡其"],
        washing="手洗，不可拧干，中温熨烫",
    ),
    ProductSpec(
        "QS-K001",
        "运动速干短裤",
        "短裤",
        79,
        "涤纶100% 速干面料",
        "standard",
        ["黑色", "深灰"],
        model=(181, 72.0, "XL"),
    ),
    ProductSpec("QS-V001", "纯棉罗纹背心", "背心", 39, "100%棉 罗纹", "runs_small", ["白色", "黑色", "灰色"]),
]

# What buyers call the products besides their titles.
ALIASES: Dict[str, List[str]] = {
    "QS-T001": ["经典款", "圆领T", "基础款"],
    "QS-T002": ["重磅T", "落肩T", "重磅款"],
    "QS-T003": ["冰丝T", "冰丝款", "速干T", "运动T恤"],
    "QS-P001": ["商务POLO", "翻领POLO"],
    "QS-P002": ["刺绣POLO", "珠地POLO"],
    "QS-T004": ["华夫格", "长袖T"],
    "QS-T005": ["印花T", "复古T", "美式T"],
    "QS-T006": ["莫代尔", "V领T", "打底T", "打底衫", "修身T", "修身款"],
    "QS-H001": ["卫衣", "连帽衫"],
    "QS-S001": ["亚麻衬衫", "亚麻的", "短袖衬衫"],
    "QS-K001": ["速干短裤", "运动短裤"],
    "QS-V001": ["背心", "罗纹背心"],
}

# What the shop says about each product beyond its columns (bot/shop/catalogue.py: ASPECTS).
FACTS: Dict[str, Dict[str, str]] = {
    "QS-T001": {"缩水": "面料做过预缩，按洗涤说明洗基本不缩（1%以内）", "透": "200克精梳棉，白色也不透",
                "起球": "精梳长绒纱，正常穿洗不起球", "掉色": "活性染色，深色头两次单独洗，之后不掉色"},
    "QS-T002": {"缩水": "预缩处理，缩水率3%以内，宽松版型不受影响", "透": "260克重磅，白色完全不透",
                "起球": "新疆长绒棉，不易起球"},
    "QS-T003": {"缩水": "锦纶氨纶面料，不缩水", "透": "黑色、深蓝不透，浅灰贴身穿略透",
                "起球": "不起球", "弹力": "四面弹，运动不紧绷", "透气": "冰丝面料透气速干，出汗不粘身"},
    "QS-P001": {"缩水": "预缩处理，不易缩水", "起皱": "含5%氨纶，不易起皱，出差叠放也平整"},
    "QS-P002": {"缩水": "纯棉珠地会有2%左右自然缩，建议冷水洗"},
    "QS-T006": {"缩水": "莫代尔不缩水，但不要高温烘干", "透": "白色贴身略透，建议穿肤色内衣",
                "弹力": "含5%氨纶，弹力好", "起球": "莫代尔洗多了有少许起毛，洗衣袋反面洗能避免"},
    "QS-S001": {"缩水": "亚麻会轻微缩水（约2%），冷水手洗、不要烘干就好", "透": "白色略透，浅蓝和卡其不透",
                "起皱": "亚麻天然容易起皱，这是麻的特点，熨一下就平整", "透气": "亚麻透气吸汗，夏天穿很凉快"},
    "QS-H001": {"起球": "毛圈面料，正常穿不起球", "缩水": "预缩处理，冷水洗基本不缩"},
}  # fmt: skip

NICK_PARTS_A = [
    "快乐的",
    "爱跑步的",
    "不吃香菜的",
    "早起的",
    "会做饭的",
    "佛系",
    "追风的",
    "安静的",
    "晒太阳的",
    "认真的",
]
NICK_PARTS_B = ["小胖", "阿杰", "大熊", "老王", "小鱼", "程序猿", "骑手", "猫奴", "少年", "大叔"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "浩", "鹏", "斌", "宇", "凯"]
PLACES = [
    ("浙江", "杭州", "西湖区文三路"),
    ("浙江", "宁波", "鄞州区天童南路"),
    ("上海", "上海", "浦东新区张杨路"),
    ("江苏", "南京", "鼓楼区中山北路"),
    ("江苏", "苏州", "工业园区星湖街"),
    ("广东", "深圳", "南山区科技园路"),
    ("广东", "广州", "天河区体育西路"),
    ("北京", "北京", "朝阳区建国路"),
    ("四川", "成都", "武侯区天府大道"),
    ("湖北", "武汉", "洪山区珞喻路"),
    ("山东", "青岛", "市南区香港中路"),
    ("新疆", "乌鲁木齐", "天山区解放南路"),
    ("西藏", "拉萨", "城关区北京中路"),
    ("内蒙古", "呼和浩特", "新城区新华大街"),
    ("安徽", "合肥", "蜀山区长江西路"),
]

# How many orders of each state the demo shop has.
STATUS_COUNTS: Dict[OrderStatus, int] = {
    OrderStatus.UNPAID: 30,
    OrderStatus.PAID: 60,
    OrderStatus.SHIPPED: 90,
    OrderStatus.SIGNED: 70,
    OrderStatus.COMPLETED: 120,
    OrderStatus.CLOSED: 20,
    OrderStatus.REFUNDING: 15,
}

DEMO_AGENTS = [
    # login, name, skills, reception limit, role
    ("xiaomei", "小美", ["presale"], 12, Role.AGENT),
    ("ajie", "阿杰", ["aftersale"], 12, Role.TRAINER),
    ("laowang", "老王", ["presale", "aftersale", "bulk"], 8, Role.SUPERVISOR),
]
DEMO_PASSWORD = "xiaoer123"
DEMO_LOGINS = " / ".join(f"{login}（{role.value}）" for login, *_, role in DEMO_AGENTS)

# Buyers the store chat page offers, so a visitor can try a returning customer.
DEMO_BUYERS = [("tb_newbie", "第一次来的小白"), ("tb_regular", "老顾客阿强")]


def _chart_for(product: Product, fit: str) -> List[SizeChartRow]:
    """A slim cut (runs small) measures one size down, a loose cut one size up."""
    shift = {"runs_small": -4, "runs_large": 4}.get(fit, 0)
    return [
        SizeChartRow(
            position=i,
            size=size,
            height_min_cm=hmin,
            height_max_cm=hmax,
            weight_min_kg=wmin,
            weight_max_kg=wmax,
            chest_cm=chest + shift,
            length_cm=length + shift // 2,
        )
        for i, (size, hmin, hmax, wmin, wmax, chest, length) in enumerate(BASE_CHART)
    ]


def _order_id(rng: random.Random) -> str:
    return "3" + "".join(str(rng.randint(0, 9)) for _ in range(18))


def _tracking(rng: random.Random, express: str) -> str:
    prefix = {"YTO": "YT", "ZTO": "7", "YD": "43", "SF": "SF", "EMS": "E"}.get(express, "")
    return prefix + "".join(str(rng.randint(0, 9)) for _ in range(13))


def _events(
    rng: random.Random,
    shipped: datetime,
    place: Tuple[str, str, str],
    status: ShipmentStatus,
    cfg: ShopConfig,
    until: datetime,
) -> List[TrackingEvent]:
    province, city, _ = place
    steps = [
        (shipped, "杭州", "【杭州转运中心】已揽收"),
        (shipped + timedelta(hours=6), "杭州", "【杭州转运中心】已发出，下一站：" + city + "转运中心"),
    ]
    if status is ShipmentStatus.DELAYED:
        pass  # stuck after leaving Hangzhou
    elif status is ShipmentStatus.OUT_OF_AREA:
        steps.append((shipped + timedelta(days=2), city, f"【{city}转运中心】收件地址超出派送范围，待处理"))
    else:
        steps.append((shipped + timedelta(days=1), city, f"【{city}转运中心】已到达"))
        steps.append((shipped + timedelta(days=1, hours=8), city, f"【{city}】派件中，快递员正在为您派送"))
        if status is ShipmentStatus.SIGNED:
            steps.append((shipped + timedelta(days=1, hours=12), city, "已签收，签收人：本人"))
    return [TrackingEvent(time=t, location=loc, description=d) for t, loc, d in steps if t <= until]


def seed(session: Session, cfg: ShopConfig, now: datetime, rng_seed: int = 2026) -> None:
    rng = random.Random(rng_seed)
    session.add(Shop(id=cfg.shop_id, name=cfg.name))
    session.flush()

    products: List[Tuple[Product, ProductSpec]] = []
    for spec in PRODUCTS:
        product = Product(
            shop_id=cfg.shop_id,
            sku=spec.sku,
            title=spec.title,
            category=spec.category,
            price_fen=spec.price * 100,
            material=spec.material,
            fit=spec.fit,
            washing=spec.washing,
            model_height_cm=spec.model[0],
            model_weight_kg=spec.model[1],
            model_size=spec.model[2],
            aliases=ALIASES.get(spec.sku, []),
            facts=FACTS.get(spec.sku, {}),
        )
        product.size_chart = _chart_for(product, spec.fit)
        product.variants = [
            Variant(color=c, size=s, stock=0 if rng.random() < 0.08 else rng.randint(3, 300))
            for c in spec.colors
            for s in SIZES
        ]
        session.add(product)
        products.append((product, spec))

    password_hash = hash_password(DEMO_PASSWORD)  # one hash for all: bcrypt at cost 12 is slow on purpose
    for login, name, skills, limit, role in DEMO_AGENTS:
        session.add(
            Agent(
                shop_id=cfg.shop_id,
                login=login,
                name=name,
                skills=skills,
                max_sessions=limit,
                role=role,
                password_hash=password_hash,
                must_change_password=not settings.demo(),  # outside the demo: a real password first
            )
        )

    buyers = [
        Buyer(id=bid, shop_id=cfg.shop_id, nick=nick, created_at=now - timedelta(days=400)) for bid, nick in DEMO_BUYERS
    ]
    for i in range(150):
        nick = rng.choice(NICK_PARTS_A) + rng.choice(NICK_PARTS_B) + str(rng.randint(1, 99))
        buyers.append(
            Buyer(
                id=f"tb_{i:04d}", shop_id=cfg.shop_id, nick=nick, created_at=now - timedelta(days=rng.randint(30, 2000))
            )
        )
    session.add_all(buyers)
    session.flush()
    regular = buyers[1]

    express_codes = list(cfg.couriers)
    n = 0
    for status, count in STATUS_COUNTS.items():
        for _ in range(count):
            n += 1
            # The regular demo buyer gets one order in every state, so each answer can be tried.
            buyer = regular if _ == 0 else rng.choice(buyers[2:])
            place = rng.choice(PLACES)
            express = cfg.default_express if rng.random() < 0.6 else rng.choice(express_codes)
            items = []
            for product, spec in rng.sample(products, k=rng.choice([1, 1, 1, 2, 3])):
                items.append(
                    OrderItem(
                        product_id=product.id,
                        color=rng.choice(spec.colors),
                        size=rng.choice(SIZES[1:5]),
                        quantity=rng.choice([1, 1, 1, 2]),
                        unit_price_fen=product.price_fen,
                    )
                )
            goods = sum(i.unit_price_fen * i.quantity for i in items)
            order = Order(
                id=_order_id(rng),
                shop_id=cfg.shop_id,
                buyer_id=buyer.id,
                status=status,
                goods_fen=goods,
                freight_fen=int(freight_fee(cfg, place[0], goods / 100) * 100),
                express=express,
                receiver_name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN]),
                receiver_phone="1" + rng.choice("3578") + "".join(str(rng.randint(0, 9)) for _ in range(9)),
                province=place[0],
                city=place[1],
                address=f"{place[2]}{rng.randint(1, 999)}号",
                note="",
                items=items,
            )
            _set_timeline(rng, order, status, now, cfg, place)
            session.add(order)
    session.flush()


def _set_timeline(
    rng: random.Random, order: Order, status: OrderStatus, now: datetime, cfg: ShopConfig, place: Tuple[str, str, str]
) -> None:
    """Dates that make each state true: paid today or yesterday, signed within a week, …"""
    if status is OrderStatus.UNPAID:
        order.created_at = now - timedelta(minutes=rng.randint(10, 60 * 30))
        return
    if status is OrderStatus.CLOSED:
        order.created_at = now - timedelta(days=rng.randint(2, 40))
        order.closed_at = order.created_at + timedelta(days=1)
        return
    if status is OrderStatus.PAID:
        order.paid_at = now - timedelta(minutes=rng.randint(5, 60 * 40))
        order.created_at = order.paid_at - timedelta(minutes=rng.randint(1, 30))
        order.flag = OrderFlag.RED
        return
    shipped_days_ago = {
        OrderStatus.SHIPPED: rng.uniform(0.2, 5),
        OrderStatus.SIGNED: rng.uniform(2, 12),
        OrderStatus.COMPLETED: rng.uniform(12, 40),
        OrderStatus.REFUNDING: rng.uniform(3, 9),
    }[status]
    order.shipped_at = now - timedelta(days=shipped_days_ago)
    order.paid_at = order.shipped_at - timedelta(hours=rng.uniform(1, 30))
    order.created_at = order.paid_at - timedelta(minutes=rng.randint(1, 60))
    if status is OrderStatus.SHIPPED:
        if shipped_days_ago > 3.5:
            ship_status = rng.choice([ShipmentStatus.DELAYED, ShipmentStatus.OUT_OF_AREA])
        else:
            ship_status = ShipmentStatus.IN_TRANSIT
    else:
        ship_status = ShipmentStatus.SIGNED
        order.signed_at = order.shipped_at + timedelta(days=1, hours=12)
        if status is OrderStatus.COMPLETED:
            order.completed_at = order.signed_at + timedelta(days=rng.uniform(0.5, 8))
    order.shipment = Shipment(
        express=order.express,
        tracking_no=_tracking(rng, order.express),
        status=ship_status,
        events=_events(rng, order.shipped_at, place, ship_status, cfg, now),
    )
    if status is OrderStatus.REFUNDING:
        order.flag = OrderFlag.BLUE
        order.tickets = [
            AfterSaleTicket(
                number="T" + order.id[-10:],
                kind=TicketKind.RETURN,
                reason="尺码不合适，七天无理由退货",
                amount_fen=order.goods_fen,
                created_at=now - timedelta(hours=rng.randint(1, 20)),
                due_at=now + timedelta(hours=rng.randint(4, 23)),
                created_by="bot",
            )
        ]


# --- the second demo shop: 拾叶茶舍, a tea shop (shops/shiye/) --------------------------------------
# Tea has no sizes: a variant's "colour" is the grade or packing and its "size" the weight.
TEA_PRODUCTS = [
    # sku, title, category, price (yuan), material, washing (how to brew), variants, aliases, facts
    ("TEA-LJ-01", "明前西湖龙井 特级", "绿茶", 168, "龙井43号 一芽一叶", "85℃水冲泡，3克配150毫升",
     [("罐装", "100g"), ("罐装", "250g")], ["龙井", "明前茶"], {"保质期": "18个月，开封后请冷藏"}),
    ("TEA-BLC-02", "洞庭碧螺春 一级", "绿茶", 98, "洞庭山群体种", "80℃水上投法",
     [("袋装", "100g"), ("罐装", "200g")], ["碧螺春"], {"保质期": "18个月"}),
    ("TEA-ZSXZ-03", "武夷正山小种 红茶", "红茶", 88, "桐木关小叶种", "95℃水冲泡，快出汤",
     [("袋装", "250g"), ("礼盒", "500g")], ["正山小种", "小种红茶"], {"保质期": "24个月"}),
    ("TEA-TGY-04", "安溪铁观音 浓香型", "乌龙茶", 128, "铁观音 传统焙火", "沸水冲泡，可泡七次",
     [("罐装", "250g"), ("小泡袋", "7g*20")], ["铁观音", "观音"], {"保质期": "24个月"}),
    ("TEA-BC-05", "福鼎白茶 寿眉饼", "白茶", 78, "福鼎大白 寿眉", "沸水冲泡或煮饮",
     [("饼装", "350g")], ["寿眉", "白茶饼"], {"保质期": "可长期存放，越陈越香"}),
]  # fmt: skip
TEA_AGENTS = [
    # login, name, skills, reception limit, role
    ("xiaocha", "小茶", ["presale", "aftersale"], 10, Role.AGENT),
    ("chaye", "茶叶姐", ["presale", "aftersale", "bulk"], 10, Role.SUPERVISOR),
]
TEA_STATUS_COUNTS: Dict[OrderStatus, int] = {
    OrderStatus.UNPAID: 5,
    OrderStatus.PAID: 10,
    OrderStatus.SHIPPED: 10,
    OrderStatus.SIGNED: 8,
    OrderStatus.COMPLETED: 10,
    OrderStatus.REFUNDING: 3,
}
TEA_PLACES = [
    ("福建", "福州", "鼓楼区五四路"),
    ("福建", "厦门", "思明区湖滨南路"),
    ("浙江", "杭州", "上城区解放路"),
    ("广东", "广州", "天河区体育西路"),
    ("北京", "北京", "东城区东四北大街"),
]


def seed_tea_shop(session: Session, cfg: ShopConfig, now: datetime, rng_seed: int = 808) -> None:
    """The tea shop beside the T-shirt brand: its own catalogue (no sizes), agents and orders.
    Its buyers are platform buyers: the regular demo buyer (tb_regular) shops here too, a
    buyer of this shop as well (a row of its own, first seen here on its own date)."""
    rng = random.Random(rng_seed)
    session.add(Shop(id=cfg.shop_id, name=cfg.name))
    session.flush()
    products: List[Tuple[Product, list]] = []
    for sku, title, category, price, material, brewing, variants, aliases, facts in TEA_PRODUCTS:
        product = Product(
            shop_id=cfg.shop_id, sku=sku, title=title, category=category, price_fen=price * 100,
            material=material, fit="standard", washing=brewing, aliases=aliases, facts=facts,
        )  # fmt: skip
        product.variants = [Variant(color=c, size=w, stock=rng.randint(0, 80)) for c, w in variants]
        session.add(product)
        products.append((product, variants))
    password_hash = hash_password(DEMO_PASSWORD)
    for login, name, skills, limit, role in TEA_AGENTS:
        session.add(
            Agent(shop_id=cfg.shop_id, login=login, name=name, skills=skills, max_sessions=limit, role=role,
                  password_hash=password_hash, must_change_password=not settings.demo())
        )  # fmt: skip
    buyers = [
        Buyer(id=bid, shop_id=cfg.shop_id, nick=nick, created_at=now - timedelta(days=rng.randint(30, 900)))
        for bid, nick in [("tb_regular", "老顾客阿强"), *((f"tea_{i:03d}", f"爱喝茶的{i}号") for i in range(30))]
    ]
    session.add_all(buyers)
    session.flush()
    express_codes = list(cfg.couriers)
    for status, count in TEA_STATUS_COUNTS.items():
        for i in range(count):
            buyer = buyers[0] if i == 0 else rng.choice(buyers[1:])  # tb_regular: one order in every state
            place = rng.choice(TEA_PLACES)
            product, variants = rng.choice(products)
            grade, weight = rng.choice(variants)
            item = OrderItem(product_id=product.id, color=grade, size=weight, quantity=rng.choice([1, 1, 2]),
                             unit_price_fen=product.price_fen)  # fmt: skip
            goods = item.unit_price_fen * item.quantity
            order = Order(
                id=_order_id(rng), shop_id=cfg.shop_id, buyer_id=buyer.id, status=status, goods_fen=goods,
                freight_fen=int(freight_fee(cfg, place[0], goods / 100) * 100),
                express=cfg.default_express if rng.random() < 0.7 else rng.choice(express_codes),
                receiver_name=rng.choice(SURNAMES) + rng.choice(GIVEN), receiver_phone="1" + rng.choice("3578")
                + "".join(str(rng.randint(0, 9)) for _ in range(9)), province=place[0], city=place[1],
                address=f"{place[2]}{rng.randint(1, 999)}号", note="", items=[item],
            )  # fmt: skip
            _set_timeline(rng, order, status, now, cfg, place)
            session.add(order)
    session.flush()


# Demo catalogues of the tenant shops in shops/<shop_id>/ (a shop added with `xiaoer shop add`
# starts empty).
TENANT_SEEDS = {"shiye": seed_tea_shop}


def add_shop_row(session: Session, cfg: ShopConfig) -> bool:
    """The shop's row in the database (its mode, its peak), if it has none yet."""
    if session.get(Shop, cfg.shop_id) is not None:
        return False
    session.add(Shop(id=cfg.shop_id, name=cfg.name))
    session.flush()
    return True


def ensure_shop_rows(url: str | None = None) -> List[str]:
    """Every configured shop has its row (a shop added to shops/ while the database existed)."""
    with session_scope(url) as session:
        return [shop_id for shop_id in shop_ids() if add_shop_row(session, shop(shop_id))]


class ShopAddError(Exception):
    """`xiaoer shop add` cannot add this shop (bad id, already there)."""


def add_shop(shop_id: str, name: str, short_name: str | None = None, url: str | None = None) -> Path:
    """A new tenant shop: shops/<shop_id>/shop.yml (the default shop's facts as a start, with
    its own id and name), an empty shops/<shop_id>/responses/ for its own phrases, and its row
    in the database. Returns the config file to edit."""
    if not valid_shop_id(shop_id):
        raise ShopAddError(f"shop id {shop_id!r}: lower-case letters, digits, _ or -, at most 32")
    if is_shop(shop_id):
        raise ShopAddError(f"shop {shop_id!r} exists already")
    if not name.strip() or len(name) > 64:
        raise ShopAddError("--name: the shop's name, at most 64 characters")
    folder = shop_dir(shop_id)
    (folder / "responses").mkdir(parents=True, exist_ok=True)
    text = settings.SHOP_CONFIG.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    raw.update(shop_id=shop_id, name=name.strip(), short_name=(short_name or name.strip()[:8]))
    header = (
        f"# {name.strip()}: its own facts (schema: bot/shop/config.py), copied from the default shop's\n"
        "# shop.yml by `xiaoer shop add` — edit them. Its own phrases go in responses/ here, over the\n"
        "# shared responses/ (same ids).\n"
    )
    path = folder / "shop.yml"
    path.write_text(header + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shop.cache_clear()
    try:
        load_shop(path)
    except ShopConfigError:
        path.unlink()
        raise
    migrate.upgrade(url)
    with session_scope(url) as session:
        add_shop_row(session, shop(shop_id))
    return path


def demo_passwords_left(url: str | None = None) -> bool:
    """Some agent still logs in with the demo password (refused off loopback: bot/servers.py)."""
    with session_scope(url) as session:
        hashes = {a.password_hash for a in session.execute(select(Agent)).scalars()}
    return any(password_matches(DEMO_PASSWORD, h) for h in hashes)


def is_seeded(url: str | None = None) -> bool:
    """Brings the database to the current schema and says whether the demo shop is in it."""
    migrate.upgrade(url)
    with session_scope(url) as session:
        return session.execute(select(func.count(Shop.id))).scalar_one() > 0


def reset_and_seed(url: str | None = None, now: datetime | None = None) -> None:
    """Drop the shop tables and create the demo shop afresh."""
    migrate.drop(url)
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed(session, shop(), now or clock.now())
        for shop_id in shop_ids()[1:]:
            cfg = shop(shop_id)
            if shop_id in TENANT_SEEDS:
                TENANT_SEEDS[shop_id](session, cfg, now or clock.now())
            else:
                add_shop_row(session, cfg)
