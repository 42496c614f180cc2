"""The supervisor's Double 11 pages — the peak board, the staffing plan and the rehearsal's
report — through the real pages in headless Chromium and the real servers: only a supervisor
gets in, the board shows what its API says, the plan's worked example comes out as the
handbook's arithmetic, and the workbench shows the peak."""

import pytest
import requests
from sqlalchemy import update

from bot.settings import REHEARSAL_REPORT
from bot.shop import staffing
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Shop
from tests.test_workbench import browser, log_in  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.servers, pytest.mark.browser]
PAGES = ["/peak", "/staffing", "/rehearsal"]
APIS = [("get", "/api/peak"), ("get", "/api/staffing"), ("post", "/api/staffing"), ("get", "/api/rehearsal")]
WORKED_EXAMPLE = {"sales": 3000000, "service_share": 0.3, "avg_order": 150, "conversion": 0.4, "capacity": 60}


def _http(page) -> requests.Session:
    """A requests session logged in as the page's agent."""
    http = requests.Session()
    http.cookies.update({c["name"]: c["value"] for c in page.context.cookies()})
    return http


def _call(http, method, url):
    if method == "post":
        return http.post(url, json={**WORKED_EXAMPLE, "bot_resolution": 0.6}, timeout=10)
    return http.get(url, timeout=10)


def test_only_a_supervisor_gets_the_pages_and_their_apis(servers, browser):  # noqa: F811
    base = servers.urls["console"]
    for method, path in APIS:
        assert _call(requests, method, base + path).status_code == 401, path
    for path in PAGES:
        page = requests.get(base + path, timeout=10, allow_redirects=False)
        assert page.status_code == 302 and page.headers["Location"] == "/login", path

    for login in ("xiaomei", "ajie"):  # an agent, a trainer
        http = _http(log_in(browser, servers, login))
        for method, path in APIS:
            refused = _call(http, method, base + path)
            assert refused.status_code == 403 and "需要主管权限" in refused.json()["error"], (login, path)
        for path in PAGES:
            page = http.get(base + path, timeout=10, allow_redirects=False)
            assert page.status_code == 403 and "需要主管权限" in page.text, (login, path)


def test_the_peak_board_shows_the_load(servers, browser):  # noqa: F811
    page = log_in(browser, servers, "laowang")
    page.goto(servers.urls["console"] + "/peak")
    page.wait_for_selector("body[data-ready='1']")
    board = _http(page).get(servers.urls["console"] + "/api/peak", timeout=10).json()

    assert page.inner_text("#mode") == ("高峰" if board["peak"]["on"] else "平常")
    assert page.inner_text("#why") == board["peak"]["why"]
    assert page.inner_text("#queue").replace(",", "") == str(board["queue"])
    assert page.inner_text("#free-places").replace(",", "") == str(board["free_places"])
    bars = page.locator("#per-minute svg rect.bar")
    assert bars.count() == 30
    assert [int(b.get_attribute("data-value")) for b in bars.all()] == board["per_minute"]
    assert page.locator("#per-minute svg text", has_text="现在").count() == 1
    assert page.locator("#watch-list tr").count() == max(1, len(board["watch_list"]))
    assert page.locator("#switches tr").count() == max(1, len(board["switches"]))


def test_the_staffing_plan_works_the_example(servers, browser, tmp_path):  # noqa: F811
    curve = shop().peak.hourly_curve
    expected = staffing.plan(curve=curve, bot_resolution=0.6, **WORKED_EXAMPLE)
    page = log_in(browser, servers, "laowang")
    page.goto(servers.urls["console"] + "/staffing")
    page.wait_for_selector("body[data-ready='1']")  # defaults in, a first plan shown

    for name, value in {**WORKED_EXAMPLE, "bot_resolution": 0.6}.items():
        page.fill("#" + name, str(value))
    page.click("#calculate")
    page.wait_for_function("document.getElementById('receptions_for_people').textContent === '6,000'")
    assert page.inner_text("#agent_sales") == "900,000"
    assert page.inner_text("#buyers_served_by_staff") == "6,000"
    assert page.inner_text("#total_receptions") == "15,000"
    assert page.inner_text("#agents_needed") == str(expected.agents_needed)
    assert page.inner_text("#agents_with_bot") == str(expected.agents_with_bot)
    assert page.inner_text("#agent_hours") == str(expected.agent_hours)

    rows = page.locator("#hours tr")
    assert rows.count() == len(curve) == 9  # one row per hour of shop.yml's peak.hourly_curve
    for row, hour in zip(rows.all(), expected.hours):
        cells = [c.inner_text() for c in row.locator("td").all()]
        assert cells[0].startswith(hour.start)
        assert cells[4:] == [str(hour.agents), str(hour.agents_without_bot)]
    assert page.locator("#chart svg rect.bar").count() == 2 * len(curve)  # with and without the bot

    with page.expect_download() as download:
        page.click("#export")
    csv = tmp_path / "plan.csv"
    download.value.save_as(csv)
    lines = csv.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("时段,") and len(lines) == 1 + len(curve) + 1  # header, hours, total
    assert lines[-1].startswith("合计,")

    page.fill("#conversion", "0")
    page.click("#calculate")
    page.wait_for_function("document.getElementById('form-error').textContent !== ''")
    assert "询单转化率须在 0 到 1 之间" in page.inner_text("#form-error")


def test_the_rehearsal_page_shows_the_report_or_how_to_make_one(servers, browser):  # noqa: F811
    page = log_in(browser, servers, "laowang")
    page.goto(servers.urls["console"] + "/rehearsal")
    page.wait_for_selector("body[data-ready='1']")
    if REHEARSAL_REPORT.exists():
        assert page.locator("#report").is_visible() and page.locator("#report .tile").count() > 0
    else:
        assert page.locator("#empty").is_visible()
        assert "还没有演练报告" in page.inner_text("#empty")
        assert page.inner_text("#command") == "xiaoer rehearse --speed 10"


SAMPLE_REPORT = {
    "started_at": "2026-11-20 10:30:00",
    "speed": 10,
    "window": "23:30-00:30",
    "conversations": 120,
    "messages": 300,
    "duration_seconds": 361.5,
    "throughput_per_second": 0.83,
    "latency_ms": {"p50": 180, "p90": 420, "p99": 900},
    "bot_resolution": 0.742,
    "handoff_rate": 0.258,
    "handoff_by_reason": [{"reason": "asked_human", "reason_label": "买家要求人工", "count": 31, "share": 0.258}],
    "queue_wait_seconds": {"waiting_at_end": 3, "median": 40, "p90": 95, "max": 130},
    "lost": 0,
    "per_minute": [{"minute": m, "sent": 5, "bot": 4, "agent": 1} for m in range(3)],
}


def test_the_rehearsal_report_is_shown(servers, browser):  # noqa: F811
    """Whatever reports/ holds, the page draws a report as `xiaoer rehearse` writes it."""
    page = log_in(browser, servers, "laowang")
    page.route("**/api/rehearsal", lambda route: route.fulfill(json={"report": SAMPLE_REPORT}))
    page.route("**/api/rehearsal/chart.png*", lambda route: route.fulfill(status=404, body="no chart"))
    page.goto(servers.urls["console"] + "/rehearsal")
    page.wait_for_selector("body[data-ready='1']")
    tiles = page.inner_text("#tile-groups")
    assert "74.2%" in tiles and "25.8%" in tiles and "300" in tiles
    lost = page.locator(".tile", has_text="丢失消息")
    assert "good" in lost.get_attribute("class")
    assert page.inner_text("#reasons tr").startswith("买家要求人工")
    assert page.locator("#minutes tr").count() == 3 and page.inner_text("#minutes tr >> nth=1").startswith("23:31")
    assert page.locator("#chart-box").is_hidden()


def test_the_workbench_shows_the_peak(servers, browser):  # noqa: F811
    page = log_in(browser, servers, "laowang")
    on = _http(page).get(servers.urls["console"] + "/api/peak", timeout=10).json()["peak"]["on"]
    assert page.locator("#peak-badge").is_visible() == on  # off on a quiet morning, unless the load says so
    with session_scope() as s:
        s.execute(update(Shop).values(mode="peak"))
    try:
        page.reload()
        page.wait_for_selector("#peak-badge:not([hidden])")
        assert page.get_attribute("#peak-badge", "title") == "主管开启了高峰模式"
    finally:
        with session_scope() as s:
            s.execute(update(Shop).values(mode="auto"))
