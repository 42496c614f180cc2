"""The Double 11 staffing plan (bot/shop/staffing.py, handbook §6), checked against a worked
example done by hand — the expected numbers below are not computed by the formula.

Worked example:

    store sales                      3,000,000 yuan
    × service share of sales         0.3
    = agent sales                      900,000 yuan
    ÷ agents' average order value    150 yuan
    = buyers served by staff             6,000
    ÷ inquiry conversion rate        0.4
    = total pre-sale receptions         15,000
    over three hours, shares 0.25 / 0.5 / 0.25:
      receptions per hour            3,750 / 7,500 / 3,750
    ÷ 60 receptions per agent-hour:  62.5 / 125 / 62.5
      agents (rounded up)               63 / 125 / 63       → agents needed 125

    with a bot resolving 0.6 of the receptions on its own:
      left for people   15,000 × 0.4 = 6,000
      per hour          1,500 / 3,000 / 1,500
      ÷ 60              25 / 50 / 25                         → 50 with the bot, 100 agent-hours
"""

import re

import pytest

from bot.shop.config import DEFAULT_HOURLY_CURVE, shop
from bot.shop.staffing import StaffingError, plan

SALES = 3_000_000
SHARE = 0.3
AVG_ORDER = 150
CONVERSION = 0.4
CAPACITY = 60
CURVE = [("20:00", 0.25), ("21:00", 0.5), ("22:00", 0.25)]
BOT = 0.6

AGENT_SALES = 900_000
BUYERS = 6_000
RECEPTIONS = 15_000
PER_HOUR = [3_750, 7_500, 3_750]
AGENTS = [63, 125, 63]
AGENTS_NEEDED = 125
FOR_PEOPLE = 6_000
FOR_PEOPLE_PER_HOUR = [1_500, 3_000, 1_500]
AGENTS_WITH_BOT = [25, 50, 25]

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def example(**changes):
    args = dict(
        sales=SALES,
        service_share=SHARE,
        avg_order=AVG_ORDER,
        conversion=CONVERSION,
        capacity=CAPACITY,
        curve=CURVE,
    )
    return plan(**{**args, **changes})


def test_the_worked_example_without_the_bot():
    p = example()
    assert p.agent_sales == pytest.approx(AGENT_SALES)
    assert p.buyers_served_by_staff == pytest.approx(BUYERS)
    assert p.total_receptions == pytest.approx(RECEPTIONS)
    assert [h.start for h in p.hours] == ["20:00", "21:00", "22:00"]
    assert [h.share for h in p.hours] == pytest.approx([0.25, 0.5, 0.25])
    assert [h.receptions for h in p.hours] == pytest.approx(PER_HOUR)
    # Without a bot everything is left for people.
    assert p.receptions_for_people == pytest.approx(RECEPTIONS)
    assert [h.agents_without_bot for h in p.hours] == AGENTS
    assert [h.agents for h in p.hours] == AGENTS
    # 125 exactly, not 126: 7,500 / 60 is a whole number of agents.
    assert p.agents_needed == AGENTS_NEEDED


def test_the_worked_example_with_the_bot():
    p = example(bot_resolution=BOT)
    assert p.bot_resolution == BOT
    assert p.receptions_for_people == pytest.approx(FOR_PEOPLE)
    assert [h.for_people for h in p.hours] == pytest.approx(FOR_PEOPLE_PER_HOUR)
    assert [h.agents for h in p.hours] == AGENTS_WITH_BOT
    assert [h.agents_without_bot for h in p.hours] == AGENTS  # the plan's own figure is unchanged
    assert p.agents_with_bot == 50
    assert p.agents_needed == AGENTS_NEEDED
    assert p.agent_hours == 100


def test_a_curve_in_any_units_is_normalised():
    p = example(curve=[("20:00", 1), ("21:00", 2), ("22:00", 1)])
    assert [h.share for h in p.hours] == pytest.approx([0.25, 0.5, 0.25])
    assert [h.receptions for h in p.hours] == pytest.approx(PER_HOUR)
    assert [h.agents for h in p.hours] == AGENTS


def test_the_shops_curve_normalises_to_one():
    curve = shop().peak.hourly_curve
    assert [start for start, _ in curve][:3] == ["18:00", "19:00", "20:00"]
    assert [tuple(hour) for hour in curve] == DEFAULT_HOURLY_CURVE  # shop.yml says what the default says
    p = example(curve=curve)
    assert sum(h.share for h in p.hours) == pytest.approx(1.0)
    assert sum(h.receptions for h in p.hours) == pytest.approx(RECEPTIONS)
    # The busiest hour is 00:00 with 0.16 of the night: 15,000 × 0.16 = 2,400 receptions, 40 agents.
    busiest = max(p.hours, key=lambda h: h.receptions)
    assert (busiest.start, busiest.agents) == ("00:00", 40)
    assert p.agents_needed == 40


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(conversion=0), "询单转化率"),
        (dict(service_share=1.5), "客服销售占比"),
        (dict(capacity=-60), "单人饱和接待量"),
        (dict(sales=0), "店铺销售额"),
        (dict(avg_order=0), "客单价"),
        (dict(bot_resolution=1), "机器人解决率"),
        (dict(curve=[]), "咨询曲线"),
        (dict(curve=[("20:00", 0.5), ("21:00", -0.1)]), "咨询曲线"),
    ],
)
def test_bad_inputs_are_refused_in_chinese(changes, words):
    with pytest.raises(StaffingError) as raised:
        example(**changes)
    assert words in str(raised.value)
    assert CHINESE.search(str(raised.value))


def test_every_problem_is_named_at_once():
    with pytest.raises(StaffingError) as raised:
        example(conversion=0, service_share=1.5, capacity=-1)
    message = str(raised.value)
    assert all(words in message for words in ("询单转化率", "客服销售占比", "单人饱和接待量"))
    assert isinstance(raised.value, ValueError)


def test_the_command_prints_the_figures_a_manager_checks(capsys, tmp_path):
    """`xiaoer staffing` on the shop's own curve (00:00 is the top hour, 16% of the night):
    15,000 receptions × 0.16 = 2,400 at midnight ÷ 60 = 40 agents; with the bot resolving 0.6,
    960 for people ÷ 60 = 16 agents; 15,000 ÷ 60 = 250 agent-hours, 6,000 ÷ 60 = 100."""
    from bot.cli import main

    chart = tmp_path / "staffing.png"
    argv = ["staffing", "--sales", "3000000", "--service-share", "0.3", "--avg-order", "150", "--conversion", "0.4"]
    assert main(argv + ["--capacity", "60", "--bot-resolution", "0.6", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    for line in (
        "客服销售额 (sales × service share): 900000.00 元",
        "buyers served by staff (客服接待成交人数): 6000.00",
        "total pre-sale receptions (总询单接待量): 15000.00",
        "receptions ÷ capacity (总接待人时): 250.00 agent-hours",
        "agents needed at the busiest hour (无机器人，最忙时段需要客服): 40",
        "receptions left for people (留给人工的接待量): 6000.00",
        "their receptions ÷ capacity (人工接待人时): 100.00 agent-hours",
        "agents needed with the bot at the busiest hour (有机器人，最忙时段需要客服): 16",
    ):
        assert line in out
    midnight = next(row.split() for row in out.splitlines() if row.strip().startswith("00:00"))
    assert midnight == ["00:00", "16.0%", "2400.0", "960.0", "16", "40"]
    assert len([r for r in out.splitlines() if re.match(r"^\s*\d\d:00 ", r)]) == len(shop().peak.hourly_curve)
    assert chart.stat().st_size > 10_000

    assert main(argv + ["--capacity", "0"]) == 2
    assert "单人饱和接待量须大于 0" in capsys.readouterr().err


def test_the_command_plans_another_shop_on_its_own_curve(capsys):
    """`xiaoer staffing --shop shiye` on the tea shop's curve (shops/shiye/shop.yml: 19:00 to
    00:00, 21:00 the top hour with 24% of the night): 15,000 × 0.24 = 3,600 at 21:00 ÷ 60 = 60
    agents; with the bot resolving 0.6, 1,440 ÷ 60 = 24. The default shop's top is 00:00, 40."""
    from bot.cli import main

    argv = ["staffing", "--sales", "3000000", "--service-share", "0.3", "--avg-order", "150", "--conversion", "0.4"]
    assert main(argv + ["--capacity", "60", "--bot-resolution", "0.6", "--shop", "shiye"]) == 0
    out = capsys.readouterr().out
    assert "agents needed at the busiest hour (无机器人，最忙时段需要客服): 60" in out
    assert "agents needed with the bot at the busiest hour (有机器人，最忙时段需要客服): 24" in out
    rows = [row.split() for row in out.splitlines() if re.match(r"^\s*\d\d:00 ", row)]
    assert [row[0] for row in rows] == ["19:00", "20:00", "21:00", "22:00", "23:00", "00:00"]
    assert rows[2] == ["21:00", "24.0%", "3600.0", "1440.0", "24", "60"]

    assert main(argv + ["--capacity", "60", "--bot-resolution", "0.6"]) == 0  # the default shop's, as before
    assert "最忙时段需要客服): 40" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["staffing", "--sales", "1", "--service-share", "0.3", "--avg-order", "1",
                                      "--conversion", "0.4", "--capacity", "1"], ["rehearse"],
                                     ["report", "--day", "2026-03-10"]])  # fmt: skip
def test_an_unknown_shop_is_refused_in_chinese(command, capsys):
    """Every `--shop` of the command line: no plan, no rehearsal, no report for a shop the
    server does not have."""
    from bot.cli import main

    assert main(command + ["--shop", "nope"]) == 2
    printed = capsys.readouterr()
    assert printed.err.strip() == "error: 没有这个店铺：nope（xiaoer shop list 列出本服务器的店铺）"
    assert printed.out == ""
