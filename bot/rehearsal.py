"""The Double 11 rehearsal (`xiaoer rehearse`): a night of the shop's traffic, replayed at N×
speed through the signed console channel against the running stack, and what came of it.

The traffic is generated, not recorded, for one shop (`--shop`, default the default shop):
buyers arrive through the window at the rate of the staffing plan's hourly curve (its
shop.yml `peak.hourly_curve`, the night's receptions spread over it), and each asks one to
four things drawn in its intent mix (bot/nlu/priors.py: real buyers', or its shop.yml's
`intent_mix`), in words from the held-back splits the model never trained on. Each
buyer waits for the answer and "types" for 15–60 s (shop time) before the next message, as a
console would send them: numbered, signed, retried on a busy reply with the same id.

The report counts from the shop database, not from what the rehearsal believes: every message
sent must be stored and answered (by the bot, or delivered to a person) — `lost` counts those
that are not, and must be 0. Rehearsal buyers are new visitors of the shop (`rehearsal-…`, no
orders; the channel keys another shop's as `<shop_id>/rehearsal-…`, as any buyer's) and leave
its agents' queue when the rehearsal ends, so nobody is left to answer them.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import aiohttp
from sqlalchemy import select

from bot import clock, settings, signing
from bot.nlu.evaluation import SPLITS, load_holdout
from bot.nlu.priors import shop_mix
from bot.shop.config import ShopConfig, shop_file
from bot.store.db import session_scope
from bot.store.models import Conversation, Direction, Handler, HandoffReason, Message

BUYER_PREFIX = "rehearsal-"
THINK_SECONDS = (15, 60)  # shop time between a buyer's messages
MESSAGES_PER_BUYER = (1, 2, 2, 3, 3, 4)
RETRIES = 6  # a busy (503) or unreachable channel: the console sends the same message again


class RehearsalError(RuntimeError):
    pass


@dataclass
class Turn:
    message_id: str
    seq: int
    text: str
    intent: str
    at: float  # shop seconds into the window when the buyer starts typing it


@dataclass
class Buyer:
    buyer_id: str
    turns: List[Turn]


@dataclass
class Sent:
    buyer_id: str
    message_id: str
    minute: int  # shop minute of the window it was sent in
    latency_ms: Optional[float]  # None: never acknowledged
    handled_by: str = ""


# --- the night's traffic --------------------------------------------------------------------------
def parse_window(text: str) -> Tuple[float, float]:
    """ "23:30-00:30" → (start, end) in hours on the night's clock, past midnight as 24+."""
    try:
        start, end = (datetime.strptime(part.strip(), "%H:%M") for part in text.split("-"))
    except ValueError:
        raise RehearsalError(f"--window {text!r}: write it as HH:MM-HH:MM, e.g. 23:30-00:30") from None
    begin = start.hour + start.minute / 60
    finish = end.hour + end.minute / 60
    if begin < 12:
        begin, finish = begin + 24, finish + 24
    elif finish <= begin:
        finish += 24
    if not 0 < finish - begin <= 24:
        raise RehearsalError(f"--window {text!r}: the end must come after the start")
    return begin, finish


def _curve_hours(curve: Sequence[Tuple[str, float]]) -> List[Tuple[float, float]]:
    """The curve's (hour on the night's clock, share of the night), shares summing to 1."""
    total = sum(share for _, share in curve)
    hours = []
    for start, share in curve:
        hour = int(start.split(":")[0])
        hours.append((hour + 24 if hour < 12 else hour, share / total))
    return hours


def arrivals(cfg: ShopConfig, window: Tuple[float, float], receptions: int, rng: random.Random) -> List[float]:
    """When buyers arrive, in shop seconds into the window: the night's receptions by the
    hourly curve, uniform within each hour."""
    begin, end = window
    times: List[float] = []
    for hour, share in _curve_hours(cfg.peak.hourly_curve):
        overlap = max(0.0, min(end, hour + 1) - max(begin, hour))
        expected = receptions * share * overlap
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        first = (max(begin, hour) - begin) * 3600
        times += [first + rng.random() * overlap * 3600 for _ in range(count)]
    return sorted(times)


# The splits keep buyers' particulars masked ([订单x] …); a rehearsal buyer writes real-looking ones.
UNMASKED = {
    "[订单x]": lambda rng: "3" + "".join(rng.choice("0123456789") for _ in range(18)),
    "[数字x]": lambda rng: str(rng.randint(2, 9999)),
    "[金额x]": lambda rng: f"{rng.randint(9, 399)}元",
    "[日期x]": lambda rng: f"11月{rng.randint(1, 10)}号",
    "[时间x]": lambda rng: f"{rng.randint(8, 23)}点",
    "[地址x]": lambda rng: rng.choice(
        ["杭州市西湖区文三路88号", "成都市武侯区天府大道北段12号", "上海市浦东新区张江路5号"]
    ),
    "[姓名x]": lambda rng: rng.choice(["王强", "李娜", "张伟"]),
    "[电话x]": lambda rng: "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9)),
    "[站点x]": lambda rng: rng.choice(["菜鸟驿站", "丰巢柜"]),
    "[链接x]": lambda rng: "https://item.taobao.com/item.htm?id=" + str(rng.randint(10**11, 10**12)),
}


def phrasebook() -> Dict[str, List[str]]:
    """Buyer messages by intent, from every held-back split (never trained on)."""
    by_intent: Dict[str, List[str]] = defaultdict(list)
    for glob in SPLITS.values():
        for example in load_holdout(split=glob):
            by_intent[example.intent].append(example.text)
    return by_intent


def unmask(text: str, rng: random.Random) -> str:
    for mask, fill in UNMASKED.items():
        while mask in text:
            text = text.replace(mask, fill(rng), 1)
    return text


def generate(cfg: ShopConfig, window: Tuple[float, float], receptions: int, seed: int, run_id: str) -> List[Buyer]:
    rng = random.Random(seed)
    words = phrasebook()
    mix = {intent: share for intent, share in shop_mix(shop_file(cfg.shop_id)).items() if words.get(intent)}
    intents, weights = list(mix), list(mix.values())
    buyers = []
    for n, start in enumerate(arrivals(cfg, window, receptions, rng)):
        buyer_id = f"{BUYER_PREFIX}{run_id}-{n}"
        turns, at = [], start
        for seq in range(1, rng.choice(MESSAGES_PER_BUYER) + 1):
            intent = rng.choices(intents, weights)[0]
            turns.append(Turn(f"{buyer_id}-{seq}", seq, unmask(rng.choice(words[intent]), rng), intent, at))
            at += rng.uniform(*THINK_SECONDS)
        buyers.append(Buyer(buyer_id, turns))
    return buyers


# --- sending --------------------------------------------------------------------------------------
def webhook_secret(shop_id: str) -> str:
    """The key the running stack checks for this shop: the shop's own, the server's the operator
    set, or the one `xiaoer run` made for this run."""
    if os.environ.get(settings.shop_secret_variable(shop_id, "webhook")) or os.environ.get("XIAOER_WEBHOOK_SECRET"):
        return settings.secret("webhook", shop_id)
    try:
        return settings.RUN_WEBHOOK_SECRET_FILE.read_text(encoding="utf-8").strip()
    except OSError:
        raise RehearsalError(
            "no webhook key: start the stack with `make run` (or `xiaoer run`) on this machine first, "
            "or set XIAOER_WEBHOOK_SECRET to the stack's key"
        ) from None


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def step(self) -> None:
        self.done += 1
        if self.done == self.total or self.done % 5 == 0:
            self.show()

    def show(self) -> None:
        width = 30
        filled = int(width * self.done / max(1, self.total))
        rate = self.done / max(1e-6, time.monotonic() - self.started)
        print(
            f"\r演练 [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} 条  {rate:.1f} 条/秒",
            end="\n" if self.done == self.total else "",
            file=sys.stderr,
            flush=True,
        )


async def _send_turn(
    http: aiohttp.ClientSession, url: str, secret: str, shop_id: str, buyer: Buyer, turn: Turn, minute: int
) -> Sent:
    body = json.dumps(
        {
            "message_id": turn.message_id,
            "shop_id": shop_id,
            "buyer_id": buyer.buyer_id,
            "buyer_nick": "演练买家",
            "type": "text",
            "text": turn.text,
            "seq": turn.seq,
        },
        ensure_ascii=False,
    ).encode()
    started = time.perf_counter()
    for attempt in range(RETRIES):
        try:
            async with http.post(url, data=body, headers=signing.signed_headers(secret, body)) as resp:
                if resp.status == 200:
                    answer = await resp.json()
                    latency = (time.perf_counter() - started) * 1000
                    return Sent(buyer.buyer_id, turn.message_id, minute, latency, answer.get("handled_by", ""))
                if resp.status < 500:
                    raise RehearsalError(f"the console channel refused a message: {resp.status} {await resp.text()}")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(min(8, 0.5 * 2**attempt))
    return Sent(buyer.buyer_id, turn.message_id, minute, None)


async def _play(buyers: List[Buyer], speed: float, rasa_url: str, shop_id: str, progress: Progress) -> List[Sent]:
    url = rasa_url.rstrip("/") + "/webhooks/console/webhook"
    secret = webhook_secret(shop_id)
    sent: List[Sent] = []
    zero = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:

        async def chat(buyer: Buyer) -> None:
            for turn in buyer.turns:
                # A buyer types the next message only after reading the answer: never earlier.
                await asyncio.sleep(max(0.0, zero + turn.at / speed - time.monotonic()))
                sent.append(await _send_turn(http, url, secret, shop_id, buyer, turn, int(turn.at // 60)))
                progress.step()

        await asyncio.gather(*(chat(b) for b in buyers))
    return sent


# --- the report -----------------------------------------------------------------------------------
def _percentile(values: Sequence[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 1)


@dataclass
class Outcome:
    """What the shop database says about the rehearsal's buyers."""

    stored_answered: set = field(default_factory=set)  # (buyer, message_id)
    handoff: Dict[str, Optional[str]] = field(default_factory=dict)  # buyer → reason
    queued_at: Dict[str, datetime] = field(default_factory=dict)  # buyers still waiting


def read_outcome(run_prefix: str, shop_id: str) -> Outcome:
    """In the rehearsed shop only: a message stored under another shop is lost to this one."""
    outcome = Outcome()
    with session_scope() as session:
        convs = session.execute(
            select(Conversation).where(Conversation.shop_id == shop_id, Conversation.buyer_id.like(run_prefix + "%"))
        ).scalars()
        by_id = {}
        for conv in convs:
            by_id[conv.id] = conv.buyer_id
            outcome.handoff[conv.buyer_id] = conv.handoff_reason.value if conv.handoff_reason else None
            if conv.handled_by == Handler.QUEUE and conv.queued_at is not None:
                outcome.queued_at[conv.buyer_id] = conv.queued_at
        if by_id:
            rows = session.execute(
                select(Message.conversation_id, Message.message_id).where(
                    Message.conversation_id.in_(by_id),
                    Message.direction == Direction.IN,
                    Message.answered_at.isnot(None),
                )
            )
            outcome.stored_answered = {(by_id[c], m) for c, m in rows}
    return outcome


def release_queue(run_prefix: str, shop_id: str) -> int:
    """Rehearsal buyers leave the shop's agents' queue (and their lists) when the rehearsal ends."""
    with session_scope() as session:
        convs = list(
            session.execute(
                select(Conversation).where(
                    Conversation.shop_id == shop_id,
                    Conversation.buyer_id.like(run_prefix + "%"),
                    Conversation.handled_by != Handler.BOT,
                )
            ).scalars()
        )
        for conv in convs:
            conv.handled_by, conv.agent_id, conv.queued_at = Handler.BOT, None, None
        return len(convs)


def report(
    buyers: List[Buyer],
    sent: List[Sent],
    outcome: Outcome,
    *,
    speed: float,
    window: str,
    receptions: int,
    started_at: datetime,
    duration: float,
    ended_at: datetime,
    shop_id: Optional[str] = None,
) -> Dict[str, object]:
    latencies = [s.latency_ms for s in sent if s.latency_ms is not None]
    lost = [s for s in sent if (s.buyer_id, s.message_id) not in outcome.stored_answered]
    reasons = Counter(reason for buyer, reason in outcome.handoff.items() if reason)
    talked = len(outcome.handoff) or 1
    handed = sum(reasons.values())
    waits = [(ended_at - at).total_seconds() for at in outcome.queued_at.values()]
    per_minute: Dict[int, Dict[str, int]] = defaultdict(lambda: {"sent": 0, "bot": 0, "agent": 0})
    for s in sent:
        row = per_minute[s.minute]
        row["sent"] += 1
        if s.handled_by == Handler.BOT.value:
            row["bot"] += 1
        elif s.handled_by == Handler.AGENT.value:
            row["agent"] += 1
    minutes = range(0, max(per_minute) + 1) if per_minute else range(0)
    return {
        "shop_id": shop_id,  # the shop rehearsed: only its supervisor reads the report (/rehearsal)
        "started_at": started_at.strftime("%Y-%m-%d %H:%M:%S"),
        "speed": speed,
        "window": window,
        "night_receptions": receptions,
        "conversations": len(buyers),
        "messages": len(sent),
        "duration_seconds": round(duration, 1),
        "throughput_per_second": round(len(sent) / duration, 2) if duration else None,
        "latency_ms": {
            "p50": _percentile(latencies, 0.5),
            "p90": _percentile(latencies, 0.9),
            "p99": _percentile(latencies, 0.99),
        },
        "bot_resolution": round(1 - handed / talked, 3),
        "handoff_rate": round(handed / talked, 3),
        "handoff_by_reason": [
            {"reason": r, "reason_label": HandoffReason(r).label, "count": n, "share": round(n / talked, 3)}
            for r, n in reasons.most_common()
        ],
        "queue_wait_seconds": {
            "waiting_at_end": len(waits),
            "median": _percentile(waits, 0.5),
            "p90": _percentile(waits, 0.9),
            "max": round(max(waits), 1) if waits else None,
        },
        "lost": len(lost),
        "lost_messages": [s.message_id for s in lost][:20],
        "per_minute": [{"minute": m, **per_minute.get(m, {"sent": 0, "bot": 0, "agent": 0})} for m in minutes],
    }


def markdown(rep: Dict[str, object]) -> str:
    lat = rep["latency_ms"]
    waits = rep["queue_wait_seconds"]
    lines = [
        "# 双11 演练报告 (xiaoer rehearse)",
        "",
        f"{rep['started_at']} · 时段 {rep['window']} · {rep['speed']}× 速度 · 整夜接待量 {rep['night_receptions']}",
        "",
        "| 指标 | 数值 |",
        "|---|---|",
        f"| 买家会话 | {rep['conversations']} |",
        f"| 买家消息 | {rep['messages']} |",
        f"| 用时 | {rep['duration_seconds']} s |",
        f"| 吞吐 | {rep['throughput_per_second']} 条/秒 |",
        f"| 回复延迟 p50 / p90 / p99 | {lat['p50']} / {lat['p90']} / {lat['p99']} ms |",
        f"| 机器人独立解决 | {rep['bot_resolution']:.1%} |",
        f"| 转人工 | {rep['handoff_rate']:.1%} |",
        f"| 结束时仍在排队（真实秒数，夜里 ×{rep['speed']}） | {waits['waiting_at_end']} 人，"
        f"等待中位 {waits['median']} s，p90 {waits['p90']} s |",
        f"| **丢失消息** | **{rep['lost']}** |",
        "",
        "## 转人工原因",
        "",
        "| 原因 | 会话 | 占全部会话 |",
        "|---|---|---|",
    ]
    lines += [f"| {r['reason_label']} | {r['count']} | {r['share']:.1%} |" for r in rep["handoff_by_reason"]]
    return "\n".join(lines) + "\n"


def chart(rep: Dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rep["per_minute"]
    minutes = [r["minute"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.bar(minutes, [r["bot"] for r in rows], label="answered by the bot", color="#ff6a00")
    left.bar(minutes, [r["agent"] for r in rows], bottom=[r["bot"] for r in rows], label="to an agent", color="#3b82f6")
    left.set_xlabel(f"minute of the window {rep['window']} (shop time)")
    left.set_ylabel("buyer messages")
    left.set_title("messages per minute")
    left.legend(fontsize=8)
    reasons = rep["handoff_by_reason"]
    labels = [r["reason"] for r in reasons] or ["(none)"]
    right.barh(labels, [r["count"] for r in reasons] or [0], color="#3b82f6")
    right.invert_yaxis()
    right.set_xlabel("conversations")
    right.set_title(f"handed to a person: {rep['handoff_rate']:.1%}   bot resolved: {rep['bot_resolution']:.1%}")
    lat = rep["latency_ms"]
    fig.suptitle(
        f"Double 11 rehearsal at {rep['speed']}x: {rep['messages']} messages, {rep['throughput_per_second']} msg/s, "
        f"p50/p90/p99 {lat['p50']}/{lat['p90']}/{lat['p99']} ms, lost {rep['lost']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the command ----------------------------------------------------------------------------------
def rehearse(
    cfg: ShopConfig,
    *,
    speed: float,
    window: str,
    receptions: int,
    rasa_url: str,
    out: Path,
    seed: int = 11,
) -> Dict[str, object]:
    if speed <= 0:
        raise RehearsalError("--speed must be above 0 (10: ten times faster than the night)")
    if receptions < 1:
        raise RehearsalError("--receptions must be at least 1")
    run_id = uuid.uuid4().hex[:6]
    buyers = generate(cfg, parse_window(window), receptions, seed, run_id)
    if not buyers:
        raise RehearsalError(f"no buyer arrives in {window} with --receptions {receptions}: widen the window")
    total = sum(len(b.turns) for b in buyers)
    last = max(t.at for b in buyers for t in b.turns)
    print(
        f"演练 {cfg.name} {window}：{len(buyers)} 位买家、{total} 条消息，{speed}× 速度，"
        f"约 {last / speed / 60:.1f} 分钟 → {rasa_url}",
        file=sys.stderr,
    )
    started_at, began = clock.now(), time.monotonic()
    sent = asyncio.run(_play(buyers, speed, rasa_url, cfg.shop_id, Progress(total)))
    duration = time.monotonic() - began
    prefix = f"{BUYER_PREFIX}{run_id}-"
    rep = report(
        buyers,
        sent,
        read_outcome(prefix, cfg.shop_id),
        speed=speed,
        window=window,
        receptions=receptions,
        started_at=started_at,
        duration=duration,
        ended_at=clock.now(),
        shop_id=cfg.shop_id,
    )
    release_queue(prefix, cfg.shop_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep, ensure_ascii=False, indent=1), encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(rep), encoding="utf-8")
    chart(rep, out.with_suffix(".png"))
    return rep
