"""Many shops on one server: two shops side by side, and nothing of one visible or changeable
from the other.

The seeded second shop is 拾叶茶舍 (shops/shiye/), a tea shop beside the T-shirt brand; the
regular demo buyer tb_regular has orders in both — a buyer id is the platform's, not a shop's,
and each shop has its own row of the buyer (first seen there, the nick it knows).
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
    AgentStatus,
    Buyer,
    Conversation,
    Direction,
    Handler,
    HandoffReason,
    KnowledgeGap,
    Message,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    Sender,
    Shop,
    ShopMode,
    Variant,
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
    """Both shops, one buyer with an order in each, and a product of each. The buyer is a
    buyer of each shop, under the nick each first saw (he renamed himself in between)."""
    shop_db.add(Shop(id=B, name="拾叶茶舍"))
    shop_db.add(Buyer(id="b1", shop_id=A, nick="阿强", created_at=NOW - timedelta(days=30)))
    shop_db.add(Buyer(id="b1", shop_id=B, nick="茶客阿强", created_at=NOW))
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
    assert order_slots(s, "b1", shop(B))["buyer_nick"] == "茶客阿强"
    assert order_slots(s, "b1", shop(A))["buyer_nick"] == "阿强"
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


def test_a_platform_buyer_is_a_buyer_of_each_shop_they_write_to(shop_db, monkeypatch):
    """He bought T-shirts last year and writes to the tea shop today: the tea shop first sees
    him today, under the nick he writes with now, and welcomes him as new — his T-shirt orders
    are the T-shirt shop's, which greets him as returning by the nick it knows."""
    s = shop_db
    s.add(Shop(id=B, name="拾叶茶舍"))
    monkeypatch.setenv("XIAOER_NOW", "2025-05-12T09:30:00")
    conversations.conversation_for(s, A, "b7", "阿强")
    order = Order(id="3000000000000000007", shop_id=A, buyer_id="b7", status=OrderStatus.COMPLETED,
                  created_at=datetime(2025, 5, 12, 9, 40), goods_fen=100, express="YTO", receiver_name="张三",
                  receiver_phone="13900000000", province="浙江", city="杭州", address="文三路1号")  # fmt: skip
    s.add(order)
    s.flush()
    monkeypatch.setenv("XIAOER_NOW", NOW.isoformat())
    conversations.conversation_for(s, B, "b7", "茶客阿强")

    rows = s.execute(select(Buyer).where(Buyer.id == "b7")).scalars().all()
    assert {b.shop_id: (b.nick, b.created_at) for b in rows} == {
        A: ("阿强", datetime(2025, 5, 12, 9, 30)),
        B: ("茶客阿强", NOW),
    }
    shirt_buyer, tea_buyer = s.get(Buyer, (A, "b7")), s.get(Buyer, (B, "b7"))
    assert order.buyer is shirt_buyer and shirt_buyer.orders == [order] and tea_buyer.orders == []
    assert [r.phrase_id for r in welcome_reply(s, B, "b7")] == ["welcome.first"]
    back = welcome_reply(s, A, "b7")
    assert [r.phrase_id for r in back] == ["welcome.returning"] and back[0].slots["buyer_nick"] == "阿强"


def test_each_shop_finds_and_names_a_buyer_by_its_own_nick(two_shops):
    """b1 is 阿强 to the T-shirt shop and 茶客阿强 to the tea shop: each shop's history search,
    agents' lists and store page go by its own row, never the other shop's."""
    from bot.console.store_page import buyer_nick

    s = two_shops
    tea = Agent(shop_id=B, login="t1", name="小茶", password_hash="x", skills=["presale"])
    shirt = Agent(shop_id=A, login="a1", name="小美", password_hash="x", skills=["presale"])
    s.add_all([tea, shirt])
    s.flush()
    conv_a, conv_b = conversations.conversation_for(s, A, "b1"), conversations.conversation_for(s, B, "b1")

    def found(agent, query):
        return [(f.conversation.id, f.buyer_nick, f.matched) for f in casework.search_history(s, agent, query)]

    assert found(shirt, "阿强") == [(conv_a.id, "阿强", "买家")]
    assert found(tea, "茶客") == [(conv_b.id, "茶客阿强", "买家")]
    assert found(shirt, "茶客") == []  # the tea shop's name for him is not the T-shirt shop's
    assert found(tea, "b1") == [(conv_b.id, "茶客阿强", "买家")]
    assert [r["buyer"] for r in inbox.rows(s, [conv_b], NOW, tea)] == ["茶客阿强"]
    assert [r["buyer"] for r in inbox.rows(s, [conv_a], NOW, shirt)] == ["阿强"]
    assert buyer_nick(s, B, "b1") == "茶客阿强" and buyer_nick(s, A, "b1") == "阿强"
    assert buyer_nick(s, B, "tb_newbie") == "第一次来的小白"  # a demo buyer new to the shop: the demo's nick


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


@pytest.mark.servers
def test_a_shop_with_its_own_console_key_takes_only_events_signed_with_it(servers):
    """The tea shop's console has its own key (conftest): the server's key does not open the tea
    shop, and the tea shop's key does not open the T-shirt shop. Refused events are not stored."""
    assert settings.secret("webhook", B) != settings.secret("webhook")
    assert settings.secret("webhook", A) == settings.secret("webhook")  # no key of its own: the server's
    buyer = f"keys-{uuid.uuid4().hex[:8]}"
    tea, shirt = console_event(buyer, "有新茶吗", shop_id=B), console_event(buyer, "包邮吗", shop_id=A)

    def signed_with(event, key):
        body = json.dumps(event, ensure_ascii=False).encode()
        return console_post(servers, body, raw=True, headers=signing.signed_headers(key, body))

    assert signed_with(tea, settings.secret("webhook")).status_code == 401
    assert signed_with(shirt, settings.secret("webhook", B)).status_code == 401
    with session_scope() as s:
        assert (
            s.execute(select(Message).where(Message.message_id.in_([tea["message_id"], shirt["message_id"]]))).all()
            == []
        )
    assert signed_with(tea, settings.secret("webhook", B)).status_code == 200
    assert signed_with(shirt, settings.secret("webhook")).status_code == 200
    with session_scope() as s:
        stored = s.execute(
            select(Conversation.shop_id)
            .join(Message)
            .where(Message.message_id.in_([tea["message_id"], shirt["message_id"]]))
        ).scalars()
        assert sorted(stored) == sorted([A, B])


async def test_each_shop_pushes_to_its_own_console(aiohttp_server, db_url, monkeypatch):
    """A shop's console.callback_url (shop.yml) takes that shop's messages only, signed with its key;
    a shop without one uses the server's XIAOER_CONSOLE_CALLBACK, here unset: nothing is pushed."""
    from aiohttp import web

    from bot.service.delivery import callback_url, deliver

    seen = []

    async def tea_console(request):
        body = await request.read()
        assert signing.problem(settings.secret("callback", B), request.headers, body) is None
        seen.append(json.loads(body)["shop_id"])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/tea", tea_console)
    server = await aiohttp_server(app)
    monkeypatch.delenv("XIAOER_CONSOLE_CALLBACK", raising=False)
    monkeypatch.setattr(shop(B).console, "callback_url", str(server.make_url("/tea")))
    assert callback_url(A) is None and callback_url(B) == str(server.make_url("/tea"))
    with session_scope() as s:
        # shop notices (the scheduler pushes them as agents' replies are pushed)
        tea = conversations.record(
            s, conversations.conversation_for(s, B, "tb_regular"), Direction.OUT, Sender.BOT, "好的"
        ).id
        shirt = conversations.record(
            s, conversations.conversation_for(s, A, "tb_regular"), Direction.OUT, Sender.BOT, "好的"
        ).id
    assert await deliver(tea, backoff=(0,))
    assert not await deliver(shirt, backoff=(0,))
    assert seen == [B]


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


# --- the scheduler: outreach and the peak, shop by shop (unit) --------------------------------------


def _stocked_unpaid(s, shop_id: str, oid: str, buyer: str, paid_ago: timedelta | None = None) -> Order:
    """An order of the shop's own product, in stock: unpaid for 5 hours, or paid `paid_ago`."""
    product = Product(shop_id=shop_id, sku=f"{shop_id}-{oid[-3:]}", title=f"{shop_id}的宝贝{oid[-3:]}",
                      category="x", price_fen=100, material="m")  # fmt: skip
    s.add(product)
    s.flush()
    s.add(Variant(product_id=product.id, color="原色", size="默认", stock=10))
    order = Order(
        id=oid, shop_id=shop_id, buyer_id=buyer, created_at=NOW - timedelta(hours=5) - (paid_ago or timedelta(0)),
        status=OrderStatus.PAID if paid_ago else OrderStatus.UNPAID, paid_at=NOW - paid_ago if paid_ago else None,
        goods_fen=100, express=shop(shop_id).default_express, receiver_name="张三", receiver_phone="13900000000",
        province="浙江", city="杭州", address="文三路1号",
        items=[OrderItem(product_id=product.id, color="原色", size="默认", quantity=1, unit_price_fen=100)],
    )  # fmt: skip
    s.add(order)
    s.flush()
    return order


@pytest.fixture()
def outreach_shops(shop_db):
    """One buyer with an unpaid and a paid order in each shop; the paid ones both 10 h ago:
    within the tea shop's watch (48 h limit), not the T-shirt shop's (72 h)."""
    s = shop_db
    s.add(Shop(id=B, name="拾叶茶舍"))
    for shop_id in (A, B):
        s.add(Buyer(id="b1", shop_id=shop_id, nick="阿强", created_at=NOW - timedelta(days=30)))
    s.flush()
    made = {}
    for shop_id, n in ((A, 1), (B, 2)):
        made[shop_id, "unpaid"] = _stocked_unpaid(s, shop_id, f"30000000000000001{n}1", "b1")
        made[shop_id, "paid"] = _stocked_unpaid(s, shop_id, f"30000000000000001{n}2", "b1", timedelta(hours=10))
    return s, made


def test_payment_reminders_and_delay_notices_go_shop_by_shop_in_the_shops_words(outreach_shops):
    from bot.service import outreach
    from bot.shop import outreach as rules
    from bot.store.models import Outreach, OutreachKind

    s, made = outreach_shops
    sent = outreach.send_payment_reminders(s, shop(B), B, NOW) + outreach.send_delay_notices(s, shop(B), B, NOW)
    rows = s.execute(select(Outreach)).scalars().all()
    assert len(sent) == 2 and {r.message_id for r in rows} == set(sent)
    assert {(r.order_id, r.kind) for r in rows} == {
        (made[B, "unpaid"].id, OutreachKind.PAYMENT_REMINDER),
        (made[B, "paid"].id, OutreachKind.DELAY_NOTICE),  # B's 48 h limit: due; under A's 72 h it would not be
    }
    assert {r.shop_id for r in rows} == {B}
    tea_chat = conversations.conversation_for(s, B, "b1")
    for row in rows:
        message = s.get(Message, row.message_id)
        assert message.conversation_id == tea_chat.id
        order = s.get(Order, row.order_id)
        reply = (
            rules.payment_reminder(order, NOW, shop(B))
            if row.kind == OutreachKind.PAYMENT_REMINDER
            else rules.delay_notice(order, NOW, shop(B))
        )
        rng = __import__("random").Random(f"{order.id}:{row.kind}:{row.slot}")
        assert message.text == library(B).render(reply.phrase_id, reply.slots, rng=rng)  # B's phrases, B's facts
        assert "青衫" not in message.text and "16:00" not in message.text  # nothing of the T-shirt shop
    # The T-shirt shop's round reminds its own unpaid order only; its paid one is not due yet (72 h).
    a_sent = outreach.send_payment_reminders(s, shop(A), A, NOW) + outreach.send_delay_notices(s, shop(A), A, NOW)
    a_rows = s.execute(select(Outreach).where(Outreach.shop_id == A)).scalars().all()
    assert [r.order_id for r in a_rows] == [made[A, "unpaid"].id] and [r.message_id for r in a_rows] == a_sent
    assert s.get(Message, a_sent[0]).conversation_id == conversations.conversation_for(s, A, "b1").id
    assert [o.id for o in outreach.watch_list(s, shop(B), B, NOW)] == [made[B, "paid"].id]


def _queue_up(s, shop_id: str, n: int, since: datetime) -> None:
    for i in range(n):
        s.add(Conversation(shop_id=shop_id, buyer_id=f"q{shop_id}{i}", started_at=since, last_message_at=since,
                           handled_by=Handler.QUEUE, queued_at=since))  # fmt: skip
    s.flush()


def test_the_load_of_one_shop_never_switches_the_others_peak(outreach_shops, monkeypatch):
    """Shop A overloaded (one online agent, full; three waiting), shop B calm: the scheduler's
    round switches A's peak only, logs it for A, and sends each shop's own outreach."""
    from contextlib import nullcontext

    from bot.console import operations
    from bot.service import peak_watch
    from bot.store.models import Outreach, PeakSwitch

    s, made = outreach_shops
    busy = Agent(shop_id=A, login="a9", name="小忙", password_hash="x", skills=["presale"], max_sessions=1,
                 status=AgentStatus.ONLINE)  # fmt: skip
    idle = Agent(shop_id=B, login="b9", name="小闲", password_hash="x", skills=["presale"], max_sessions=5,
                 status=AgentStatus.ONLINE)  # fmt: skip
    s.add_all([busy, idle])
    s.flush()
    s.add(Conversation(shop_id=A, buyer_id="held", handled_by=Handler.AGENT, agent_id=busy.id, started_at=NOW,
                       last_message_at=NOW))  # fmt: skip
    _queue_up(s, A, 3, NOW - timedelta(minutes=5))
    assert peak_watch.measure(s, B, NOW).queue == 0 and peak_watch.measure(s, A, NOW).queue == 3

    monkeypatch.setattr(operations, "session_scope", lambda *a, **k: nullcontext(s))
    monkeypatch.setattr(operations, "shop_ids", lambda: [A, B])
    done = operations.tick(peak_watch.PeakWatch(), NOW)
    assert done["shops_switched"] == [A] and done["switched"]["on"]
    assert [(p.shop_id, p.on) for p in s.execute(select(PeakSwitch)).scalars()] == [(A, True)]
    assert s.get(Shop, A).peak_by_load_since == NOW and s.get(Shop, B).peak_by_load_since is None
    assert peak_watch.state(s, shop(B), B, NOW).on is False and peak_watch.state(s, shop(A), A, NOW).on is True
    assert peak_watch.recent_switches(s, B) == []
    # the same round sent each shop's outreach, each row with its shop
    by_shop = {(r.shop_id, r.order_id) for r in s.execute(select(Outreach)).scalars()}
    assert by_shop == {(A, made[A, "unpaid"].id), (B, made[B, "unpaid"].id), (B, made[B, "paid"].id)}
    assert set(done["sent"]) == {r.message_id for r in s.execute(select(Outreach)).scalars()}
    # B overloaded later while A calms: B switches on by itself, A's switch stays A's
    _queue_up(s, B, 9, NOW)
    later = NOW + timedelta(minutes=1)
    assert operations.tick(peak_watch.PeakWatch(), later)["shops_switched"] == [B]
    assert [(p.shop_id, p.on) for p in s.execute(select(PeakSwitch).order_by(PeakSwitch.id)).scalars()] == [
        (A, True),
        (B, True),
    ]


# --- the manager's reports (unit) -------------------------------------------------------------------


def test_a_shops_report_never_counts_another_shops_messages(two_shops):
    """The same buyer talks to both shops on the same day: each report counts its own chat."""
    from bot.service import reports

    s = two_shops
    tea_agent = Agent(shop_id=B, login="t1", name="小茶", password_hash="x", skills=["presale"])
    shirt_agent = Agent(shop_id=A, login="a1", name="小美", password_hash="x", skills=["presale"])
    s.add_all([tea_agent, shirt_agent])
    s.flush()
    day = NOW.date()
    conv_a = Conversation(shop_id=A, buyer_id="b1", started_at=NOW, last_message_at=NOW,
                          handoff_reason=HandoffReason.DISPUTE, handled_by=Handler.AGENT, agent_id=shirt_agent.id,
                          queued_at=NOW + timedelta(seconds=5))  # fmt: skip
    conv_b = Conversation(shop_id=B, buyer_id="b1", started_at=NOW, last_message_at=NOW)
    s.add_all([conv_a, conv_b])
    s.flush()

    def say(conv, seconds, direction, sender, text, intent=None, agent=None):
        s.add(Message(conversation_id=conv.id, direction=direction, sender=sender, text=text, intent=intent,
                      agent_id=agent, created_at=NOW + timedelta(seconds=seconds)))  # fmt: skip

    say(conv_a, 0, Direction.IN, Sender.BUYER, "这件衬衫多少钱", "ask_product")
    say(conv_a, 2, Direction.OUT, Sender.BOT, "亲，79元")
    say(conv_a, 4, Direction.IN, Sender.BUYER, "质量太差 我要投诉 差评", "complain")
    say(conv_a, 20, Direction.OUT, Sender.AGENT, "亲，非常抱歉", agent=shirt_agent.id)
    say(conv_b, 60, Direction.IN, Sender.BUYER, "龙井还有货吗", "ask_stock")
    say(conv_b, 61, Direction.OUT, Sender.BOT, "亲，有货的")
    s.flush()
    # his T-shirt order paid within the window: a conversion of the T-shirt shop's only
    s.get(Order, "3000000000000000001").paid_at = NOW + timedelta(hours=1)
    s.get(Order, "3000000000000000002").paid_at = NOW - timedelta(days=1)
    s.flush()

    tea = reports.build(s, shop(B), B, day)
    assert tea.totals["conversations"] == 1 and tea.totals["buyer_messages"] == 1
    assert tea.totals["bot_messages"] == 1 and tea.totals["agent_messages"] == 0
    assert tea.totals["handed_off"] == 0 and tea.handoffs == []
    assert tea.disputes["bad_review_threats"] == 0 and tea.disputes["messages"] == []
    assert tea.funnel == {"inquiries": 1, "ordered": 0, "paid": 0}  # his T-shirt payment is not the tea shop's
    assert [r.name for r in tea.agents] == [reports.BOT, "小茶"]
    assert {i["intent"] for i in tea.intents} == {"ask_stock"}
    assert tea.platform_clock["held"] == 0 and tea.queue["queued"] == 0
    with pytest.raises(reports.ReportError):
        reports.build(s, shop(B), B, day, agent_id=shirt_agent.id)  # another shop's agent: not there to pick

    shirts = reports.build(s, shop(A), A, day)
    assert shirts.totals["conversations"] == 1 and shirts.totals["buyer_messages"] == 2
    assert shirts.totals["handed_off"] == 1 and shirts.disputes["bad_review_threats"] == 1
    assert shirts.funnel == {"inquiries": 1, "ordered": 1, "paid": 1}
    assert [r.name for r in shirts.agents] == [reports.BOT, "小美"]
    assert "龙井" not in json.dumps(shirts.lost + shirts.disputes["messages"], ensure_ascii=False)
    # each report names him by its own shop's nick
    assert [x["nick"] for x in tea.lost] == ["茶客阿强"]
    assert [x["nick"] for x in shirts.disputes["messages"]] == ["阿强"]


# --- every table belongs to a shop -----------------------------------------------------------------

# Tables global by design, and why. A new table either has a shop_id, hangs off one that has
# (a NOT NULL foreign key chain: message → conversation → shop), or is added here with a reason.
GLOBAL_TABLES = {
    "shops": "the tenants themselves",
    "alembic_version": "the schema's revision (Alembic's own table, not in the models)",
}


def _shop_path(table, seen=()) -> list | None:
    """The NOT NULL foreign keys from the table to one with a shop_id, or None."""
    if "shop_id" in table.c:
        refs = {(f.column.table.name, f.column.name) for f in table.c.shop_id.foreign_keys}
        # … and another table only as part of a key within the shop (orders → their shop's buyer)
        assert ("shops", "id") in refs and all(t == "shops" or c == "shop_id" for t, c in refs), (
            f"{table.name}.shop_id must reference shops.id, and other tables only by their shop_id: {refs}"
        )
        return [table.name]
    for column in table.c:
        if column.nullable:
            continue  # an optional link does not pin a row to a shop
        for fk in column.foreign_keys:
            parent = fk.column.table
            if parent.name in seen:
                continue
            rest = _shop_path(parent, (*seen, table.name))
            if rest is not None:
                return [f"{table.name}.{column.name}", *rest]
    return None


def test_every_table_belongs_to_a_shop_or_is_global_by_design(tmp_path):
    from sqlalchemy import create_engine, inspect

    from bot.store import migrate
    from bot.store.models import Base

    paths = {}
    for table in Base.metadata.sorted_tables:
        if table.name in GLOBAL_TABLES:
            continue
        paths[table.name] = _shop_path(table)
    orphans = sorted(name for name, path in paths.items() if path is None)
    assert not orphans, (
        f"tables with no shop: {orphans} — add shop_id, a NOT NULL key to a shop's table, or GLOBAL_TABLES"
    )
    # the chains this documents, for the tables without a shop_id of their own
    assert paths["messages"] == ["messages.conversation_id", "conversations"]
    assert paths["order_items"] == ["order_items.order_id", "orders"]
    assert paths["tracking_events"] == ["tracking_events.shipment_id", "shipments.order_id", "orders"]
    assert paths["deliveries"] == ["deliveries.message_id", "messages.conversation_id", "conversations"]
    assert paths["agent_sessions"] == ["agent_sessions.agent_id", "agents"]
    # the migrated database has no table the models do not know (nor one the walk skipped)
    url = f"sqlite:///{tmp_path / 'walk.db'}"
    migrate.upgrade(url)
    in_db = set(inspect(create_engine(url)).get_table_names())
    assert in_db - set(GLOBAL_TABLES) == set(Base.metadata.tables) - set(GLOBAL_TABLES)
    assert set(GLOBAL_TABLES) <= in_db


# --- pushed to the agents and to the console ---------------------------------------------------------


def _agent_id(login: str) -> int:
    with session_scope() as s:
        return s.execute(select(Agent.id).where(Agent.login == login)).scalar_one()


@pytest.mark.servers
def test_a_buyer_message_is_pushed_only_to_its_own_shops_agent(servers):
    """/internal/buyer-message (from the Rasa channel, signed): the tea shop's buyer goes to the
    tea shop's agent's sockets; a T-shirt agent's open workbench never sees it — not even when
    a conversation (wrongly) names an agent of another shop."""
    base = servers.urls["console"]
    tea_agent, shirt_agent = _agent_id("xiaocha"), _agent_id("xiaomei")
    held, wrong = "ten_" + uuid.uuid4().hex[:8], "ten_" + uuid.uuid4().hex[:8]
    ids = {}
    with session_scope() as s:
        for buyer, agent in ((held, tea_agent), (wrong, shirt_agent)):
            conv = conversations.conversation_for(s, B, buyer)
            mid = str(uuid.uuid4())
            conversations.record(s, conv, Direction.IN, Sender.BUYER, f"龙井明前的还有吗 {buyer}", message_id=mid)
            conv.handled_by, conv.agent_id = Handler.AGENT, agent
            ids[buyer] = (conv.id, mid)

    def signed(buyer):
        body = json.dumps({"conversation_id": ids[buyer][0], "message_id": ids[buyer][1]}).encode()
        return body, signing.signed_headers(settings.secret("internal"), body)

    async def frames(ws, seconds):
        seen = []
        try:
            while True:
                seen.append(await ws.receive_json(timeout=seconds))
        except (asyncio.TimeoutError, TypeError):
            return seen

    async def talk():
        jars = [aiohttp.CookieJar(unsafe=True) for _ in range(2)]
        async with aiohttp.ClientSession(cookie_jar=jars[0]) as tea, aiohttp.ClientSession(cookie_jar=jars[1]) as shirt:
            for http, login in ((tea, "xiaocha"), (shirt, "xiaomei")):
                assert (await http.post(base + "/api/login", json={"login": login, "password": "xiaoer123"})).ok
            async with tea.ws_connect(base + "/ws") as tea_ws, shirt.ws_connect(base + "/ws") as shirt_ws:
                await tea_ws.receive_json()
                await shirt_ws.receive_json()
                answers = []
                for buyer in (held, wrong):
                    body, headers = signed(buyer)
                    async with aiohttp.ClientSession() as plain:
                        async with plain.post(base + "/internal/buyer-message", data=body, headers=headers) as resp:
                            answers.append((resp.status, await resp.json()))
                return answers, await frames(tea_ws, 3), await frames(shirt_ws, 1)

    try:
        answers, tea_frames, shirt_frames = asyncio.run(talk())
    finally:
        with session_scope() as s:
            for conv_id, _ in ids.values():
                conv = s.get(Conversation, conv_id)
                conv.handled_by, conv.agent_id = Handler.BOT, None
    assert answers == [(200, {"delivered": True}), (200, {"delivered": False})]
    pushed = [f for f in tea_frames if f.get("type") == "buyer_message"]
    assert [f["conversation_id"] for f in pushed] == [ids[held][0]]
    assert not [f for f in shirt_frames if f.get("type") == "buyer_message"]
    assert "龙井明前" not in json.dumps(shirt_frames, ensure_ascii=False)
    # unsigned, it reaches nobody
    body, _ = signed(held)
    unsigned = requests.post(
        base + "/internal/buyer-message", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert unsigned.status_code == 401


async def test_a_shops_message_goes_to_the_console_as_that_shops(aiohttp_server, db_url):
    """The console callback gets the tea shop's message with the tea shop's id, signed with the
    tea shop's own key; the delivery row hangs off the message, hence the tea shop's conversation."""
    from aiohttp import web

    from bot.service.delivery import deliver
    from bot.store.models import Delivery

    seen = []

    async def callback(request):
        body = await request.read()
        assert signing.problem(settings.secret("callback", B), request.headers, body) is None
        assert signing.problem(settings.secret("callback"), request.headers, body)  # not the server's key
        seen.append(json.loads(body))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/callback", callback)
    server = await aiohttp_server(app)
    with session_scope() as s:
        conv = conversations.conversation_for(s, B, "tb_regular")
        message_id = conversations.record(s, conv, Direction.OUT, Sender.AGENT, "亲，明前龙井明天发出").id
    assert await deliver(message_id, url=str(server.make_url("/callback")), backoff=(0,))
    assert [(p["shop_id"], p["buyer_id"], p["text"]) for p in seen] == [(B, "tb_regular", "亲，明前龙井明天发出")]
    with session_scope() as s:
        row = s.execute(select(Delivery).where(Delivery.message_id == message_id)).scalar_one()
        assert s.get(Message, row.message_id).conversation.shop_id == B and row.delivered_at is not None


# --- the supervisor's Double 11 pages -----------------------------------------------------------------


@pytest.mark.servers
def test_staffing_and_rehearsal_are_the_supervisors_shops(servers):
    from bot.shop import staffing

    base = servers.urls["console"]
    tea, shirts = _agent("chaye", servers), _agent("laowang", servers)
    assert shop(B).peak.hourly_curve != shop(A).peak.hourly_curve
    for http, shop_id in ((tea, B), (shirts, A)):
        defaults = http.get(base + "/api/staffing", timeout=30).json()
        assert [tuple(h) for h in defaults["curve"]] == list(shop(shop_id).peak.hourly_curve)
        plan = http.post(base + "/api/staffing", json={"sales": 1000000, "service_share": 0.3, "avg_order": 200,
                                                      "conversion": 0.3, "capacity": 60}, timeout=30)  # fmt: skip
        assert plan.ok, plan.text
        assert [h["start"] for h in plan.json()["hours"]] == [h for h, _ in shop(shop_id).peak.hourly_curve]
    # the default shop's rehearsal is not the tea shop's to read: only its own (`xiaoer rehearse
    # --shop shiye`, reports/rehearsal-shiye.json), if one was made
    own = staffing.last_rehearsal(B)
    # and the command the pages offer rehearses the supervisor's own shop
    assert tea.get(base + "/api/rehearsal", timeout=30).json() == {
        "report": own,
        "rehearse_command": f"xiaoer rehearse --speed 10 --shop {B}",
    }
    assert shirts.get(base + "/api/staffing", timeout=30).json()["rehearse_command"] == "xiaoer rehearse --speed 10"
    assert tea.get(base + "/api/staffing", timeout=30).json()["bot_resolution"] == (own and own["bot_resolution"])
    assert tea.get(base + "/api/rehearsal/chart.png", timeout=30).status_code == (200 if own else 404)
    if settings.REHEARSAL_REPORT.exists():
        assert shirts.get(base + "/api/rehearsal", timeout=30).json()["report"] is not None
    # the agent pages and APIs of a supervisor answer for the cookie's shop, never another's
    for path in ("/api/peak", "/api/reports", "/api/queue", "/api/workbench/state", "/api/trainer/gaps"):
        assert "青衫" not in tea.get(base + path, timeout=30).text, path
