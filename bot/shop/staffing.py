"""How many agents the Double 11 night needs, hour by hour (handbook §6, the staffing plan).

The plan's formula:

    store sales × service share of sales        = sales made through the agents
    ÷ service average order value               = buyers served by staff
    ÷ inquiry conversion rate                    = total pre-sale receptions
    ÷ one agent's saturated receptions           = agents needed

spread over the night by the hourly curve of the peak (shop.yml `peak.hourly_curve`: the rise
from 18:00 on the 10th, the top from 20:00 into the small hours). A bot that resolves a share
of the receptions on its own (the rehearsal measures it: `xiaoer rehearse`) leaves the rest
for people. `capacity` is what one agent handles in an hour at saturation (接待上限 buyers at
once, each reception taking some minutes).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot import settings
from bot.shop.config import shop


class StaffingError(ValueError):
    pass


@dataclass(frozen=True)
class Hour:
    start: str  # "20:00"
    share: float  # of the night's receptions
    receptions: float
    for_people: float  # after the bot's share
    agents: int  # for the receptions left to people
    agents_without_bot: int


@dataclass(frozen=True)
class StaffingPlan:
    agent_sales: float  # yuan
    buyers_served_by_staff: float
    total_receptions: float
    receptions_for_people: float
    bot_resolution: float
    capacity: float
    hours: List[Hour]

    @property
    def agents_needed(self) -> int:
        """At the busiest hour, without the bot (the plan's own figure)."""
        return max(h.agents_without_bot for h in self.hours)

    @property
    def agents_with_bot(self) -> int:
        return max(h.agents for h in self.hours)

    @property
    def agent_hours(self) -> int:
        return sum(h.agents for h in self.hours)


def plan(
    sales: float,
    service_share: float,
    avg_order: float,
    conversion: float,
    capacity: float,
    curve: Sequence[Tuple[str, float]],
    bot_resolution: float = 0.0,
) -> StaffingPlan:
    """The plan for one night; raises StaffingError (in Chinese, for the page) on bad input."""
    _check(sales, service_share, avg_order, conversion, capacity, bot_resolution, curve)
    agent_sales = sales * service_share
    buyers = agent_sales / avg_order
    receptions = buyers / conversion
    total_share = sum(share for _, share in curve)
    hours = []
    for start, share in curve:
        at_hour = receptions * share / total_share
        for_people = at_hour * (1 - bot_resolution)
        hours.append(
            Hour(
                start=start,
                share=share / total_share,
                receptions=at_hour,
                for_people=for_people,
                agents=math.ceil(round(for_people / capacity, 9)),
                agents_without_bot=math.ceil(round(at_hour / capacity, 9)),
            )
        )
    return StaffingPlan(
        agent_sales=agent_sales,
        buyers_served_by_staff=buyers,
        total_receptions=receptions,
        receptions_for_people=receptions * (1 - bot_resolution),
        bot_resolution=bot_resolution,
        capacity=capacity,
        hours=hours,
    )


def _check(sales, service_share, avg_order, conversion, capacity, bot_resolution, curve) -> None:
    problems = []
    if not sales > 0:
        problems.append("店铺销售额须大于 0")
    if not 0 < service_share <= 1:
        problems.append("客服销售占比须在 0 到 1 之间（如 0.3）")
    if not avg_order > 0:
        problems.append("客服客单价须大于 0")
    if not 0 < conversion <= 1:
        problems.append("询单转化率须在 0 到 1 之间（如 0.4）")
    if not capacity > 0:
        problems.append("单人饱和接待量须大于 0")
    if not 0 <= bot_resolution < 1:
        problems.append("机器人解决率须在 0 到 1 之间（不含 1）")
    if not curve or any(share < 0 for _, share in curve) or sum(share for _, share in curve) <= 0:
        problems.append("每小时咨询曲线为空或有负值（shop.yml 的 peak.hourly_curve）")
    if problems:
        raise StaffingError("；".join(problems))


def rehearsal_file(shop_id: str) -> Path:
    """Where `xiaoer rehearse --shop` writes a shop's report (.md and .png beside it): the
    default shop's stays settings.REHEARSAL_REPORT, as before there were several shops; another
    shop's is rehearsal-<shop_id>.json beside it, so no shop's rehearsal replaces another's."""
    default = settings.REHEARSAL_REPORT
    if shop_id == shop().shop_id:
        return default
    return default.with_name(f"{default.stem}-{shop_id}{default.suffix}")


def last_rehearsal(shop_id: str) -> Optional[Dict[str, Any]]:
    """The shop's last rehearsal's report (rehearsal_file), if it rehearsed this shop (a report
    without a shop_id is the default shop's, from before there were several)."""
    try:
        report = json.loads(rehearsal_file(shop_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or (report.get("shop_id") or shop().shop_id) != shop_id:
        return None
    return report


def rehearsed_resolution(shop_id: str) -> Optional[float]:
    """The bot resolution rate the shop's last rehearsal measured, if there is one: the plan's
    default for `bot_resolution`."""
    try:
        return float((last_rehearsal(shop_id) or {})["bot_resolution"])
    except (KeyError, ValueError, TypeError):
        return None


def summary_lines(p: StaffingPlan) -> List[str]:
    """The plan's intermediate figures as plain numbers a manager can check by hand."""
    lines = [
        f"客服销售额 (sales × service share): {p.agent_sales:.2f} 元",
        f"buyers served by staff (客服接待成交人数): {p.buyers_served_by_staff:.2f}",
        f"total pre-sale receptions (总询单接待量): {p.total_receptions:.2f}",
        f"receptions ÷ capacity (总接待人时): {p.total_receptions / p.capacity:.2f} agent-hours",
        f"agents needed at the busiest hour (无机器人，最忙时段需要客服): {p.agents_needed}",
    ]
    if p.bot_resolution:
        lines += [
            f"bot resolution (机器人解决率): {p.bot_resolution:.2%}",
            f"receptions left for people (留给人工的接待量): {p.receptions_for_people:.2f}",
            f"their receptions ÷ capacity (人工接待人时): {p.receptions_for_people / p.capacity:.2f} agent-hours",
            f"agents needed with the bot at the busiest hour (有机器人，最忙时段需要客服): {p.agents_with_bot}",
        ]
    return lines


def chart(p: StaffingPlan, path) -> None:
    """Agents per hour, with and without the bot (a PNG for reports/ and mail)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = [h.start for h in p.hours]
    x = range(len(starts))
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(
        [i - 0.2 for i in x], [h.agents_without_bot for h in p.hours], width=0.4, label="without the bot", color="#bbb"
    )
    if p.bot_resolution:
        label = f"with the bot resolving {p.bot_resolution:.0%}"
        ax.bar([i + 0.2 for i in x], [h.agents for h in p.hours], width=0.4, label=label, color="#ff6a00")
    ax.set_xticks(list(x), starts)
    ax.set_xlabel("hour of the Double 11 night")
    ax.set_ylabel("agents needed")
    ax.set_title(
        f"Staffing plan: {p.total_receptions:,.0f} pre-sale receptions, {p.capacity:g} per agent-hour "
        f"-> {p.agents_needed} agents at the top" + (f" ({p.agents_with_bot} with the bot)" if p.bot_resolution else "")
    )
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
