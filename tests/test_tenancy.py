"""Many shops on one server: two shops side by side, and nothing of one visible or changeable
from the other.

The seeded second shop is 拾叶茶舍 (shops/shiye/), a tea shop beside the T-shirt brand; the
regular demo buyer tb_regular has orders in both — a buyer id is the platform's, not a shop's.
Unit tests (shop_db) check the scoped queries; the server tests go through the endpoints: the
console webhook, the workbench's HTTP API and websocket, the trainer's API and the store page.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta

import aiohttp
import pytest
import requests
from sqlalchemy import select

from bot import settings, signing
from bot.service import agents, casework, inbox
from bot.service.suggestions import order_slots
from bot.shop.config import UnknownShop, is_shop, shop, shop_ids
from bot.shop.orders import buyer_orders, choose_order, latest_paid, shop_order
from bot.shop.phrases import library, shop_slots
from bot.shop.welcome import welcome_reply
from bot.store import conversations
from bot.store.db import session_scope
from bot.store.models import (
    Agent,
    Buyer,
    Conversation,
    Direction,
    KnowledgeGap,
    Message,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    Sender,
    Shop,
    ShopMode,
)
from connectors.console import BadEvent, parse_event, sender_key
from tests.helpers import console_event, console_post, matches

A, B = "qingshan", "shiye"
NOW = datetime(2026, 5, 12, 10, 0)


# --- config and phrases ---------------------------------------------------------------------------


def test_each_shop_has_its_own_config_and_the_default_stays_the_default():
    assert shop() is shop(A) and shop().shop_id == A
    assert shop(B).name == "拾叶茶舍" and shop(B).cutoff != shop(A).cutoff
    assert shop_ids()[:2] == [A, B] and is_shop(B) and not is_shop("nope") and not is_shop("../etc")
    with pytest.raises(UnknownShop):
        shop("nope")


def test_a_shops_own_phrases_over_the_shared_ones():
    tea, shirts = library(B), library(A)
    assert "拾叶茶舍" in tea.render("welcome.first") and "青衫" not in tea.render("welcome.first")
    assert tea.get("welcome.first").variants != shirts.get("welcome.first").variants
    assert tea.get("welcome.first").intents == shirts.get("welcome.first").intents  # kept from the shared
    # not overridden: the shared words, filled with the tea shop's facts
    assert tea.get("payment.help").variants == shirts.get("payment.help").variants
    assert shop_slots(B)["shop_name"] == "拾叶茶舍" and shop_slots(B)["cutoff"] == shop(B).cutoff != shop(A).cutoff
    assert library() is library(A)


def test_the_webhook_accepts_every_configured_shop_and_keys_the_buyer_by_shop():
    def event(shop_id):
        return json.dumps(console_event("tb_regular", "你好", shop_id=shop_id)).encode()

    assert parse_event(event(B))["shop_id"] == B
    with pytest.raises(BadEvent) as refused:
        parse_event(event("nope"))
    assert refused.value.status == 404
    assert sender_key(parse_event(event(A))) == "tb_regular"
    assert sender_key(parse_event(event(B))) == "shiye/tb_regular"


# --- scoped queries (unit) ------------------------------------------------------------------------


@pytest.fixture()
def two_shops(shop_db):
    """Both shops, one buyer with an order in each, and a product of each."""
    shop_db.add(Shop(id=B, name="拾叶茶舍"))
    shop_db.add(Buyer(id="b1", shop_id=A, nick="阿强", created_at=NOW))
    for shop_id, oid, sku in ((A, "3000000000000000001", "A-1"), (B, "3000000000000000002", "B-1")):
        product = Product(shop_id=shop_id, sku=sku, title=f"{shop_id}的宝贝", category="x", price_fen=100, material="m")
        shop_db.add(product)
        shop_db.flush()
        shop_db.add(
            Order(
                id=oid, shop_id=shop_id, buyer_id="b1", status=OrderStatus.PAID, created_at=NOW, paid_at=NOW,
                goods_fen=100, express=shop(shop_id).default_express, receiver_name="张三",
                receiver_phone="13900000000", province="浙江", city="杭州", address="文三路1号",
                items=[OrderItem(product_id=product.id, color="白色", size="L", quantity=1, unit_price_fen=100)],
            )
        )  # fmt: skip
    shop_db.flush()
    return shop_db


def test_order_lookups_see_only_the_shops_orders(two_shops):
    s = two_shops
    a_order, b_order = s.get(Order, "3000000000000000001"), s.get(Order, "3000000000000000002")
    assert buyer_orders(s, A, "b1") == [a_order] and buyer_orders(s, B, "b1") == [b_order]
    assert shop_order(s, A, b_order.id) is None and shop_order(s, B, b_order.id, "b1") is b_order
    assert choose_order(s, A, "b1", "ask_ship_time").order is a_order
    other = choose_order(s, A, "b1", "ask_ship_time", order_id=b_order.id)
    assert other.order is None and other.ask[0].phrase_id == "orders.not_found"
    assert choose_order(s, B, "b1", "ask_ship_time", current_id=a_order.id).order is b_order
    assert latest_paid(s, A, "b1") is a_order and latest_paid(s, B, "b1") is b_order


def test_welcome_suggestions_cards_and_summary_are_the_shops(two_shops):
    s = two_shops
    s.add(Buyer(id="b2", shop_id=A, nick="小新", created_at=NOW))
    s.add(Order(id="3000000000000000003", shop_id=A, buyer_id="b2", status=OrderStatus.PAID, created_at=NOW,
                goods_fen=100, express="YTO", receiver_name="李四", receiver_phone="13900000001", province="浙江",
                city="杭州", address="x"))  # fmt: skip
    s.flush()
    assert welcome_reply(s, B, "b2")[0].phrase_id == "welcome.first"  # ordered from A only: new to B
    assert welcome_reply(s, A, "b2")[0].phrase_id == "welcome.returning"
    assert order_slots(s, "b1", shop(B), "3000000000000000001")["order_id"] == "3000000000000000002"
    assert order_slots(s, "b1", shop(A))["order_id"] == "3000000000000000001"
    cards = inbox.Cards(s, "b1", B)
    assert cards.order("3000000000000000001")["missing"] and not cards.order("3000000000000000002").get("missing")
    assert cards.product("A-1")["missing"] and not inbox.Cards(s, "b1", A).product("A-1").get("missing")
    conv_b = conversations.conversation_for(s, B, "b1")
    assert conversations.conversation_for(s, A, "b1").id != conv_b.id
    assert agents.summary(s, conv_b)["order_id"] == "3000000000000000002"


def test_an_agent_acts_only_on_their_own_shops_conversations(two_shops):
    s = two_shops
    tea = Agent(shop_id=B, login="t1", name="小茶", password_hash="x", skills=["presale"])
    shirt = Agent(shop_id=A, login="a1", name="小美", password_hash="x", skills=["presale"])
    s.add_all([tea, shirt])
    s.flush()
    conv_a = conversations.conversation_for(s, A, "b1")
    with pytest.raises(casework.NotAllowed):
        casework.conversation_of_shop(s, tea, conv_a.id)
    with pytest.raises((casework.NotAllowed, casework.NotFound)):
        casework.transfer(s, conversations.conversation_for(s, B, "b1"), tea, shirt.id, "交给你", NOW)
    assert [a.id for a in casework.colleagues(s, tea)] == []
    conversations.record(s, conv_a, Direction.IN, Sender.BUYER, "阿强的衬衫问题")
    assert casework.search_history(s, tea, "衬衫") == []
    assert {f.conversation.shop_id for f in casework.search_history(s, tea, "b1")} == {B}  # his tea chat only
    assert [f.conversation.id for f in casework.search_history(s, shirt, "衬衫")] == [conv_a.id]


# --- through the servers ---------------------------------------------------------------------------


def _regular_ids():
    with session_scope() as s:
        orders = {
            shop_id: [o.id for o in buyer_orders(s, shop_id, "tb_regular")] for shop_id in (A, B)
        }  # fmt: skip
    return orders


@pytest.mark.servers
def test_the_webhook_serves_each_shop_with_its_own_orders_and_phrases(servers):
    orders = _regular_ids()
    assert orders[A] and orders[B] and not set(orders[A]) & set(orders[B])
    buyer = "tb_regular"
    # the tea shop's own welcome, to a buyer it knows by his tea orders
    hello = console_post(servers, console_event(buyer, "你好", shop_id=B))
    assert hello.status_code == 200, hello.text
    said = " ".join(r["text"] for r in hello.json()["replies"])
    assert "拾叶茶舍" in said or "拾叶" in said, said
    # his T-shirt order, shown as a card in the tea shop: not found there
    card = console_post(servers, console_event(buyer, "", type="order_card", order_id=orders[A][0], shop_id=B))
    text = card.json()["replies"][0]["text"]
    assert matches(text, "orders.not_found"), text
    # the same card in the T-shirt shop is his order
    mine = console_post(servers, console_event(buyer, "", type="order_card", order_id=orders[A][0], shop_id=A))
    assert matches(mine.json()["replies"][0]["text"], "orders.card")
    # a shop nobody configured
    assert console_post(servers, console_event(buyer, "你好", shop_id="nope")).status_code == 404
    with session_scope() as s:
        convs = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalars().all()
        by_shop = {c.shop_id: c for c in convs}
        assert set(by_shop) >= {A, B}
        tea_in = [m.text for m in by_shop[B].messages if m.direction == Direction.IN]
        assert "你好" in tea_in and any(orders[A][0] in t for t in tea_in)  # stored in the tea shop's chat


def _agent(login: str, servers) -> requests.Session:
    http = requests.Session()
    resp = http.post(servers.urls["console"] + "/api/login", json={"login": login, "password": "xiaoer123"}, timeout=30)
    assert resp.ok, resp.text
    return http


def _conversation_of(shop_id: str, buyer: str, text: str = "有人吗") -> int:
    with session_scope() as s:
        conv = conversations.conversation_for(s, shop_id, buyer)
        conversations.record(s, conv, Direction.IN, Sender.BUYER, text, message_id=str(uuid.uuid4()))
        return conv.id


@pytest.mark.servers
def test_an_agent_of_one_shop_can_neither_see_nor_change_the_others(servers):
    base = servers.urls["console"]
    a_conv = _conversation_of(A, "tb_regular", "衬衫的领口开线了")
    b_conv = _conversation_of(B, "tb_regular", "龙井还有货吗")
    tea = _agent("chaye", servers)  # the tea shop's supervisor: may do the most
    for command, body in [
        ("open", {}),
        ("read", {}),
        ("take_over", {}),
        ("give_back", {}),
        ("transfer", {"to_agent_id": 1, "note": "x"}),
        ("set_state", {"state": "resolved"}),
        ("note", {"text": "偷看"}),
        ("tag_add", {"tag": "偷看"}),
        ("tag_remove", {"tag": "x"}),
    ]:
        resp = tea.post(f"{base}/api/workbench/{command}", json={"conversation_id": a_conv, **body}, timeout=30)
        assert resp.status_code in (403, 404), (command, resp.status_code, resp.text)
    # nothing changed on the T-shirt shop's conversation
    with session_scope() as s:
        conv = s.get(Conversation, a_conv)
        assert conv.tags == [] and conv.agent_id is None and conv.notes == [] and str(conv.state) == "open"
        assert all(m.read_at is None for m in conv.messages)
    # its own shop's conversation is fine
    assert tea.post(f"{base}/api/workbench/note", json={"conversation_id": b_conv, "text": "看过"}, timeout=30).ok
    # lists: the state, the queue, colleagues and history are the tea shop's only
    state = tea.get(base + "/api/workbench/state", timeout=30).json()
    listed = {
        r["id"] if "id" in r else r.get("conversation_id") for k in ("mine", "waiting", "with_bot") for r in state[k]
    }
    with session_scope() as s:
        shops_listed = {s.get(Conversation, i).shop_id for i in listed if i is not None}
    assert shops_listed <= {B}
    queue = tea.get(base + "/api/queue", timeout=30).json()
    assert {a["name"] for a in queue["agents"]} == {"小茶", "茶叶姐"}
    with session_scope() as s:
        assert all(s.get(Conversation, w["conversation_id"]).shop_id == B for w in queue["waiting"])
    colleagues = tea.get(base + "/api/workbench/colleagues", timeout=30).json()["agents"]
    assert {a["name"] for a in colleagues} == {"小茶"}
    for q in ("领口开线", "tb_regular"):
        found = tea.get(base + "/api/workbench/history", params={"q": q}, timeout=30).json()["results"]
        assert a_conv not in {f["id"] for f in found}
    # a supervisor's mode switch is their own shop's
    assert tea.post(f"{base}/api/workbench/mode", json={"mode": "assist"}, timeout=30).status_code in (200, 404)
    with session_scope() as s:
        assert s.get(Shop, A).mode == ShopMode.AUTO


@pytest.mark.servers
def test_the_websocket_refuses_another_shops_conversation(servers):
    a_conv = _conversation_of(A, "tb_regular")

    async def talk():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(servers.urls["console"] + "/api/login", json={"login": "xiaocha", "password": "xiaoer123"})
            async with http.ws_connect(servers.urls["console"] + "/ws") as ws:
                first = await ws.receive_json()
                answers = []
                for kind in ("open", "open_history", "more", "note", "take_over"):
                    await ws.send_str(json.dumps({"type": kind, "conversation_id": a_conv, "after": 0, "text": "x"}))
                    answers.append(await ws.receive_json())
                return first, answers

    first, answers = asyncio.run(talk())
    assert first["type"] == "state" and first["agent"]["name"] == "小茶"
    assert all(a["type"] == "error" for a in answers), answers


@pytest.mark.servers
def test_trainer_labels_and_knowledge_gaps_stay_in_their_shop(servers):
    base = servers.urls["console"]
    with session_scope() as s:
        conv = conversations.conversation_for(s, A, "tb_regular")
        msg = conversations.record(s, conv, Direction.IN, Sender.BUYER, "这件衬衫起球吗", message_id=str(uuid.uuid4()))
        gap = KnowledgeGap(shop_id=A, buyer_id="tb_regular", topic="起球", question="起球吗", created_at=NOW)
        s.add(gap)
        s.flush()
        msg_id, gap_id = msg.id, gap.id
    tea = _agent("chaye", servers)
    refused = tea.post(base + "/api/trainer/label", json={"message_id": msg_id, "intent": "ask_product"}, timeout=30)
    assert refused.status_code == 404
    assert tea.post(f"{base}/api/trainer/gaps/{gap_id}/resolve", timeout=30).status_code == 404
    gaps = tea.get(base + "/api/trainer/gaps", timeout=30).json()["gaps"]
    assert gap_id not in {g["id"] for g in gaps}
    review = tea.get(base + "/api/trainer/review", timeout=30).json()
    with session_scope() as s:
        for item in review.get("items", review.get("messages", [])):
            assert s.get(Message, item["id"]).conversation.shop_id == B
        assert s.get(KnowledgeGap, gap_id).resolved is False


@pytest.mark.servers
def test_the_store_page_shows_each_shop_its_own(servers):
    base = servers.urls["console"]
    http = requests.Session()
    assert http.post(base + "/api/session", json={"buyer_id": "tb_regular"}, timeout=30).ok  # the loopback demo
    orders = _regular_ids()
    shirts = http.get(base + "/api/store", timeout=30).json()
    tea = http.get(base + "/api/store", params={"shop": B}, timeout=30).json()
    assert shirts["shop_id"] == A and tea["shop_id"] == B and tea["name"] == "拾叶茶舍"
    assert all(p["sku"].startswith("TEA-") for p in tea["products"]) and tea["products"]
    assert not any(p["sku"].startswith("TEA-") for p in shirts["products"])
    assert {s["id"] for s in tea["shops"]} >= {A, B}
    assert {o["id"] for o in http.get(base + "/api/orders", params={"shop": B}, timeout=30).json()["orders"]} <= set(
        orders[B]
    )
    assert {o["id"] for o in http.get(base + "/api/orders", timeout=30).json()["orders"]} <= set(orders[A])
    assert http.get(base + "/api/store", params={"shop": "nope"}, timeout=30).status_code == 404
    assert http.get(base + "/api/orders", params={"shop": "nope"}, timeout=30).status_code == 404
    # the chat goes to the shop the page is, and its history is that shop's only
    said = http.post(base + "/api/chat", params={"shop": B}, json={"type": "text", "text": "包邮吗"}, timeout=60)
    assert said.status_code == 200, said.text
    tea_history = http.get(base + "/api/history", params={"shop": B}, timeout=30).json()["messages"]
    shirt_history = http.get(base + "/api/history", timeout=30).json()["messages"]
    assert any("包邮吗" in m.get("text", "") for m in tea_history)
    assert not any("龙井还有货吗" in m.get("text", "") for m in shirt_history)
    with session_scope() as s:
        tea_conv = s.execute(
            select(Conversation).where(Conversation.shop_id == B, Conversation.buyer_id == "tb_regular")
        ).scalar_one()
        assert any(m.text == "包邮吗" for m in tea_conv.messages)


def test_signed_events_name_their_shop():
    """(The signature covers the body, shop id included: an event cannot be moved to another shop.)"""
    body = json.dumps(console_event("tb_regular", "你好", shop_id=B)).encode()
    headers = signing.signed_headers(settings.secret("webhook"), body)
    moved = body.replace(b'"shiye"', b'"qingshan"')
    assert signing.problem(settings.secret("webhook"), headers, moved)


def test_seeded_second_shop_has_no_sizes_and_its_own_agents():
    from bot.seed import TEA_AGENTS, TEA_PRODUCTS

    assert {login for login, *_ in TEA_AGENTS}.isdisjoint({"xiaomei", "ajie", "laowang"})
    assert all(sku.startswith("TEA-") for sku, *_ in TEA_PRODUCTS)
    assert timedelta(hours=shop(B).ship_limit_hours) != timedelta(hours=shop(A).ship_limit_hours)


@pytest.mark.servers
def test_the_supervisors_pages_count_only_their_shop(servers):
    base = servers.urls["console"]
    a_conv = _conversation_of(A, "tb_regular", "我要投诉 差评")
    with session_scope() as s:
        xiaomei = s.execute(select(Agent.id).where(Agent.login == "xiaomei")).scalar_one()
    assert a_conv
    tea = _agent("chaye", servers)
    # The reports: the T-shirt shop's agents are not there to pick, nor its disputes to read.
    tea_report = tea.get(f"{base}/api/reports", timeout=30)
    assert tea_report.status_code == 200, tea_report.text
    assert {a["name"] for a in tea_report.json()["agents"]} == {"机器人", "小茶", "茶叶姐"}
    assert "我要投诉" not in tea_report.text
    assert tea.get(f"{base}/api/reports", params={"agent": xiaomei}, timeout=30).status_code == 404
    # The peak board: its watch list holds the tea shop's orders only.
    board = tea.get(f"{base}/api/peak", timeout=30).json()
    with session_scope() as s:
        for row in board["watch_list"]:
            assert s.execute(select(Order.shop_id).where(Order.id == row["order_id"])).scalar_one() == B
