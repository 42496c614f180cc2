"""The shop manager's reports: every figure of /reports, its CSV tables and `xiaoer report`,
computed here from the stored conversations, messages and orders — nowhere else.

`build(session, cfg, shop_id, first, last, agent_id)` reads one day or a range of days (shop
time, `last` included) and returns a `Report`. The definitions, one by one:

- **The range's conversations**: those in which the buyer wrote at least once in the range
  (a conversation row lives as long as the buyer, so `started_at` alone would miss returning
  buyers). Buyer messages are `direction == in`, not the console's `enter_shop` events; the
  shop's notices (`kind == notice`: queue updates) answer nothing.
- **Per hour**: buyer, bot and agent messages by the hour of the day they were sent (a range
  adds its days up hour by hour); conversations by the hour of their first buyer message in
  the range. `per_day` gives the same totals day by day.
- **Intent mix**: the range's buyer messages by the intent the NLU gave them (none: 其他),
  and by area (对话/售前/订单/物流/售后) per hour for the stacked bar.
- **Bot resolution rate**: the share of the range's conversations with no `handoff_reason`
  — no person was ever asked for or took over. **Handoff rate by reason**: conversations with
  that reason ÷ the range's conversations (`HandoffReason.label`).
- **Held by a person**: a buyer message sent at or after its conversation's `queued_at`, or
  whose next reply (bot or agent, not a notice) is an agent's. It is **answered** by the next
  agent message in the conversation, and counts for that agent (unanswered: the
  conversation's agent, if any). **Within target** (the platform's clock): answered no later
  than `shop.yml` `workbench.response_target_seconds` after it was sent; the share is over
  all held messages, unanswered ones included.
- **First response**: bot — each conversation's first buyer message in the range not held by
  a person → the next bot reply; agents — the conversation's first held message → its answer.
  **Full resolution**: from the conversation's first buyer message in the range to, for the
  bot (no handoff), its last bot reply; for agents (a handoff and an agent reply), the
  conversation's `resolved_at` if set, else its last agent reply. Medians and averages.
- **Queue waits**: conversations whose `queued_at` is in the range: `queued_at` → the first
  agent message after it. **Left while waiting**: queued in the range, no agent message ever
  after `queued_at`. Median (the middle, or the mean of the two middles) and p90 (nearest
  rank: the ⌈0.9·n⌉-th smallest).
- **Suggested replies**, per agent reply in the range, counted under the reply's own intent
  (what the workbench records with a suggestion), else the intent of the last buyer message
  before it: **accepted** — `phrase_id` set and `edited` False (sent as suggested);
  **edited** — `phrase_id` set and `edited` True; **ignored** — no `phrase_id` (the agent
  typed their own answer instead of the suggestions shown).
- **Inquiry → order conversion** (询单转化): an inquiry is a conversation of the range in
  which the buyer asked a pre-sale question (an intent of `INTENT_AREAS["presale"]`); its
  moment is that conversation's first buyer message in the range. **Ordered**: the buyer
  created an order in (moment, moment + window]; **paid**: the buyer paid an order in
  (moment, moment + window] (window `CONVERSION_HOURS`, 24 h). It is the bot's inquiry when
  no agent wrote in the conversation in the range, else the inquiry of the agent who wrote
  last. **Lost buyers**: inquiries not paid, with their last buyer message's intent.
- **Disputes**: conversations of the range with `HandoffReason.DISPUTE`; **dispute words**:
  the range's buyer messages containing a word of `shop.yml` `handoff.dispute_words`
  (bot/service/handoff.py), counted per word (a message counts once per word);
  **bad-review threats**: buyer messages containing 差评.

With `agent_id` the report covers only the conversations that agent wrote in during the
range (or holds now). Times are naive shop-local times, as everywhere in the database.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.formatting import cn_time
from bot.nlu.intents import INTENT_AREAS, intent_label
from bot.privacy import mask_phones
from bot.shop.config import ShopConfig
from bot.store.models import (
    Agent,
    Buyer,
    Conversation,
    ConversationNote,
    Direction,
    HandoffReason,
    Message,
    NoteKind,
    Order,
    Sender,
)

CONVERSION_HOURS = 24
MAX_DAYS = 92  # a quarter: a longer range is refused (the page and the CSV say so)
BAD_REVIEW_WORD = "差评"
NOTICE = "notice"
NOT_READ = ("enter_shop",)
AREA_LABELS = {"dialogue": "对话", "presale": "售前", "orders": "订单", "logistics": "物流", "aftersales": "售后"}
OTHER_AREA = "其他"
_AREA_OF = {intent: area for area, intents in INTENT_AREAS.items() for intent in intents}
PRESALE = frozenset(INTENT_AREAS["presale"])
BOT = "机器人"
UNKNOWN_AGENT = "未记录的客服"
UNRECORDED = 0  # the agents' table key of agent replies whose agent is not known (ids start at 1)


class ReportError(ValueError):
    """A range the report can't cover; the message is in Chinese, for the page."""


# --- small arithmetic -----------------------------------------------------------------------------
def median(values: Sequence[float]) -> Optional[float]:
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> Optional[float]:
    """Nearest rank: the ⌈0.9·n⌉-th smallest."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(0.9 * len(ordered))) - 1])


def mean(values: Sequence[float]) -> Optional[float]:
    return float(sum(values) / len(values)) if values else None


def share(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


# --- the report -----------------------------------------------------------------------------------
@dataclass
class Timing:
    count: int
    median: Optional[float]
    mean: Optional[float]
    p90: Optional[float]

    @classmethod
    def of(cls, values: Sequence[float]) -> "Timing":
        return cls(len(values), median(values), mean(values), p90(values))


@dataclass
class AgentRow:
    agent_id: Optional[int]  # None: the bot
    name: str
    conversations: int = 0  # conversations of the range the agent wrote in
    replies: int = 0
    held: int = 0  # buyer messages held by this agent
    within_target: int = 0
    within_target_share: Optional[float] = None
    first_response: Optional[float] = None  # median seconds
    inquiries: int = 0
    ordered: int = 0
    paid: int = 0
    conversion: Optional[float] = None


@dataclass
class Report:
    first: date
    last: date
    agent_id: Optional[int]
    agent_name: Optional[str]
    response_target_seconds: int
    conversion_hours: int
    totals: Dict[str, object]
    per_hour: List[Dict[str, int]]  # 24 rows: hour, buyer, bot, agent, conversations
    per_day: List[Dict[str, object]]
    intents: List[Dict[str, object]]  # intent, label, count, share
    areas: List[Dict[str, str]]  # area, label (the stacked bar's series, in order)
    area_per_hour: List[Dict[str, int]]  # 24 rows: hour and a count per area
    handoffs: List[Dict[str, object]]  # reason, label, count, share
    timing: Dict[str, Timing]  # bot_first_response, agent_first_response, bot_resolution, agent_resolution
    platform_clock: Dict[str, object]  # held, within_target, share
    queue: Dict[str, object]  # queued, served, left, wait: Timing
    suggestions: List[Dict[str, object]]  # intent, label, accepted, edited, ignored, total
    funnel: Dict[str, int]  # inquiries, ordered, paid
    agents: List[AgentRow]
    lost: List[Dict[str, object]]  # buyer, nick, last_intent, label, at, served_by
    lost_by_intent: List[Dict[str, object]]  # intent, label, count
    disputes: Dict[str, object]  # conversations, words: [{word, count}], bad_review_threats, messages

    def as_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data["first"], data["last"] = self.first.isoformat(), self.last.isoformat()
        return data


@dataclass
class _Conv:
    conv: Conversation
    messages: List[Message]  # the whole window, in order
    first_buyer: Message  # the first buyer message in the range
    agents_in_range: List[int] = field(default_factory=list)  # who wrote in it in the range, in order


def _is_buyer(m: Message) -> bool:
    return m.direction == Direction.IN and m.kind not in NOT_READ


def _is_reply(m: Message) -> bool:
    return m.direction == Direction.OUT and m.kind != NOTICE and m.sender in (Sender.BOT, Sender.AGENT)


def _held(c: Conversation, messages: List[Message], i: int) -> bool:
    m = messages[i]
    if c.queued_at is not None and m.created_at >= c.queued_at:
        return True
    following = next((r for r in messages[i + 1 :] if _is_reply(r)), None)
    return following is not None and following.sender == Sender.AGENT


def _next(messages: List[Message], i: int, sender: Sender) -> Optional[Message]:
    return next((r for r in messages[i + 1 :] if _is_reply(r) and r.sender == sender), None)


def _nicks(session: Session, shop_id: str, buyer_ids: set) -> Dict[str, str]:
    """The buyers' nicks as this shop knows them (a platform buyer has a row in each shop)."""
    if not buyer_ids:
        return {}
    return dict(
        session.execute(select(Buyer.id, Buyer.nick).where(Buyer.shop_id == shop_id, Buyer.id.in_(buyer_ids))).all()
    )


def period(first: date, last: Optional[date] = None) -> Tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00): the range's bounds in shop time."""
    last = last or first
    if last < first:
        raise ReportError("结束日期不能早于开始日期")
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportError(f"一次最多查询 {MAX_DAYS} 天")
    return datetime.combine(first, datetime.min.time()), datetime.combine(last + timedelta(days=1), datetime.min.time())


def build(
    session: Session,
    cfg: ShopConfig,
    shop_id: str,
    first: date,
    last: Optional[date] = None,
    agent_id: Optional[int] = None,
) -> Report:
    last = last or first
    start, end = period(first, last)
    target = cfg.workbench.response_target_seconds
    window = timedelta(hours=CONVERSION_HOURS)
    agents = {a.id: a for a in session.execute(select(Agent).where(Agent.shop_id == shop_id)).scalars()}
    agent_name = agents[agent_id].name if agent_id is not None and agent_id in agents else None
    if agent_id is not None and agent_id not in agents:
        raise ReportError("没有这位客服")

    # The conversations a buyer wrote in during the range, with their messages up to a day after
    # it (an answer just after midnight still answers; resolution may end the next morning).
    in_range = (
        select(Message.conversation_id)
        .where(Message.direction == Direction.IN, Message.created_at >= start, Message.created_at < end)
        .distinct()
    )
    convs = list(
        session.execute(
            select(Conversation).where(Conversation.shop_id == shop_id, Conversation.id.in_(in_range))
        ).scalars()
    )
    by_conv: Dict[int, List[Message]] = defaultdict(list)
    if convs:
        rows = session.execute(
            select(Message)
            .where(
                Message.conversation_id.in_([c.id for c in convs]),
                Message.created_at >= start - timedelta(days=1),
                Message.created_at < end + timedelta(days=1),
            )
            .order_by(Message.created_at, Message.id)
        ).scalars()
        for m in rows:
            by_conv[m.conversation_id].append(m)
    transfers: Dict[int, List[ConversationNote]] = defaultdict(list)
    if convs:
        for note in session.execute(
            select(ConversationNote)
            .where(
                ConversationNote.conversation_id.in_([c.id for c in convs]), ConversationNote.kind == NoteKind.TRANSFER
            )
            .order_by(ConversationNote.created_at, ConversationNote.id)
        ).scalars():
            transfers[note.conversation_id].append(note)
    authors: Dict[int, Optional[int]] = {}

    def _agent_of(m: Optional[Message], c: Conversation) -> Optional[int]:
        """Who sent an agent message: the agent recorded on it. For replies stored before
        migration 0006 recorded it: the colleague of the last transfer before it, else the one
        who transferred it away after it, else the conversation's agent now (UNRECORDED once it
        went back to the bot with no transfer)."""
        if m is None:
            return None
        if m.agent_id is not None:  # recorded since migration 0006
            return m.agent_id
        if m.id not in authors:
            notes = transfers.get(c.id, [])
            before = [n for n in notes if n.created_at <= m.created_at]
            after = [n for n in notes if n.created_at > m.created_at]
            found = before[-1].to_agent_id if before else after[0].agent_id if after else c.agent_id
            authors[m.id] = found or UNRECORDED
        return authors[m.id]

    items: List[_Conv] = []
    for c in convs:
        msgs = by_conv[c.id]
        first_buyer = next((m for m in msgs if _is_buyer(m) and start <= m.created_at < end), None)
        if first_buyer is None:  # only enter_shop events in the range
            continue
        writers = []
        for m in msgs:
            if m.sender == Sender.AGENT and m.direction == Direction.OUT and start <= m.created_at < end:
                who = _agent_of(m, c)
                if who is not None:
                    writers.append(who)
        items.append(_Conv(c, msgs, first_buyer, writers))
    if agent_id is not None:
        items = [x for x in items if agent_id in x.agents_in_range or x.conv.agent_id == agent_id]
    items.sort(key=lambda x: (x.first_buyer.created_at, x.conv.id))

    def in_rng(m: Message) -> bool:
        return start <= m.created_at < end

    # --- volume -----------------------------------------------------------------------------------
    per_hour = [{"hour": h, "buyer": 0, "bot": 0, "agent": 0, "conversations": 0} for h in range(24)]
    days = [(first + timedelta(days=d)) for d in range((last - first).days + 1)]
    per_day = {d: {"day": d.isoformat(), "buyer": 0, "bot": 0, "agent": 0, "conversations": 0} for d in days}
    area_keys = list(AREA_LABELS) + ["other"]
    area_per_hour = [{"hour": h, **{a: 0 for a in area_keys}} for h in range(24)]
    intent_counts: Counter = Counter()
    for x in items:
        per_hour[x.first_buyer.created_at.hour]["conversations"] += 1
        per_day[x.first_buyer.created_at.date()]["conversations"] += 1
        for m in x.messages:
            if not in_rng(m):
                continue
            if _is_buyer(m):
                key = "buyer"
                intent_counts[m.intent or ""] += 1
                area_per_hour[m.created_at.hour][_AREA_OF.get(m.intent or "", "other")] += 1
            elif _is_reply(m):
                key = "bot" if m.sender == Sender.BOT else "agent"
            else:
                continue
            per_hour[m.created_at.hour][key] += 1
            per_day[m.created_at.date()][key] += 1
    buyer_total = sum(h["buyer"] for h in per_hour)
    intents = [
        {"intent": i or None, "label": intent_label(i), "count": n, "share": share(n, buyer_total)}
        for i, n in sorted(intent_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]

    # --- handoffs ---------------------------------------------------------------------------------
    n_conv = len(items)
    reasons = Counter(HandoffReason(x.conv.handoff_reason) for x in items if x.conv.handoff_reason)
    handed = sum(reasons.values())
    handoffs = [
        {"reason": r.value, "label": r.label, "count": n, "share": share(n, n_conv)}
        for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], list(HandoffReason).index(kv[0])))
    ]

    # --- the clock, first responses, resolution -------------------------------------------------
    rows: Dict[Optional[int], AgentRow] = {}

    def row(who: Optional[int]) -> AgentRow:
        if who not in rows:
            name = BOT if who is None else agents[who].name if who in agents else UNKNOWN_AGENT
            rows[who] = AgentRow(who, name)
        return rows[who]

    held = within = 0
    bot_first: List[float] = []
    agent_first: List[float] = []
    agent_first_by: Dict[int, List[float]] = defaultdict(list)
    bot_resolution: List[float] = []
    agent_resolution: List[float] = []
    for x in items:
        c, msgs = x.conv, x.messages
        for who in set(x.agents_in_range):
            row(who).conversations += 1
        for m in msgs:
            if m.sender == Sender.AGENT and _is_reply(m) and in_rng(m):
                who = _agent_of(m, c)
                if who is not None:
                    row(who).replies += 1
        first_bot_done = first_agent_done = False
        for i, m in enumerate(msgs):
            if not (_is_buyer(m) and in_rng(m)):
                continue
            if _held(c, msgs, i):
                answer = _next(msgs, i, Sender.AGENT)
                who = _agent_of(answer, c) if answer is not None else c.agent_id
                ok = answer is not None and _seconds(m.created_at, answer.created_at) <= target
                held += 1
                within += ok
                if who is not None:
                    row(who).held += 1
                    row(who).within_target += ok
                if not first_agent_done and answer is not None:
                    first_agent_done = True
                    delay = _seconds(m.created_at, answer.created_at)
                    agent_first.append(delay)
                    if who is not None:
                        agent_first_by[who].append(delay)
            elif not first_bot_done:
                answer = _next(msgs, i, Sender.BOT)
                if answer is not None:
                    first_bot_done = True
                    bot_first.append(_seconds(m.created_at, answer.created_at))
        opened = x.first_buyer.created_at
        agent_replies = [m for m in msgs if _is_reply(m) and m.sender == Sender.AGENT and m.created_at >= opened]
        if not c.handoff_reason:
            bot_replies = [m for m in msgs if _is_reply(m) and m.sender == Sender.BOT and m.created_at >= opened]
            if bot_replies:
                bot_resolution.append(_seconds(opened, bot_replies[-1].created_at))
        elif agent_replies:
            done = (
                c.resolved_at if c.resolved_at is not None and c.resolved_at >= opened else agent_replies[-1].created_at
            )
            agent_resolution.append(_seconds(opened, done))
    for who, delays in agent_first_by.items():
        row(who).first_response = median(delays)

    # --- the queue --------------------------------------------------------------------------------
    waits: List[float] = []
    queued = left = 0
    for x in items:
        q = x.conv.queued_at
        if q is None or not (start <= q < end):
            continue
        queued += 1
        answer = next((m for m in x.messages if _is_reply(m) and m.sender == Sender.AGENT and m.created_at >= q), None)
        if answer is None:
            left += 1
        else:
            waits.append(_seconds(q, answer.created_at))

    # --- suggestions ------------------------------------------------------------------------------
    suggested: Dict[str, Counter] = defaultdict(Counter)
    for x in items:
        last_intent: Optional[str] = None
        for m in x.messages:
            if _is_buyer(m):
                last_intent = m.intent
            elif m.sender == Sender.AGENT and _is_reply(m) and in_rng(m):
                kind = "ignored" if not m.phrase_id else ("edited" if m.edited else "accepted")
                suggested[m.intent or last_intent or ""][kind] += 1
    suggestions = [
        {
            "intent": i or None,
            "label": intent_label(i),
            "accepted": n["accepted"],
            "edited": n["edited"],
            "ignored": n["ignored"],
            "total": sum(n.values()),
            "accepted_share": share(n["accepted"], sum(n.values())),
        }
        for i, n in sorted(suggested.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    ]

    # --- conversion -------------------------------------------------------------------------------
    inquiries = [x for x in items if any(_is_buyer(m) and in_rng(m) and m.intent in PRESALE for m in x.messages)]
    buyer_ids = {x.conv.buyer_id for x in inquiries}
    orders: Dict[str, List[Order]] = defaultdict(list)
    if buyer_ids:
        for o in session.execute(
            select(Order).where(Order.shop_id == shop_id, Order.buyer_id.in_(buyer_ids))
        ).scalars():
            orders[o.buyer_id].append(o)
    nicks = _nicks(session, shop_id, buyer_ids)
    funnel = {"inquiries": len(inquiries), "ordered": 0, "paid": 0}
    lost: List[Dict[str, object]] = []
    for x in inquiries:
        moment = x.first_buyer.created_at
        who = x.agents_in_range[-1] if x.agents_in_range else None
        r = row(who)
        r.inquiries += 1
        mine = orders.get(x.conv.buyer_id, [])
        ordered = any(moment < o.created_at <= moment + window for o in mine)
        paid = any(o.paid_at is not None and moment < o.paid_at <= moment + window for o in mine)
        funnel["ordered"] += ordered or paid
        funnel["paid"] += paid
        r.ordered += ordered or paid
        r.paid += paid
        if not paid:
            said = [m for m in x.messages if _is_buyer(m) and in_rng(m)]
            last_msg = said[-1]
            lost.append(
                {
                    "buyer": x.conv.buyer_id,
                    "nick": nicks.get(x.conv.buyer_id, x.conv.buyer_id),
                    "last_intent": last_msg.intent,
                    "label": intent_label(last_msg.intent),
                    "at": last_msg.created_at.isoformat(sep=" ", timespec="seconds"),
                    "at_label": cn_time(last_msg.created_at),
                    "served_by": r.name,
                }
            )
    lost_counts = Counter(item["last_intent"] or "" for item in lost)
    lost_by_intent = [
        {"intent": i or None, "label": intent_label(i), "count": n}
        for i, n in sorted(lost_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]

    # --- disputes ---------------------------------------------------------------------------------
    words: Counter = Counter()
    threats = 0
    flagged: List[Dict[str, object]] = []
    for x in items:
        for m in x.messages:
            if not (_is_buyer(m) and in_rng(m)):
                continue
            hits = [w for w in cfg.handoff.dispute_words if w in (m.text or "")]
            words.update(hits)
            threat = BAD_REVIEW_WORD in (m.text or "")
            threats += threat
            if hits or threat:
                flagged.append(
                    {
                        "buyer": x.conv.buyer_id,
                        "at": m.created_at.isoformat(sep=" ", timespec="seconds"),
                        "words": hits or [BAD_REVIEW_WORD],
                        "text": mask_phones(m.text or "")[:120],
                    }
                )
    flagged_ids = {f["buyer"] for f in flagged}
    flagged_nicks = _nicks(session, shop_id, flagged_ids)
    for f in flagged:  # the page shows buyers by their nick, never by an id
        f["nick"] = flagged_nicks.get(f["buyer"]) or f["buyer"]
    disputes = {
        "conversations": reasons.get(HandoffReason.DISPUTE, 0),
        "words": [{"word": w, "count": n} for w, n in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))],
        "dispute_word_messages": sum(1 for f in flagged if set(f["words"]) & set(cfg.handoff.dispute_words)),
        "bad_review_threats": threats,
        "messages": flagged,
    }

    # --- the agents' table ------------------------------------------------------------------------
    row(None)  # the bot always has its row
    for a in agents.values():
        if agent_id is None or a.id == agent_id:
            row(a.id)
    for r in rows.values():
        r.within_target_share = share(r.within_target, r.held)
        r.conversion = share(r.paid, r.inquiries)
    agent_rows = [rows[None]] + sorted((r for k, r in rows.items() if k is not None), key=lambda r: r.agent_id)

    totals = {
        "buyer_messages": buyer_total,
        "bot_messages": sum(h["bot"] for h in per_hour),
        "agent_messages": sum(h["agent"] for h in per_hour),
        "conversations": n_conv,
        "handed_off": handed,
        "bot_resolved": n_conv - handed,
        "bot_resolution_rate": share(n_conv - handed, n_conv),
        "handoff_rate": share(handed, n_conv),
        "conversion": share(funnel["paid"], funnel["inquiries"]),
    }
    return Report(
        first=first,
        last=last,
        agent_id=agent_id,
        agent_name=agent_name,
        response_target_seconds=target,
        conversion_hours=CONVERSION_HOURS,
        totals=totals,
        per_hour=per_hour,
        per_day=list(per_day.values()),
        intents=intents,
        areas=[{"area": a, "label": AREA_LABELS.get(a, OTHER_AREA)} for a in area_keys],
        area_per_hour=area_per_hour,
        handoffs=handoffs,
        timing={
            "bot_first_response": Timing.of(bot_first),
            "agent_first_response": Timing.of(agent_first),
            "bot_resolution": Timing.of(bot_resolution),
            "agent_resolution": Timing.of(agent_resolution),
        },
        platform_clock={"held": held, "within_target": within, "share": share(within, held)},
        queue={"queued": queued, "served": len(waits), "left": left, "wait": Timing.of(waits)},
        suggestions=suggestions,
        funnel=funnel,
        agents=agent_rows,
        lost=lost,
        lost_by_intent=lost_by_intent,
        disputes=disputes,
    )


# --- tables (the page's tables and their CSV) -----------------------------------------------------
def _pct(x: Optional[float]) -> str:
    return "" if x is None else f"{x * 100:.1f}%"


def _sec(x: Optional[float]) -> str:
    return "" if x is None else f"{x:.0f}"


TABLES = {
    "hours": "每小时消息量",
    "intents": "意图分布",
    "handoffs": "转人工原因",
    "agents": "客服表现",
    "suggestions": "推荐话术采纳",
    "lost": "流失买家",
    "disputes": "维权与差评风险",
}


def table(report: Report, name: str) -> Tuple[List[str], List[List[object]]]:
    """One of TABLES as a Chinese header row and data rows (the page's table and its CSV)."""
    if name == "hours":
        head = ["时段", "买家消息", "机器人回复", "客服回复", "新会话"]
        rows = [[f"{h['hour']:02d}:00", h["buyer"], h["bot"], h["agent"], h["conversations"]] for h in report.per_hour]
    elif name == "intents":
        head = ["意图", "买家消息数", "占比"]
        rows = [[i["label"], i["count"], _pct(i["share"])] for i in report.intents]
    elif name == "handoffs":
        head = ["转人工原因", "会话数", "占全部会话"]
        rows = [[h["label"], h["count"], _pct(h["share"])] for h in report.handoffs]
    elif name == "agents":
        head = ["接待", "会话数", "回复数", "人工待回复消息", f"{report.response_target_seconds}秒内回复", "达标率",
                "首次响应中位数(秒)", "询单", "下单", "付款", "询单转化率"]  # fmt: skip
        rows = [
            [
                r.name,
                r.conversations,
                r.replies,
                r.held,
                r.within_target,
                _pct(r.within_target_share),
                _sec(r.first_response),
                r.inquiries,
                r.ordered,
                r.paid,
                _pct(r.conversion),
            ]  # fmt: skip
            for r in report.agents
        ]
    elif name == "suggestions":
        head = ["意图", "原样采用", "修改后发送", "未采用", "合计", "原样采用率"]
        rows = [[s["label"], s["accepted"], s["edited"], s["ignored"], s["total"], _pct(s["accepted_share"])]
                for s in report.suggestions]  # fmt: skip
    elif name == "lost":
        head = ["买家", "最后咨询", "最后消息时间", "接待"]
        rows = [[x["nick"], x["label"], x["at"], x["served_by"]] for x in report.lost]
    elif name == "disputes":
        head = ["买家", "时间", "触发词", "内容"]
        rows = [[d["nick"], d["at"], "、".join(d["words"]), d["text"]] for d in report.disputes["messages"]]
    else:
        raise ReportError("没有这张表")
    return head, rows


def csv_bytes(report: Report, name: str) -> bytes:
    """The table as CSV in UTF-8 with a BOM, so Excel reads the Chinese."""
    head, rows = table(report, name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- the daily summary (xiaoer report) ------------------------------------------------------------
def _dur(x: Optional[float]) -> str:
    if x is None:
        return "—"
    s = round(x)
    return f"{s}秒" if s < 60 else (f"{s // 60}分{s % 60}秒" if s < 3600 else f"{s // 3600}小时{s % 3600 // 60}分")


def markdown(report: Report, shop_name: str = "") -> str:
    """The day's summary as markdown, in Chinese, for mail."""
    t = report.totals
    span = report.first.isoformat() + ("" if report.last == report.first else f" 至 {report.last.isoformat()}")
    tm = report.timing
    pc = report.platform_clock
    q = report.queue
    lines = [
        f"# {shop_name}经营日报 {span}".replace("  ", " "),
        "",
        f"- 会话 {t['conversations']} 个，买家消息 {t['buyer_messages']} 条，机器人回复 {t['bot_messages']} 条，"
        f"客服回复 {t['agent_messages']} 条",
        f"- 机器人解决率 {_pct(t['bot_resolution_rate']) or '—'}（{t['bot_resolved']}/{t['conversations']}），"
        f"转人工率 {_pct(t['handoff_rate']) or '—'}",
        f"- 首次响应（中位数）：机器人 {_dur(tm['bot_first_response'].median)}，"
        f"客服 {_dur(tm['agent_first_response'].median)}；"
        f"完整解决：机器人 {_dur(tm['bot_resolution'].median)}，客服 {_dur(tm['agent_resolution'].median)}",
        f"- {report.response_target_seconds}秒内人工回复：{pc['within_target']}/{pc['held']}"
        f"（{_pct(pc['share']) or '—'}）",
        f"- 排队 {q['queued']} 人，等待中位数 {_dur(q['wait'].median)}，p90 {_dur(q['wait'].p90)}，"
        f"等待中离开 {q['left']} 人",
        f"- 询单 {report.funnel['inquiries']} → 下单 {report.funnel['ordered']} → 付款 {report.funnel['paid']}"
        f"（{report.conversion_hours} 小时内，转化率 {_pct(t['conversion']) or '—'}）",
        f"- 维权会话 {report.disputes['conversations']} 个，差评威胁 {report.disputes['bad_review_threats']} 条",
        "",
    ]
    for name in ("handoffs", "agents", "suggestions", "lost", "disputes"):
        head, rows = table(report, name)
        lines += [f"## {TABLES[name]}", ""]
        if not rows:
            lines += ["（无）", ""]
            continue
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for r in rows:
            lines.append("| " + " | ".join(str(v).replace("|", "／").replace("\n", " ") for v in r) + " |")
        lines.append("")
    return "\n".join(lines)


def chart(report: Report, path) -> None:
    """Messages per hour, the intent areas per hour and the funnel, as a PNG (English labels:
    no CJK font is guaranteed where this runs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    english = {"dialogue": "dialogue", "presale": "pre-sale", "orders": "orders", "logistics": "logistics",
               "aftersales": "after-sales", "other": "other"}  # fmt: skip
    hours = list(range(24))
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4), gridspec_kw={"width_ratios": [3, 3, 1.4]})
    for key, color in (("buyer", "#ff5000"), ("bot", "#3b82f6"), ("agent", "#27ae60")):
        ax1.plot(hours, [h[key] for h in report.per_hour], marker="o", ms=3, label=f"{key} messages", color=color)
    ax1.set_xticks(range(0, 24, 2))
    ax1.set_xlabel("hour")
    ax1.set_title("Messages per hour")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    bottom = [0] * 24
    for a in report.areas:
        values = [h[a["area"]] for h in report.area_per_hour]
        ax2.bar(hours, values, bottom=bottom, label=english.get(a["area"], a["area"]))
        bottom = [b + v for b, v in zip(bottom, values)]
    ax2.set_xticks(range(0, 24, 2))
    ax2.set_xlabel("hour")
    ax2.set_title("Intent mix (buyer messages)")
    ax2.legend(fontsize=7)
    f = report.funnel
    ax3.barh(["paid", "ordered", "inquiries"], [f["paid"], f["ordered"], f["inquiries"]], color="#ff5000")
    ax3.set_title(f"Inquiry -> order ({report.conversion_hours} h)")
    t = report.totals
    rate = t["bot_resolution_rate"]
    fig.suptitle(
        f"{report.first.isoformat()}{'' if report.last == report.first else ' to ' + report.last.isoformat()}: "
        f"{t['conversations']} conversations, bot resolution {'-' if rate is None else f'{rate:.0%}'}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
