"""The Double 11 rehearsal: the night's traffic follows the staffing curve, a run through the
real servers' console channel loses nothing and leaves nobody in the agents' queue, and a
message the database never answered is counted as lost."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import func, select

from bot import rehearsal, settings
from bot.cli import main
from bot.shop import staffing
from bot.shop.config import shop, shop_dir
from bot.store.db import session_scope
from bot.store.models import Conversation, Direction, Handler, Message
from connectors.tracker_store import events_table


def test_windows_read_across_midnight():
    assert rehearsal.parse_window("23:30-00:30") == (23.5, 24.5)
    assert rehearsal.parse_window("18:00-03:00") == (18, 27)
    assert rehearsal.parse_window("00:00-00:10") == (24, 24 + 1 / 6)
    with pytest.raises(rehearsal.RehearsalError, match="HH:MM"):
        rehearsal.parse_window("midnight")


def test_buyers_arrive_by_the_hourly_curve():
    cfg = shop()
    # The default curve: 20:00 holds 14% of the night, 18:00 5%, 02:00 4%.
    night = rehearsal.arrivals(cfg, (18, 27), 10_000, random.Random(1))
    by_hour = [0] * 9
    for at in night:
        by_hour[int(at // 3600)] += 1
    assert abs(len(night) - 10_000) < 30
    assert by_hour[2] == pytest.approx(1400, abs=30) and by_hour[0] == pytest.approx(500, abs=30)
    assert by_hour[8] == pytest.approx(400, abs=30)
    # A window holds its part of the night only.
    top = rehearsal.arrivals(cfg, (24, 24.5), 10_000, random.Random(1))
    assert len(top) == pytest.approx(800, abs=20) and max(top) < 1800


def test_rehearsal_buyers_write_like_buyers():
    buyers = rehearsal.generate(shop(), (24, 24.5), 2000, seed=3, run_id="t")
    texts = [t.text for b in buyers for t in b.turns]
    assert len(buyers) == pytest.approx(160, abs=25) and len(texts) > len(buyers)
    assert not [t for t in texts if re.search(r"\[[^\]]{1,3}x\]", t)]  # no [订单x] masks left
    assert {b.buyer_id.rsplit("-", 1)[0] for b in buyers} == {"rehearsal-t"}
    assert all(b.turns == sorted(b.turns, key=lambda t: t.seq) for b in buyers)
    asked = Counter(t.intent for b in buyers for t in b.turns)
    assert asked["ask_product"] > asked["bulk_order"]  # the real mix: product questions lead


def test_another_shops_buyers_come_by_its_curve_and_ask_in_its_mix(tmp_path, monkeypatch):
    """The tea shop's curve starts at 19:00, so no buyer of it comes at 18:00; given an
    intent_mix in its shop.yml, its buyers ask in that mix, not the default shop's."""
    tea = tmp_path / "shiye"
    tea.mkdir()
    own = (shop_dir("shiye") / "shop.yml").read_text(encoding="utf-8")
    (tea / "shop.yml").write_text(own + "\nintent_mix: {bulk_order: 1000}\n", encoding="utf-8")
    monkeypatch.setattr(settings, "SHOPS_DIR", tmp_path)
    shop.cache_clear()
    try:
        assert rehearsal.arrivals(shop("shiye"), (18, 19), 10_000, random.Random(1)) == []
        assert len(rehearsal.arrivals(shop(), (18, 19), 10_000, random.Random(1))) == pytest.approx(500, abs=30)
        buyers = rehearsal.generate(shop("shiye"), (21, 21.5), 2000, seed=3, run_id="t")
        asked = Counter(t.intent for b in buyers for t in b.turns)
        assert asked.most_common(1)[0][0] == "bulk_order" and asked["bulk_order"] > sum(asked.values()) / 2
    finally:
        shop.cache_clear()  # the real shops/ again for the next test


def test_an_unanswered_message_counts_as_lost():
    buyers = [rehearsal.Buyer("rehearsal-x-0", [])]
    sent = [
        rehearsal.Sent("rehearsal-x-0", "m1", 0, 12.0, "bot"),
        rehearsal.Sent("rehearsal-x-0", "m2", 0, 15.0, "bot"),
        rehearsal.Sent("rehearsal-x-0", "m3", 1, None),  # never acknowledged
    ]
    outcome = rehearsal.Outcome(stored_answered={("rehearsal-x-0", "m1")}, handoff={"rehearsal-x-0": "buyer_asked"})
    now = datetime(2026, 11, 11, 0, 10)
    rep = rehearsal.report(
        buyers, sent, outcome, speed=10, window="00:00-00:10", receptions=1,
        started_at=now, duration=2.0, ended_at=now,
    )  # fmt: skip
    assert rep["lost"] == 2 and rep["lost_messages"] == ["m2", "m3"]
    assert rep["handoff_rate"] == 1.0 and rep["handoff_by_reason"][0]["reason_label"] == "买家要求人工"
    assert rep["per_minute"] == [
        {"minute": 0, "sent": 2, "bot": 2, "agent": 0},
        {"minute": 1, "sent": 1, "bot": 0, "agent": 0},
    ]


def _rehearsal_conversations(session, shop_id):
    """The rehearsal buyers' conversations in one shop (the tests below rehearse two)."""
    query = select(Conversation).where(Conversation.shop_id == shop_id, Conversation.buyer_id.like("rehearsal-%"))
    return session.execute(query).scalars().all()


@pytest.mark.servers
def test_a_rehearsal_through_the_console_channel_loses_nothing(servers, tmp_path, capsys):
    out = tmp_path / "rehearsal.json"
    argv = ["rehearse", "--speed", "120", "--window", "00:00-00:10", "--receptions", "600"]
    assert main(argv + ["--rasa-url", servers.urls["rasa"], "--out", str(out)]) == 0

    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["lost"] == 0 and rep["messages"] >= rep["conversations"] >= 10
    assert rep["latency_ms"]["p50"] is not None and 0 <= rep["bot_resolution"] <= 1
    assert out.with_suffix(".png").stat().st_size > 10_000 and "丢失消息" in out.with_suffix(".md").read_text()
    printed = capsys.readouterr()
    assert "**丢失消息** | **0**" in printed.out and f"{rep['messages']}/{rep['messages']} 条" in printed.err

    with session_scope() as s:
        convs = _rehearsal_conversations(s, shop().shop_id)
        assert len(convs) == rep["conversations"]
        assert all(c.handled_by == Handler.BOT for c in convs)  # nobody left in the agents' queue
        stored = s.execute(
            select(func.count(Message.id)).where(
                Message.conversation_id.in_([c.id for c in convs]),
                Message.direction == Direction.IN,
                Message.answered_at.isnot(None),
            )
        ).scalar_one()
        assert stored == rep["messages"]  # every buyer message stored once and answered


@pytest.mark.servers
def test_a_rehearsal_of_another_shop_is_that_shops(servers, tmp_path, monkeypatch, capsys):
    """`xiaoer rehearse --shop shiye`: the tea shop's buyers (stored in its shop, their trackers
    keyed shiye/… as the channel keys them), its report where its staffing reads it, and the
    default shop's last rehearsal as it was."""
    monkeypatch.setattr(settings, "REHEARSAL_REPORT", tmp_path / "rehearsal.json")
    default = tmp_path / "rehearsal.json"
    default.write_text(json.dumps({"bot_resolution": 0.5}), encoding="utf-8")  # as before shops had ids
    argv = ["rehearse", "--shop", "shiye", "--speed", "120", "--window", "21:00-21:05", "--receptions", "600"]
    assert main(argv + ["--rasa-url", servers.urls["rasa"]]) == 0
    assert "演练 拾叶茶舍 21:00-21:05" in capsys.readouterr().err

    rep = json.loads((tmp_path / "rehearsal-shiye.json").read_text(encoding="utf-8"))
    assert rep["shop_id"] == "shiye" and rep["lost"] == 0 and rep["conversations"] >= 5
    assert (tmp_path / "rehearsal-shiye.png").exists() and json.loads(default.read_text()) == {"bot_resolution": 0.5}
    assert staffing.last_rehearsal("shiye") == rep and staffing.rehearsed_resolution(shop().shop_id) == 0.5

    plan = ["staffing", "--sales", "3000000", "--service-share", "0.3", "--avg-order", "150", "--conversion", "0.4"]
    assert main(plan + ["--capacity", "60", "--shop", "shiye"]) == 0
    shown = f"bot resolution from the last rehearsal (rehearsal-shiye.json): {rep['bot_resolution']:.1%}"
    assert shown in capsys.readouterr().out
    assert main(plan + ["--capacity", "60"]) == 0
    assert "bot resolution from the last rehearsal (rehearsal.json): 50.0%" in capsys.readouterr().out

    with session_scope() as s:
        convs = _rehearsal_conversations(s, "shiye")
        assert len(convs) == rep["conversations"] and all(c.handled_by == Handler.BOT for c in convs)
        buyers = {c.buyer_id for c in convs}
        assert not s.execute(
            select(Conversation.id).where(Conversation.shop_id == shop().shop_id, Conversation.buyer_id.in_(buyers))
        ).all()  # nothing of the tea shop's rehearsal in the default shop
        senders = set(
            s.execute(select(events_table.c.sender_id).where(events_table.c.sender_id.like("%rehearsal-%"))).scalars()
        )
        assert {f"shiye/{b}" for b in buyers} == {x for x in senders if x.startswith("shiye/")}
        assert not buyers & senders  # no tracker under the bare buyer id: that is the default shop's key
