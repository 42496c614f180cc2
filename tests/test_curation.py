"""What trainers review and how their labels become training data (bot/nlu/curation.py)."""

from datetime import datetime, timedelta

import pytest

from bot.nlu.curation import LabelError, add_example, read_examples, review_queue
from bot.privacy import mask_phones
from bot.store.models import Conversation, Message, Shop

INTENTS = {"ask_ship_time", "request_exchange", "out_of_scope", "thank"}


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("电话13812345678", "电话[电话x]"),
        ("换成 138 1234 5678 吧", "换成 [电话x] 吧"),
        ("138-1234-5678", "[电话x]"),
        ("订单 3847561029384756 到哪了", "订单 3847561029384756 到哪了"),  # an order number is no phone
    ],
)
def test_phone_numbers_are_masked(raw, masked):
    assert mask_phones(raw) == masked


def _conversation(session, shop_id, messages):
    conv = Conversation(shop_id=shop_id, buyer_id=f"b{len(messages)}-{shop_id}")
    session.add(conv)
    session.flush()
    start = datetime(2026, 11, 20, 10, 0)
    for i, (direction, sender, text, intent, confidence) in enumerate(messages):
        session.add(
            Message(
                conversation_id=conv.id,
                direction=direction,
                sender=sender,
                text=text,
                intent=intent,
                confidence=confidence,
                created_at=start + timedelta(seconds=i),
            )
        )
    session.flush()


def test_review_queue_holds_probable_misreads_of_this_shop_only(shop_db):
    shop_id = shop_db.query(Shop).one().id
    _conversation(
        shop_db,
        shop_id,
        [
            ("in", "buyer", "发货了吗", "ask_ship_time", 0.98),  # read well, answered: not shown
            ("out", "bot", "今天16点前发", None, None),
            ("in", "buyer", "叮叮当当咚", "nlu_fallback", 0.40),  # fallback
            ("in", "buyer", "小了 电话13812345678", "ask_size", 0.52),  # unsure
            ("in", "buyer", "调个码", "modify_order", 0.91),  # the agent answered an exchange
            ("out", "agent", "好的 给您换", "request_exchange", None),
        ],
    )
    shop_db.add(Shop(id="other", name="别家"))
    _conversation(shop_db, "other", [("in", "buyer", "别家的消息", "nlu_fallback", 0.4)])

    queue = review_queue(shop_db, shop_id, low_confidence=0.6)
    assert [(c.text, c.reason, c.suggested) for c in queue] == [
        ("调个码", "agent_answered", "request_exchange"),
        ("小了 电话[电话x]", "unsure", None),
        ("叮叮当当咚", "fallback", None),
    ]


def test_a_label_becomes_an_example_rasa_reads(tmp_path):
    from rasa.shared.nlu.training_data.loading import load_data

    path = tmp_path / "trainer.yml"
    assert add_example(path, "调个码", "request_exchange", INTENTS, {}) == 1
    assert add_example(path, "  打电话 13812345678\n 问下 [物流](express) ", "ask_ship_time", INTENTS, {}) == 1
    examples = {m.get("text"): m.get("intent") for m in load_data(str(path)).intent_examples}
    assert examples == {"调个码": "request_exchange", "打电话 [电话x] 问下 [物流] (express)": "ask_ship_time"}
    assert read_examples(path)["request_exchange"] == ["调个码"]


@pytest.mark.parametrize(
    "text, intent, others, error",
    [
        ("调个码", "no_such_intent", {}, "unknown intent"),
        ("   ", "thank", {}, "empty"),
        ("谢" * 201, "thank", {}, "over 200"),
        ("谢谢", "thank", {"谢谢": "thank"}, "already a training example, of thank"),
    ],
)
def test_bad_labels_are_refused_with_the_reason(tmp_path, text, intent, others, error):
    with pytest.raises(LabelError, match=error):
        add_example(tmp_path / "trainer.yml", text, intent, INTENTS, others)
    assert not (tmp_path / "trainer.yml").exists()


def test_a_message_is_labelled_once(tmp_path):
    path = tmp_path / "trainer.yml"
    add_example(path, "调个码", "request_exchange", INTENTS, {})
    with pytest.raises(LabelError, match="already labelled request_exchange"):
        add_example(path, "调个码", "thank", INTENTS, {})
