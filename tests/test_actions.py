"""The actions themselves, run on Tracker fixtures as Rasa's example bots test theirs: no
Rasa server, the real action code against the seeded test database."""

from datetime import timedelta
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import aftersales, common, handoff, logistics, presale
from bot.store.db import session_scope
from bot.store.models import (
    AfterSaleTicket,
    Conversation,
    Handler,
    HandoffReason,
    Order,
    OrderFlag,
    OrderStatus,
    TicketKind,
)
from tests.factories import buyer_with_order
from tests.helpers import matches, new_buyer

S = OrderStatus


def tracker(
    buyer: str,
    text: str,
    intent: str,
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    earlier: Optional[List[str]] = None,
) -> Tracker:
    """The tracker an action sees for this message, after the buyer's earlier intents."""
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": entities or []}
    events = [
        {"event": "user", "text": t, "parse_data": {"intent": {"name": t, "confidence": 0.95}}} for t in earlier or []
    ]
    events.append({"event": "user", "text": text, "parse_data": parse})
    return Tracker(buyer, slots or {}, parse, events, False, None, {}, "action_listen")


def run(action: Action, t: Tracker) -> tuple[str, Dict[str, Any]]:
    """The action's one message, and the slots it sets."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]["text"], {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def entity(name: str, value: Any) -> Dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": 1}


@pytest.fixture(autouse=True)
def _seeded(db_url):
    """The seeded demo shop (the same test database the servers use)."""


def test_shipping_fee_to_a_remote_region():
    text, _ = run(
        presale.ActionShippingFee(),
        tracker(new_buyer(), "寄新疆运费多少", "ask_shipping_fee", [entity("location", "新疆")]),
    )
    assert matches(text, "logistics.remote_fee") and "新疆" in text and "20" in text


def test_refund_of_an_unshipped_order_cancels_it_and_remembers_the_order():
    buyer, order_id = buyer_with_order(S.PAID, goods_yuan=120)
    text, slots = run(aftersales.ActionRefund(), tracker(buyer, "不想要了", "request_refund"))
    assert matches(text, "aftersales.refund_cancel") and "120" in text
    assert slots["order_id"] == order_id and slots["topic"] == "aftersales"
    with session_scope() as s:
        [ticket] = s.execute(select(AfterSaleTicket).where(AfterSaleTicket.order_id == order_id)).scalars().all()
        assert ticket.kind is TicketKind.REFUND and ticket.number in text
        assert ticket.order.flag is OrderFlag.BLUE


def test_which_order_is_asked_then_the_first_question_is_answered():
    buyer, first = buyer_with_order(S.SHIPPED, shipped=timedelta(days=1))
    _, second = buyer_with_order(S.SHIPPED, shipped=timedelta(days=1))
    with session_scope() as s:  # both orders to one buyer
        s.get(Order, second).buyer_id = buyer
    text, slots = run(logistics.ActionTrackPackage(), tracker(buyer, "到哪了", "track_package"))
    assert matches(text, "orders.which") and first[-4:] in text and second[-4:] in text
    assert slots["awaiting"] == {"kind": "order", "intent": "track_package"}

    # The buyer answers with the number alone; whatever action Rasa runs, the first question is answered.
    waiting = {"awaiting": slots["awaiting"], "topic": "logistics"}
    text, slots = run(
        handoff.ActionFallback(), tracker(buyer, second, "nlu_fallback", [entity("order_id", second)], slots=waiting)
    )
    assert matches(text, "logistics.in_transit") and "已揽收" in text
    assert slots == {"awaiting": None, "order_id": second}


def test_asking_for_a_person_queues_the_buyer_with_the_reason():
    buyer = new_buyer()
    text, _ = run(handoff.ActionHandoff(), tracker(buyer, "转人工", "ask_human"))
    assert matches(text, "peak.nobody_online")  # the demo agents start away: no wait is promised
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert conv.handled_by is Handler.QUEUE and conv.handoff_reason is HandoffReason.ASKED


def test_a_dispute_word_hands_off_whatever_the_action():
    buyer = new_buyer()
    text, _ = run(presale.ActionBargain(), tracker(buyer, "再便宜点 不然去12315投诉", "bargain"))
    assert matches(text.splitlines()[-1], "peak.nobody_online")
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == buyer)).scalar_one()
        assert conv.handoff_reason is HandoffReason.DISPUTE


def test_every_order_intent_has_its_action():
    for intent in (
        "request_refund",
        "request_exchange",
        "complain_quality",
        "wrong_item",
        "ask_price_diff",
        "ask_ship_time",
        "ask_arrival_time",
        "track_package",
        "ask_gift",
        "ask_invoice",
        "change_address",
        "modify_order",
    ):
        assert common.OrderAction.for_intent(intent).intent == intent
    assert common.OrderAction.for_intent("greet") is None
    with pytest.raises(TypeError):
        common.ShopAction()  # abstract: the action server registers only the real actions
