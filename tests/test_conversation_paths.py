"""The first conversation paths, end to end through the real servers and the REST channel."""

import pytest
from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Conversation
from tests.helpers import matches, new_buyer, renderings, rest

pytestmark = pytest.mark.servers


def test_greeting_gets_the_shops_welcome(servers):
    replies = rest(servers, new_buyer(), "在吗")
    assert replies and replies[0] in renderings("welcome.first")


def test_returning_buyer_is_welcomed_back_by_name(servers):
    replies = rest(servers, "tb_regular", "你好")
    assert replies[0] in renderings("welcome.returning", buyer_nick="老顾客阿强")


def test_free_shipping_answer_is_filled_from_shop_config(servers):
    replies = rest(servers, new_buyer(), "包邮吗")
    assert replies[0] in renderings("logistics.free_shipping")
    assert "99" in replies[0]


def test_remote_region_gets_its_own_freight(servers):
    replies = rest(servers, new_buyer(), "寄新疆包邮吗")
    assert replies[0] in renderings("logistics.remote_fee", location="新疆", fee=20)


def test_asking_for_a_person_hands_off_and_records_why(servers):
    # The demo's agents are all away when the servers start: the buyer is queued, told so
    # with its place and no invented wait, and the bot keeps answering meanwhile.
    buyer = new_buyer()
    rest(servers, buyer, "在吗")
    replies = rest(servers, buyer, "转人工")
    assert matches(replies[0], "peak.nobody_online")
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert conv.handled_by == "queue" and conv.handoff_reason == "buyer_asked"


def test_a_whole_chat(servers):
    buyer = new_buyer()
    assert rest(servers, buyer, "亲 在么")[0] in renderings("welcome.first")
    assert "99" in rest(servers, buyer, "你们家包油吗")[0]
    assert matches(rest(servers, buyer, "我要找人工客服")[0], "peak.nobody_online")
    assert "99" in rest(servers, buyer, "包邮吗")[0]  # while waiting, the bot still answers
