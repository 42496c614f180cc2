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

from bot import rehearsal
from bot.cli import main
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Conversation, Direction, Handler, Message


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
        convs = s.execute(select(Conversation).where(Conversation.buyer_id.like("rehearsal-%"))).scalars().all()
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
