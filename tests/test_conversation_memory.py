"""Conversations that finish what they start, through the real servers and Rasa's REST
channel: the catalogue named in words, a refund taken back, an address pasted after the bot
asked for it, compensation offered and taken, what was said two turns ago, questions nobody
wrote an answer for — asserting the replies' facts and the rows in the database."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.console import workbench
from bot.shop.orders import describe
from bot.store.db import session_scope
from bot.store.models import (
    AfterSaleTicket,
    Agent,
    Conversation,
    KnowledgeGap,
    Order,
    OrderFlag,
    OrderStatus,
    Product,
    TicketKind,
    TicketStatus,
)
from tests.factories import buyer_with_order
from tests.helpers import matches, new_buyer, rest

pytestmark = pytest.mark.servers
S = OrderStatus


def said(servers, buyer, text) -> str:
    return "\n".join(rest(servers, buyer, text))


def tickets(order_id):
    with session_scope() as s:
        return s.execute(select(AfterSaleTicket).where(AfterSaleTicket.order_id == order_id)).scalars().all()


def order(order_id) -> Order:
    with session_scope() as s:
        found = s.get(Order, order_id)
        found.label = describe(found)
        return found


# --- 1. the catalogue, named in words ------------------------------------------------------------


def test_a_product_named_in_words_is_answered_with_its_own_cut(servers):
    reply = said(servers, new_buyer(), "修身那款偏小吗")
    assert "莫代尔V领修身打底T恤" in reply and "偏小" in reply  # the slim V-neck, not the flagship
    assert "180" in reply and "XL" in reply  # its own model: 180 cm, XL


def test_a_product_named_by_a_part_of_its_name_gets_its_own_facts(servers):
    reply = said(servers, new_buyer(), "亚麻衬衫那款会缩水吗 透不透")
    assert "亚麻休闲短袖衬衫" in reply
    assert "2%" in reply and "浅蓝和卡其不透" in reply  # the shop's own words on shrinking and sheerness


def test_a_product_the_shop_adds_is_recognised_without_retraining(servers):
    with session_scope() as s:
        s.add(Product(shop_id="qingshan", sku="QS-X900", title="竹纤维抗菌船袜", category="袜子", price_fen=2900,
                      material="竹纤维80% 棉20%", fit="standard", washing="可机洗",
                      aliases=["竹纤维袜"], facts={"透气": "竹纤维透气吸汗，夏天穿不闷脚"}))  # fmt: skip
    reply = said(servers, new_buyer(), "竹纤维的袜子闷不闷脚")
    assert "竹纤维抗菌船袜" in reply and "不闷脚" in reply


def test_the_product_named_stays_the_subject_of_follow_ups(servers):
    buyer = new_buyer()
    said(servers, buyer, "亚麻衬衫有L码吗")
    reply = said(servers, buyer, "白色的呢")
    assert "亚麻休闲短袖衬衫" in reply and "白色 L" in reply  # the shirt and the size from before, the colour now


# --- 2. a refund taken back ---------------------------------------------------------------------


def test_a_refund_of_an_unshipped_order_can_be_withdrawn(servers):
    buyer, order_id = buyer_with_order(S.PAID, goods_yuan=99)
    said(servers, buyer, "不想要了 帮我退款")
    cancelled = order(order_id)
    assert cancelled.status is S.REFUNDING and cancelled.flag is OrderFlag.BLUE
    assert "退款中" in cancelled.label  # the buyer's page and the agent's panel no longer say 待发货

    reply = said(servers, buyer, "那还是别退了 照常发吧")
    [ticket] = tickets(order_id)
    assert ticket.status is TicketStatus.WITHDRAWN and ticket.number in reply and "撤销" in reply
    restored = order(order_id)
    assert restored.status is S.PAID and restored.flag is OrderFlag.RED and "撤销退款" in restored.note


# --- 3. an address pasted after the bot asked -----------------------------------------------------


def test_a_pasted_address_is_written_to_the_order_and_read_back_masked(servers):
    buyer, order_id = buyer_with_order(S.PAID)
    assert matches(said(servers, buyer, "地址填错了 要改一下"), "address.before_shipping")
    reply = said(servers, buyer, "张伟 13912345678 江苏省南京市鼓楼区中山北路100号")
    assert "张*" in reply and "139****5678" in reply and "江苏南京" in reply
    assert "13912345678" not in reply and "张伟" not in reply  # read back masked
    changed = order(order_id)
    assert (changed.receiver_name, changed.receiver_phone, changed.province, changed.city, changed.address) == (
        "张伟", "13912345678", "江苏", "南京", "鼓楼区中山北路100号"
    )  # fmt: skip
    assert changed.flag is OrderFlag.RED  # the hold is released: it ships with the new address
    [ticket] = tickets(order_id)
    assert ticket.kind is TicketKind.ORDER_CHANGE and ticket.status is TicketStatus.DONE
    logs = "".join(p.read_text(errors="replace") for p in servers.log_dir.glob("*.log"))
    assert "13912345678" not in logs and "中山北路100号" not in logs  # never logged


# --- 4. compensation offered, accepted, or asked for ---------------------------------------------


def _defect_shown(servers):
    buyer, order_id = buyer_with_order(
        S.SIGNED, paid=timedelta(days=4), shipped=timedelta(days=3), signed=timedelta(days=2), goods_yuan=159
    )
    assert matches(said(servers, buyer, "衣服穿一次就破了个洞"), "aftersales.quality_ask_photos")
    options = said(servers, buyer, "/share_image")
    assert matches(options, "aftersales.quality_options")
    return buyer, order_id


def test_accepting_the_offered_compensation_registers_it(servers):
    buyer, order_id = _defect_shown(servers)
    reply = said(servers, buyer, "那就补偿吧")
    [ticket] = tickets(order_id)
    assert ticket.kind is TicketKind.COMPENSATION and ticket.amount_fen == 1000 and ticket.number in reply


def test_a_sum_above_the_limit_goes_to_a_person_never_to_a_buyer_paid_return(servers):
    buyer, order_id = _defect_shown(servers)
    reply = said(servers, buyer, "别让我寄了 补我30块得了")
    assert matches(reply.split("\n")[0], "aftersales.compensation_over_limit") and "30" in reply
    assert not tickets(order_id)  # no return opened, least of all one the buyer pays freight for
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert conv.handoff_reason == "compensation_over_limit"


def test_choosing_a_return_after_a_defect_leaves_the_freight_to_the_shop(servers):
    buyer, order_id = _defect_shown(servers)
    reply = said(servers, buyer, "那还是退货吧")
    [ticket] = tickets(order_id)
    assert (
        ticket.kind is TicketKind.RETURN
        and "店铺承担" in ticket.reason
        and matches(reply, "aftersales.return_shop_pays")
    )


# --- 5. what the buyer said two turns ago ---------------------------------------------------------


def test_the_size_asked_for_survives_the_which_order_question(servers):
    buyer, first = buyer_with_order(S.SIGNED, shipped=timedelta(days=3), signed=timedelta(days=2), size="M")
    _, second = buyer_with_order(S.SIGNED, shipped=timedelta(days=3), signed=timedelta(days=2), size="M")
    with session_scope() as s:
        s.get(Order, second).buyer_id = buyer
    assert "尾号" in said(servers, buyer, "我买的M码穿着小了 想换个L的 订单号我找一下")
    reply = said(servers, buyer, second)
    [ticket] = tickets(second)
    assert ticket.kind is TicketKind.EXCHANGE and "L" in ticket.reason and ticket.number in reply


def test_a_follow_up_is_answered_in_the_context_of_the_question_before(servers):
    buyer = new_buyer()
    assert "圆通" in said(servers, buyer, "默认发什么快递")
    reply = said(servers, buyer, "换顺丰呢 补几块")
    assert matches(reply, "logistics.express_extra_fee") and "顺丰" in reply and "12" in reply


# --- 6. questions nobody wrote an answer for -----------------------------------------------------


def test_a_question_the_library_does_not_answer_is_said_so_and_kept_for_the_trainer(servers):
    buyer = new_buyer()
    reply = said(servers, buyer, "预售的定金什么时候付尾款")
    assert "定金" in reply and "转人工" in reply and "满99" not in reply  # not the promotion list
    reply = said(servers, buyer, "华夫格那件会缩水吗")
    assert "华夫格长袖T恤" in reply and "缩水" in reply and "没有" in reply  # no fact written: not guessed
    with session_scope() as s:
        gaps = s.execute(select(KnowledgeGap).where(KnowledgeGap.buyer_id == buyer)).scalars().all()
        assert sorted(g.topic for g in gaps) == ["定金和尾款", "缩水"]


# --- also seen -----------------------------------------------------------------------------------


def test_the_phrase_library_offers_agents_only_filled_phrases(servers):
    with session_scope() as s:
        agent_id = s.execute(select(Agent).where(Agent.login == "xiaomei")).scalar_one().id
    results = workbench.search_phrases(agent_id, "包邮")
    assert results and all("{" not in r["text"] for r in results)
    assert any("99" in r["text"] for r in results)  # filled from shop.yml


def test_a_queued_buyer_asking_where_the_person_is_keeps_their_place(servers):
    buyer = new_buyer()
    said(servers, buyer, "转人工")
    with session_scope() as s:
        before = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        place = (before.skill, before.handoff_reason, before.queued_at)
    reply = said(servers, buyer, "还要等多久啊 人呢")
    assert "没有人工客服在线" in reply or "都不在线" in reply or "排在第" in reply
    with session_scope() as s:
        after = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert (after.skill, after.handoff_reason, after.queued_at) == place


def test_a_lone_smile_is_an_acknowledgement_not_a_misunderstanding(servers):
    buyer = new_buyer()
    for _ in range(2):
        reply = said(servers, buyer, "🙂")
        assert not matches(reply, "dialogue.fallback")
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one_or_none()
        assert conv is None or conv.handled_by == "bot"


def test_a_greeting_with_a_question_gets_both(servers):
    reply = rest(servers, new_buyer(), "你好 请问包邮吗")
    assert any(matches(reply[0].split("\n")[0], p) for p in ("welcome.first", "welcome.returning"))
    assert "99" in reply[0]


def test_bargaining_three_times_gets_something_concrete_each_time(servers):
    buyer = new_buyer()
    first = said(servers, buyer, "能便宜点吗")
    second = said(servers, buyer, "再便宜点嘛")
    third = said(servers, buyer, "最低多少 再少点")
    assert matches(first, "bargain.value")
    assert "满159减10" in second  # the shop's coupon
    assert "满159减10" in third and "99" in third and "同款纯棉短袜" in third  # everything it allows
