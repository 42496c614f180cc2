"""The manager's reports (bot/service/reports.py): a small day of conversations built by hand,
every figure checked against arithmetic done here in the comments; the CSV export; the
`xiaoer report` command; and /reports in a real browser for a supervisor, refused to an agent.

The day, 2026-03-10 (shop time; the response target is shop.yml's 30 s):
- C1 阿一, bot only:     09:00:00 ask_stock → bot 09:00:02; 09:05:00 thank → bot 09:05:01.
                         Ordered 09:30, paid 09:31.
- C2 阿二, to 小美:      10:00:00 bargain → bot 10:00:01; 10:01:00 ask_human (handoff ASKED, queued
                         10:01:00) → bot 10:01:01; 小美 10:01:20 (suggestion as is); 10:02:00
                         bargain; 小美 10:02:45 (suggestion edited), 10:03:10 (typed). Resolved
                         10:10:00. Ordered 10:05, never paid.
- C3 阿三, dispute:      14:00:00 complain_quality "…差评…12315…" (handoff DISPUTE, queued 14:00:00,
                         nobody came) → bot 14:00:01, a queue notice 14:00:02; 14:10:00 ask_human
                         → bot 14:10:01.
- C4 阿四, to 阿杰:      15:00:00 ask_size → bot 15:00:03; 15:00:30 ask_size (handoff
                         LOW_CONFIDENCE, queued 15:00:30) → bot 15:00:31; 阿杰 15:01:20
                         (suggestion as is). An old order paid the day before; a new one ordered
                         15:10, paid 15:12.
- C5 阿五, bot only:     19:59:59 enter_shop (not a message); 20:00:00 greet → bot 20:00:01.
- C6 阿六, the day before (2026-03-09 22:00 ask_size → bot 22:00:02): outside the day.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

import pytest
import requests

from bot import cli
from bot.service import reports
from bot.shop.config import shop
from bot.store.models import (
    Agent,
    Buyer,
    Conversation,
    ConversationState,
    Direction,
    Handler,
    HandoffReason,
    Message,
    Order,
    OrderStatus,
    Role,
    Sender,
)
from tests.test_operations_pages import _http
from tests.test_workbench import browser, log_in  # noqa: F401  (the browser fixture)

DAY = date(2026, 3, 10)


def at(hhmmss: str, day: date = DAY) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmmss, "%H:%M:%S").time())


def _order(s, oid, buyer, created, paid=None):
    s.add(Order(id=oid, shop_id=shop().shop_id, buyer_id=buyer, status=OrderStatus.PAID if paid else OrderStatus.UNPAID,
                created_at=created, paid_at=paid, goods_fen=7900, express="YTO", receiver_name="王强",
                receiver_phone="13800000000", province="浙江", city="杭州", address="文三路1号"))  # fmt: skip


def _conv(s, buyer, nick, messages, **fields):
    s.add(Buyer(id=buyer, shop_id=shop().shop_id, nick=nick, created_at=at("00:00:00")))
    conv = Conversation(shop_id=shop().shop_id, buyer_id=buyer, started_at=messages[0][0], **fields)
    conv.last_message_at = messages[-1][0]
    s.add(conv)
    s.flush()
    for when, sender, text, extra in messages:
        direction = Direction.IN if sender == Sender.BUYER else Direction.OUT
        s.add(Message(conversation_id=conv.id, direction=direction, sender=sender, text=text, created_at=when, **extra))
    s.flush()
    return conv


B, BOT, AG = Sender.BUYER, Sender.BOT, Sender.AGENT


def build_day(s):
    """The day above, in the `shop_db` session; returns the two agents' ids."""
    mei = Agent(shop_id=shop().shop_id, login="mei", name="小美", password_hash="x", role=Role.AGENT, skills=[])
    jie = Agent(shop_id=shop().shop_id, login="jie", name="阿杰", password_hash="x", role=Role.AGENT, skills=[])
    s.add_all([mei, jie])
    s.flush()
    _conv(s, "b1", "阿一", [
        (at("09:00:00"), B, "L码还有吗", {"intent": "ask_stock", "confidence": 0.9}),
        (at("09:00:02"), BOT, "有的亲", {"phrase_id": "presale.stock"}),
        (at("09:05:00"), B, "谢谢", {"intent": "thank"}),
        (at("09:05:01"), BOT, "不客气", {}),
    ])  # fmt: skip
    _order(s, "o1", "b1", at("09:30:00"), at("09:31:00"))
    _conv(s, "b2", "阿二", [
        (at("10:00:00"), B, "能便宜点吗", {"intent": "bargain"}),
        (at("10:00:01"), BOT, "亲，品质有保证", {}),
        (at("10:01:00"), B, "转人工", {"intent": "ask_human"}),
        (at("10:01:01"), BOT, "正在为您转接", {}),
        (at("10:01:20"), AG, "亲，这款已经是活动价了", {"phrase_id": "presale.bargain_value", "edited": False,
                                                     "intent": "bargain"}),
        (at("10:02:00"), B, "再少点", {"intent": "bargain"}),
        (at("10:02:45"), AG, "亲，送您一张满159减10的券", {"phrase_id": "presale.bargain_coupon", "edited": True,
                                                       "intent": "bargain"}),
        (at("10:03:10"), AG, "真的最低了", {"edited": True}),
    ], handoff_reason=HandoffReason.ASKED, queued_at=at("10:01:00"), handled_by=Handler.AGENT, agent_id=mei.id,
       state=ConversationState.RESOLVED, resolved_at=at("10:10:00"))  # fmt: skip
    _order(s, "o2", "b2", at("10:05:00"))
    _conv(s, "b3", "阿三", [
        (at("14:00:00"), B, "质量太差了 我要给差评 还要打12315", {"intent": "complain_quality"}),
        (at("14:00:01"), BOT, "非常抱歉", {}),
        (at("14:00:02"), BOT, "您排在第1位", {"kind": "notice"}),
        (at("14:10:00"), B, "人呢", {"intent": "ask_human"}),
        (at("14:10:01"), BOT, "您前面还有0位", {}),
    ], handoff_reason=HandoffReason.DISPUTE, queued_at=at("14:00:00"), handled_by=Handler.QUEUE)  # fmt: skip
    _conv(s, "b4", "阿四", [
        (at("15:00:00"), B, "175 140斤穿多大", {"intent": "ask_size", "confidence": 0.4}),
        (at("15:00:03"), BOT, "建议L码", {}),
        (at("15:00:30"), B, "穿多大码", {"intent": "ask_size", "confidence": 0.3}),
        (at("15:00:31"), BOT, "正在为您转接", {}),
        (at("15:01:20"), AG, "亲，建议L码", {"phrase_id": "presale.size", "edited": False, "intent": "ask_size"}),
    ], handoff_reason=HandoffReason.LOW_CONFIDENCE, queued_at=at("15:00:30"), handled_by=Handler.AGENT,
       agent_id=jie.id)  # fmt: skip
    _order(s, "o4old", "b4", at("19:00:00", DAY - timedelta(days=1)), at("20:00:00", DAY - timedelta(days=1)))
    _order(s, "o4", "b4", at("15:10:00"), at("15:12:00"))
    _conv(s, "b5", "阿五", [
        (at("19:59:59"), B, "", {"kind": "enter_shop"}),
        (at("20:00:00"), B, "你好", {"intent": "greet"}),
        (at("20:00:01"), BOT, "欢迎光临", {}),
    ])  # fmt: skip
    _conv(s, "b6", "阿六", [
        (at("22:00:00", DAY - timedelta(days=1)), B, "穿多大", {"intent": "ask_size"}),
        (at("22:00:02", DAY - timedelta(days=1)), BOT, "建议M码", {}),
    ])  # fmt: skip
    return mei.id, jie.id


@pytest.fixture()
def day(shop_db):
    mei, jie = build_day(shop_db)
    return shop_db, mei, jie


def test_volume_and_intent_mix(day):
    s, _, _ = day
    r = reports.build(s, shop(), shop().shop_id, DAY)
    t = r.totals
    assert t["conversations"] == 5  # C1..C5; C6 wrote only the day before
    assert t["buyer_messages"] == 2 + 3 + 2 + 2 + 1 == 10  # C5's enter_shop is no message
    assert t["bot_messages"] == 2 + 2 + 2 + 2 + 1 == 9  # C3's queue notice is no reply
    assert t["agent_messages"] == 3 + 1 == 4
    busy = {h["hour"]: (h["buyer"], h["bot"], h["agent"], h["conversations"]) for h in r.per_hour if h["buyer"]}
    assert busy == {9: (2, 2, 0, 1), 10: (3, 2, 3, 1), 14: (2, 2, 0, 1), 15: (2, 2, 1, 1), 20: (1, 1, 0, 1)}
    assert r.per_day == [{"day": "2026-03-10", "buyer": 10, "bot": 9, "agent": 4, "conversations": 5}]
    mix = [(i["label"], i["count"]) for i in r.intents]
    # ask_human 2 (C2, C3), ask_size 2 (C4), bargain 2 (C2); then the ones, by code name
    assert mix == [("要求人工", 2), ("尺码咨询", 2), ("议价", 2), ("库存咨询", 1), ("质量投诉", 1), ("打招呼", 1),
                   ("道谢", 1)]  # fmt: skip
    assert r.intents[0]["share"] == pytest.approx(2 / 10)
    ten = r.area_per_hour[10]  # bargain ×2 pre-sale, ask_human dialogue
    assert (ten["presale"], ten["dialogue"], ten["aftersales"]) == (2, 1, 0)
    assert sum(h[a["area"]] for h in r.area_per_hour for a in r.areas) == 10


def test_bot_resolution_and_handoffs(day):
    s, _, _ = day
    t = reports.build(s, shop(), shop().shop_id, DAY).totals
    assert (t["handed_off"], t["bot_resolved"]) == (3, 2)  # C2, C3, C4 handed off; C1, C5 not
    assert t["bot_resolution_rate"] == pytest.approx(2 / 5)
    assert t["handoff_rate"] == pytest.approx(3 / 5)
    handoffs = reports.build(s, shop(), shop().shop_id, DAY).handoffs
    # one each of 5 conversations, in HandoffReason's order when tied
    assert [(h["label"], h["count"], h["share"]) for h in handoffs] == [
        ("买家要求人工", 1, 0.2),
        ("维权/差评风险", 1, 0.2),
        ("机器人把握不大", 1, 0.2),
    ]


def test_response_times_and_the_platform_clock(day):
    s, mei, jie = day
    r = reports.build(s, shop(), shop().shop_id, DAY)
    tm = r.timing
    # bot's first reply: C1 2 s, C2 1 s (10:00:00 → 10:00:01), C4 3 s, C5 1 s; C3's messages are all held
    assert tm["bot_first_response"].count == 4
    assert tm["bot_first_response"].median == 1.5  # (1 + 2) / 2
    assert tm["bot_first_response"].mean == pytest.approx((2 + 1 + 3 + 1) / 4)
    # agents' first reply: C2 10:01:00 → 10:01:20 = 20 s, C4 15:00:30 → 15:01:20 = 50 s
    assert (tm["agent_first_response"].count, tm["agent_first_response"].median) == (2, 35)
    # bot resolution: C1 09:00:00 → 09:05:01 = 301 s, C5 1 s → median 151
    assert tm["bot_resolution"].median == 151
    # agents: C2 10:00:00 → resolved 10:10:00 = 600 s, C4 15:00:00 → last agent reply 15:01:20 = 80 s
    assert tm["agent_resolution"].median == 340
    # held by a person: C2 10:01:00 (20 s ✓), 10:02:00 (45 s ✗); C3 14:00:00, 14:10:00 (never);
    # C4 15:00:30 (50 s ✗) → 1 of 5 within 30 s
    assert r.response_target_seconds == 30
    assert r.platform_clock == {"held": 5, "within_target": 1, "share": 0.2}
    rows = {a.name: a for a in r.agents}
    assert (rows["小美"].held, rows["小美"].within_target, rows["小美"].within_target_share) == (2, 1, 0.5)
    assert (rows["阿杰"].held, rows["阿杰"].within_target, rows["阿杰"].within_target_share) == (1, 0, 0.0)
    assert (rows["小美"].first_response, rows["阿杰"].first_response) == (20, 50)
    assert (rows["小美"].replies, rows["阿杰"].replies, rows["小美"].conversations) == (3, 1, 1)
    assert [a.name for a in r.agents] == ["机器人", "小美", "阿杰"]


def test_queue_waits_and_buyers_who_left(day):
    s, _, _ = day
    q = reports.build(s, shop(), shop().shop_id, DAY).queue
    # queued: C2 (20 s to 小美), C3 (nobody came), C4 (50 s to 阿杰)
    assert (q["queued"], q["served"], q["left"]) == (3, 2, 1)
    assert q["wait"].median == 35  # (20 + 50) / 2
    assert q["wait"].p90 == 50  # nearest rank: ⌈0.9 × 2⌉ = 2nd smallest


def test_suggested_replies_per_intent(day):
    s, _, _ = day
    sug = reports.build(s, shop(), shop().shop_id, DAY).suggestions
    # C2: as is, edited, typed (no phrase: its intent is the last buyer message's, bargain); C4: as is
    assert [(x["label"], x["accepted"], x["edited"], x["ignored"], x["total"]) for x in sug] == [
        ("议价", 1, 1, 1, 3),
        ("尺码咨询", 1, 0, 0, 1),
    ]
    assert sug[0]["accepted_share"] == pytest.approx(1 / 3)


def test_conversion_and_lost_buyers(day):
    s, _, _ = day
    r = reports.build(s, shop(), shop().shop_id, DAY)
    # inquiries: C1 (ask_stock), C2 (bargain), C4 (ask_size); ordered within 24 h: all three;
    # paid within 24 h: C1 (09:31), C4 (15:12) — C4's old order was paid before it asked
    assert r.funnel == {"inquiries": 3, "ordered": 3, "paid": 2}
    assert r.totals["conversion"] == pytest.approx(2 / 3)
    rows = {a.name: a for a in r.agents}
    assert (rows["机器人"].inquiries, rows["机器人"].paid, rows["机器人"].conversion) == (1, 1, 1.0)  # C1
    assert (rows["小美"].inquiries, rows["小美"].ordered, rows["小美"].paid, rows["小美"].conversion) == (1, 1, 0, 0.0)
    assert (rows["阿杰"].inquiries, rows["阿杰"].paid, rows["阿杰"].conversion) == (1, 1, 1.0)
    assert [(x["nick"], x["label"], x["at"], x["served_by"]) for x in r.lost] == [
        ("阿二", "议价", "2026-03-10 10:02:00", "小美")
    ]
    assert r.lost_by_intent == [{"intent": "bargain", "label": "议价", "count": 1}]


def test_disputes_and_bad_review_threats(day):
    s, _, _ = day
    d = reports.build(s, shop(), shop().shop_id, DAY).disputes
    assert d["conversations"] == 1  # C3
    assert d["words"] == [{"word": "12315", "count": 1}, {"word": "差评", "count": 1}]  # both in shop.yml's list
    assert (d["bad_review_threats"], d["dispute_word_messages"]) == (1, 1)
    assert (d["messages"][0]["buyer"], d["messages"][0]["nick"]) == ("b3", "阿三") and set(
        d["messages"][0]["words"]
    ) == {"12315", "差评"}


def test_one_agent_and_a_range(day):
    s, mei, _ = day
    r = reports.build(s, shop(), shop().shop_id, DAY, agent_id=mei)
    assert (r.agent_name, r.totals["conversations"], r.totals["bot_resolution_rate"]) == ("小美", 1, 0.0)  # C2 only
    assert [a.name for a in r.agents] == ["机器人", "小美"]
    both = reports.build(s, shop(), shop().shop_id, DAY - timedelta(days=1), DAY)
    assert both.totals["conversations"] == 6  # C6 joins
    assert [d["conversations"] for d in both.per_day] == [1, 5]
    with pytest.raises(reports.ReportError, match="结束日期不能早于开始日期"):
        reports.build(s, shop(), shop().shop_id, DAY, DAY - timedelta(days=1))


def test_a_table_as_csv_opens_in_excel(day):
    s, _, _ = day
    r = reports.build(s, shop(), shop().shop_id, DAY)
    data = reports.csv_bytes(r, "agents")
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("接待,会话数,回复数,人工待回复消息,30秒内回复,达标率")
    assert lines[2].startswith("小美,1,3,2,1,50.0%,20,1,1,0,0.0%")
    for name in reports.TABLES:
        assert reports.table(r, name)[0], name


def test_the_command_writes_the_daily_summary(day, tmp_path, monkeypatch, capsys):
    s, _, _ = day

    @contextlib.contextmanager
    def the_day():
        yield s

    monkeypatch.setattr(cli, "session_scope", the_day)
    assert cli.main(["report", "--day", "2026-03-10", "--out", str(tmp_path)]) == 0
    md, png = tmp_path / "report-2026-03-10.md", tmp_path / "report-2026-03-10.png"
    assert md.read_text(encoding="utf-8") in capsys.readouterr().out
    text = md.read_text(encoding="utf-8")
    assert "机器人解决率 40.0%（2/5）" in text and "询单 3 → 下单 3 → 付款 2" in text
    assert "| 小美 | 1 | 3 | 2 | 1 | 50.0% |" in text
    assert png.read_bytes().startswith(b"\x89PNG")
    assert cli.main(["report", "--day", "10/03/2026", "--out", str(tmp_path)]) == 2


# --- the page, through the real servers ------------------------------------------------------------
@pytest.mark.servers
@pytest.mark.browser
def test_the_reports_page_for_a_supervisor_only(servers, browser, tmp_path):  # noqa: F811
    base = servers.urls["console"]
    assert requests.get(base + "/api/reports", timeout=10).status_code == 401
    agent = _http(log_in(browser, servers, "xiaomei"))
    refused = agent.get(base + "/api/reports", timeout=10)
    assert refused.status_code == 403 and "需要主管权限" in refused.json()["error"]
    assert agent.get(base + "/api/reports/agents.csv", timeout=10).status_code == 403
    page = agent.get(base + "/reports", timeout=10, allow_redirects=False)
    assert page.status_code == 403 and "需要主管权限" in page.text

    page = log_in(browser, servers, "laowang")
    page.goto(base + "/reports")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#per-hour svg").count() == 1
    assert page.locator("#mix svg").count() == 1 and page.locator("#funnel svg").count() == 1
    assert page.locator("#tiles .tile").count() >= 8
    assert page.inner_text("#agents-table thead").startswith("接待")
    assert page.locator("nav a[aria-current='page']").inner_text() == "经营报表"
    http = _http(page)
    data = http.get(base + "/api/reports", timeout=10).json()
    assert page.locator("#per-hour svg rect.bar").count() == 24
    assert (
        sum(int(b.get_attribute("data-value")) for b in page.locator("#per-hour svg rect.bar").all())
        == (data["totals"]["buyer_messages"])
    )
    csv = http.get(base + "/api/reports/handoffs.csv", timeout=10)
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "text/csv" in csv.headers["Content-Type"] and "attachment" in csv.headers["Content-Disposition"]
    assert csv.content.decode("utf-8-sig").splitlines()[0] == "转人工原因,会话数,占全部会话"
    bad = http.get(base + "/api/reports?from=2026-11-20&to=2026-11-01", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"] == "结束日期不能早于开始日期"
    assert http.get(base + "/api/reports/nope.csv", timeout=10).json()["error"] == "没有这张表"
    page.fill("#from", "2026-11-19")
    page.click("#apply")
    page.wait_for_function("document.getElementById('span').textContent.includes('11月19日')")


def test_a_reply_is_credited_to_the_agent_who_wrote_it(shop_db):
    """A buyer helped by 阿杰, then given back to the bot with no transfer: the reply names its
    agent (messages.agent_id), so the report still credits 阿杰 — not 未记录的客服."""
    jie = Agent(shop_id=shop().shop_id, login="jie", name="阿杰", password_hash="x", role=Role.AGENT, skills=[])
    shop_db.add(jie)
    shop_db.flush()
    _conv(shop_db, "b7", "阿七", [
        (at("11:00:00"), B, "转人工", {"intent": "ask_human"}),
        (at("11:00:30"), AG, "亲，我是阿杰", {"edited": True, "agent_id": jie.id}),
    ], handoff_reason=HandoffReason.ASKED, queued_at=at("11:00:00"), handled_by=Handler.BOT)  # fmt: skip
    r = reports.build(shop_db, shop(), shop().shop_id, DAY)
    credited = {a.name: a.replies for a in r.agents if a.agent_id is not None}
    assert credited == {"阿杰": 1}
