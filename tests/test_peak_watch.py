"""The peak that switches itself by load (bot/service/peak_watch.py) and the rush dates
(bot/shop/peak.py), on a private database with the clock pinned to a quiet Friday."""

import itertools
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.service import peak_watch
from bot.service.peak_watch import Load, PeakWatch, bot_answers_for_agents, calm, measure, overload
from bot.shop.config import shop
from bot.shop.peak import PeakState, in_rush, peak_state
from bot.store.models import (
    Agent,
    AgentStatus,
    Conversation,
    Handler,
    HandoffReason,
    PeakSwitch,
    Shop,
    ShopMode,
)

QUIET = datetime(2026, 11, 20, 10, 30)  # a Friday morning, far from the rush
NIGHT = datetime(2026, 11, 20, 3, 0)  # off-hours on a normal day
RUSH = datetime(2026, 11, 10, 21, 0)  # the evening before Double 11
CHINESE = re.compile(r"[\u4e00-\u9fff]")
_buyer_numbers = itertools.count(1)


@pytest.fixture()
def session(shop_db):
    return shop_db


@pytest.fixture()
def shop_id():
    return shop().shop_id


def agent(session, shop_id, login, max_sessions=2, status=AgentStatus.ONLINE):
    a = Agent(
        shop_id=shop_id,
        login=login,
        name=login,
        password_hash="x",
        status=status,
        max_sessions=max_sessions,
        skills=["presale", "aftersale"],
    )
    session.add(a)
    session.flush()
    return a


def held(session, shop_id, by, n=1, reason=HandoffReason.ASKED):
    """n buyers the agent is serving now."""
    convs = []
    for i in range(n):
        c = Conversation(
            shop_id=shop_id,
            buyer_id=f"held_{by.id}_{i}",
            started_at=QUIET - timedelta(minutes=10),
            last_message_at=QUIET,
            handled_by=Handler.AGENT,
            agent_id=by.id,
            handoff_reason=reason,
            queued_at=QUIET - timedelta(minutes=10),
        )
        session.add(c)
        convs.append(c)
    session.flush()
    return convs


def queued(session, shop_id, since, n=1):
    """n buyers waiting for a person since `since`."""
    convs = []
    for _ in range(n):
        c = Conversation(
            shop_id=shop_id,
            buyer_id=f"waiting_{next(_buyer_numbers)}",
            started_at=since,
            last_message_at=since,
            handled_by=Handler.QUEUE,
            handoff_reason=HandoffReason.ASKED,
            skill="presale",
            queued_at=since,
        )
        session.add(c)
        session.flush()
        convs.append(c)
    return convs


def switches(session, shop_id):
    return (
        session.execute(select(PeakSwitch).where(PeakSwitch.shop_id == shop_id).order_by(PeakSwitch.id)).scalars().all()
    )


def clear_queue(session, shop_id):
    for c in session.execute(select(Conversation).where(Conversation.handled_by == Handler.QUEUE)).scalars():
        c.handled_by, c.queued_at = Handler.BOT, None
    session.flush()


# --- the rush dates and the state ---------------------------------------------------------


def test_the_rush_runs_from_the_evening_of_the_10th_to_2_am_on_the_12th():
    cfg = shop()
    assert not in_rush(datetime(2026, 11, 10, 17, 59), cfg)
    assert in_rush(datetime(2026, 11, 10, 18, 0), cfg)
    assert in_rush(datetime(2026, 11, 11, 10, 0), cfg)
    assert in_rush(datetime(2026, 11, 12, 1, 59), cfg)
    assert not in_rush(datetime(2026, 11, 12, 2, 0), cfg)
    assert not in_rush(QUIET, cfg)


def test_peak_state_by_supervisor_by_load_and_by_date(session, shop_id):
    cfg, row = shop(), session.get(Shop, shop_id)
    assert peak_state(row, cfg, QUIET) == PeakState(False, "平峰")
    assert peak_state(row, cfg, RUSH).on and "大促时段" in peak_state(row, cfg, RUSH).why
    row.mode = ShopMode.PEAK
    assert peak_state(row, cfg, QUIET) == PeakState(True, "主管开启了高峰模式")
    row.mode, row.peak_by_load_since = ShopMode.AUTO, QUIET
    by_load = peak_state(row, cfg, QUIET, "排队3人")
    assert by_load.on and by_load.why == "按负载自动进入高峰：排队3人"


def test_off_hours_on_a_normal_day_with_no_load_is_not_a_peak(session, shop_id):
    agent(session, shop_id, "xiaomei", status=AgentStatus.AWAY)
    watch = PeakWatch()
    assert watch.check(session, shop(), shop_id, NIGHT) is None
    assert peak_watch.state(session, shop(), shop_id, NIGHT) == PeakState(False, "平峰")
    assert switches(session, shop_id) == []


# --- measuring the load --------------------------------------------------------------------


def test_measure_counts_free_places_of_online_agents_less_the_buyers_they_hold(session, shop_id):
    a = agent(session, shop_id, "a", max_sessions=3)
    b = agent(session, shop_id, "b", max_sessions=2)
    over = agent(session, shop_id, "over", max_sessions=1)
    agent(session, shop_id, "away", max_sessions=10, status=AgentStatus.AWAY)
    busy = agent(session, shop_id, "busy", max_sessions=10, status=AgentStatus.BUSY)
    held(session, shop_id, a, 1)
    held(session, shop_id, b, 2)
    held(session, shop_id, over, 3)  # a supervisor's take-over can push an agent past the limit
    held(session, shop_id, busy, 1)
    queued(session, shop_id, QUIET - timedelta(seconds=90))
    queued(session, shop_id, QUIET - timedelta(seconds=20), n=2)
    # A conversation the bot answers does not count, even with an old queued_at left over.
    session.add(
        Conversation(
            shop_id=shop_id,
            buyer_id="bot_buyer",
            started_at=QUIET,
            last_message_at=QUIET,
            handled_by=Handler.BOT,
            queued_at=QUIET - timedelta(hours=1),
        )
    )
    session.flush()

    current = measure(session, shop_id, QUIET)

    # a: 3 - 1 = 2 free; b: 2 - 2 = 0; over: 1 - 3 → 0 (never negative); away and busy: not online.
    assert current == Load(queue=3, free_places=2, oldest_wait_seconds=90.0, agents_online=3, agents_full=2)


def test_an_empty_queue_has_waited_zero_seconds(session, shop_id):
    agent(session, shop_id, "a")
    assert measure(session, shop_id, QUIET) == Load(0, 2, 0.0, 1, 0)


def test_overload_and_calm_thresholds():
    cfg = shop()
    assert (cfg.peak.auto.on_oldest_wait_seconds, cfg.peak.auto.off_oldest_wait_seconds) == (120, 30)
    assert overload(Load(2, 2, 119.0, 1, 0), cfg) is None
    assert overload(Load(2, 2, 120.0, 1, 0), cfg) is None  # "longer than" 120 s
    assert "排队3人" in overload(Load(3, 2, 0.0, 1, 0), cfg)
    assert "2分1秒" in overload(Load(1, 2, 121.0, 1, 0), cfg)
    assert overload(Load(50, 0, 3600.0, 0, 0), cfg) is None  # nobody online: closed, not a peak
    assert calm(Load(2, 2, 30.0, 1, 0), cfg)
    assert not calm(Load(2, 2, 31.0, 1, 0), cfg)  # between the thresholds: not over, not calm
    assert not calm(Load(3, 2, 0.0, 1, 0), cfg)


# --- switching on --------------------------------------------------------------------------


def test_switches_on_when_the_queue_is_longer_than_the_free_places(session, shop_id):
    xiaomei = agent(session, shop_id, "xiaomei", max_sessions=2)
    held(session, shop_id, xiaomei, 1)  # one free place left
    queued(session, shop_id, QUIET - timedelta(seconds=5), n=1)
    watch = PeakWatch()
    assert watch.check(session, shop(), shop_id, QUIET) is None  # 1 waiting, 1 place: fine

    queued(session, shop_id, QUIET, n=1)
    switch = watch.check(session, shop(), shop_id, QUIET + timedelta(seconds=15))

    assert switch is not None and switch.on is True
    assert switch.at == QUIET + timedelta(seconds=15)
    assert "排队2人" in switch.reason and "空位1个" in switch.reason
    assert CHINESE.search(switch.reason)
    assert session.get(Shop, shop_id).peak_by_load_since == QUIET + timedelta(seconds=15)
    assert [(s.on, s.reason) for s in switches(session, shop_id)] == [(True, switch.reason)]
    state = peak_watch.state(session, shop(), shop_id, QUIET + timedelta(seconds=20))
    assert state.on and state.why == "按负载自动进入高峰：" + switch.reason


def test_switches_on_when_the_oldest_buyer_waited_more_than_120_seconds(session, shop_id):
    agent(session, shop_id, "xiaomei", max_sessions=12)
    queued(session, shop_id, QUIET)
    watch = PeakWatch()
    assert watch.check(session, shop(), shop_id, QUIET + timedelta(seconds=120)) is None
    assert session.get(Shop, shop_id).peak_by_load_since is None

    switch = watch.check(session, shop(), shop_id, QUIET + timedelta(seconds=121))

    assert switch is not None and switch.on
    assert "最久的买家已等2分1秒" in switch.reason
    assert peak_watch.state(session, shop(), shop_id, QUIET + timedelta(seconds=121)).on


def test_no_peak_when_nobody_is_online(session, shop_id):
    agent(session, shop_id, "xiaomei", status=AgentStatus.AWAY)
    queued(session, shop_id, QUIET - timedelta(hours=2), n=30)
    watch = PeakWatch()
    assert watch.check(session, shop(), shop_id, QUIET) is None
    assert session.get(Shop, shop_id).peak_by_load_since is None
    assert switches(session, shop_id) == []
    assert not peak_watch.state(session, shop(), shop_id, QUIET).on


def test_an_ongoing_peak_is_not_switched_on_twice(session, shop_id):
    agent(session, shop_id, "xiaomei", max_sessions=1)
    queued(session, shop_id, QUIET, n=3)
    watch = PeakWatch()
    assert watch.check(session, shop(), shop_id, QUIET).on
    for seconds in (15, 30, 45):
        assert watch.check(session, shop(), shop_id, QUIET + timedelta(seconds=seconds)) is None
    assert len(switches(session, shop_id)) == 1


# --- switching off (hysteresis) -------------------------------------------------------------


@pytest.fixture()
def in_peak(session, shop_id):
    """The shop switched into its peak by the queue at QUIET; returns the watch."""
    agent(session, shop_id, "xiaomei", max_sessions=1)
    queued(session, shop_id, QUIET, n=3)
    watch = PeakWatch()
    assert watch.check(session, shop(), shop_id, QUIET).on
    return watch


def test_a_single_calm_check_does_not_switch_off(session, shop_id, in_peak):
    clear_queue(session, shop_id)
    assert in_peak.check(session, shop(), shop_id, QUIET + timedelta(hours=1)) is None
    assert session.get(Shop, shop_id).peak_by_load_since == QUIET
    assert peak_watch.state(session, shop(), shop_id, QUIET + timedelta(hours=1)).on


def test_switches_off_after_300_seconds_of_calm(session, shop_id, in_peak):
    clear_queue(session, shop_id)
    t = QUIET + timedelta(minutes=1)
    assert in_peak.check(session, shop(), shop_id, t) is None  # calm starts
    assert in_peak.check(session, shop(), shop_id, t + timedelta(seconds=150)) is None
    assert in_peak.check(session, shop(), shop_id, t + timedelta(seconds=299)) is None
    switch = in_peak.check(session, shop(), shop_id, t + timedelta(seconds=300))

    assert switch is not None and switch.on is False
    assert "已平稳5分0秒" in switch.reason and CHINESE.search(switch.reason)
    assert session.get(Shop, shop_id).peak_by_load_since is None
    assert [s.on for s in switches(session, shop_id)] == [True, False]
    assert peak_watch.state(session, shop(), shop_id, t + timedelta(seconds=301)) == PeakState(False, "平峰")


def test_a_burst_during_the_calm_resets_the_hold(session, shop_id, in_peak):
    clear_queue(session, shop_id)
    t = QUIET + timedelta(minutes=1)
    assert in_peak.check(session, shop(), shop_id, t) is None  # calm since t
    assert in_peak.check(session, shop(), shop_id, t + timedelta(seconds=200)) is None

    queued(session, shop_id, t + timedelta(seconds=210), n=3)  # a burst: 3 waiting, 1 place
    assert in_peak.check(session, shop(), shop_id, t + timedelta(seconds=215)) is None  # still on, no new row
    clear_queue(session, shop_id)

    # Without the burst, t + 300 s would have switched off.
    assert in_peak.check(session, shop(), shop_id, t + timedelta(seconds=300)) is None  # calm again since here
    assert in_peak.check(session, shop(), shop_id, t + timedelta(seconds=599)) is None
    assert session.get(Shop, shop_id).peak_by_load_since == QUIET
    switch = in_peak.check(session, shop(), shop_id, t + timedelta(seconds=600))
    assert switch is not None and switch.on is False
    assert [s.on for s in switches(session, shop_id)] == [True, False]


def test_a_buyer_waiting_between_the_thresholds_keeps_the_peak_on(session, shop_id, in_peak):
    """One buyer, room for them, but waiting 60 s: not overload (120 s), not calm either (30 s)."""
    clear_queue(session, shop_id)
    t = QUIET + timedelta(minutes=1)
    queued(session, shop_id, t - timedelta(seconds=60))
    for seconds in (0, 100, 200, 300, 400):
        # the buyer waits ever longer, so never calm
        assert in_peak.check(session, shop(), shop_id, t + timedelta(seconds=seconds)) is None
    assert session.get(Shop, shop_id).peak_by_load_since == QUIET
    assert len(switches(session, shop_id)) == 1


# --- the bot answers for the saturated agents ---------------------------------------------------


def _conv(handled_by=Handler.AGENT, reason=HandoffReason.ASSIST_MODE):
    return Conversation(shop_id="qingshan", buyer_id="b", handled_by=handled_by, agent_id=1, handoff_reason=reason)


PEAK = PeakState(True, "按负载自动进入高峰")
CALM = PeakState(False, "平峰")


def test_the_bot_answers_a_bot_safe_question_for_an_assist_mode_agent_in_the_peak():
    cfg = shop()
    assert "ask_ship_time" in cfg.peak.bot_safe_intents
    assert bot_answers_for_agents(_conv(), PEAK, "ask_ship_time", cfg) is True
    assert bot_answers_for_agents(_conv(), PEAK, "ask_size", cfg) is True


@pytest.mark.parametrize(
    "conv, peak, intent",
    [
        (_conv(), CALM, "ask_ship_time"),  # not in the peak
        (_conv(reason=HandoffReason.ASKED), PEAK, "ask_ship_time"),  # the buyer asked for a person
        (_conv(reason=HandoffReason.ANGRY), PEAK, "ask_ship_time"),  # a complaint
        (_conv(reason=HandoffReason.DISPUTE), PEAK, "ask_ship_time"),
        (_conv(), PEAK, "request_refund"),  # not a bot-safe intent
        (_conv(), PEAK, "complain_service"),
        (_conv(), PEAK, None),
        (_conv(handled_by=Handler.QUEUE), PEAK, "ask_ship_time"),  # not held by an agent
        (_conv(handled_by=Handler.BOT), PEAK, "ask_ship_time"),
    ],
)
def test_otherwise_the_person_answers(conv, peak, intent):
    assert bot_answers_for_agents(conv, peak, intent, shop()) is False
