"""Double 11 load: the shop bot beside a stock Rasa 3.6 bot, in one run, on this machine.

Three set-ups take the same buyer messages (the held-back split), side by side at each load:

- **stock Rasa 3.6** — a moodbot-sized assistant on Rasa's default pipeline with
  JiebaTokenizer (DIET, TED), answering from canned responses through Rasa's REST webhook,
  as a shop would start one (trained here once, cached under var/benchmarks);
- **xiaoer, one process** — `make run`'s set-up: SQLite, one Rasa server, one action server;
- **xiaoer, N replicas** — `xiaoer run --replicas N`: N Rasa servers, each with an action
  server, behind nginx, on PostgreSQL and Redis (bot/scale.py).

Both xiaoer set-ups take the signed console channel, which stores every message, orders and
deduplicates them. Two kinds of load:

- **closed loop** (`--clients`): C chats at once; in each, the buyer waits for the answer
  before the next message and leaves after six, when a new buyer takes the place;
- **open loop** (`--rates`): messages arrive at a fixed rate, as at midnight, whether or not
  earlier ones are answered; each buyer writes every ten seconds or so.

After each xiaoer run the database is checked: every message stored, answered or handed to
the agents, and read by Rasa exactly once (one user event per message id). Results are
printed, written to reports/peak_load.md and drawn in reports/peak_load.png.

    .venv/bin/python benchmarks/peak_load.py [--clients 1,10,50,200,500] [--messages 600]
        [--rates 50,100,200] [--seconds 20] [--replicas 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Optional

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE_CONFIG = """
recipe: default.v1
language: zh
assistant_id: baseline
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
  - name: FallbackClassifier
    threshold: 0.3
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
  - name: TEDPolicy
    max_history: 5
    epochs: 100
"""

# moodbot's intents in Chinese, about ten examples each.
BASELINE_NLU = {
    "greet": "你好 在吗 亲 哈喽 早上好 晚上好 在不在 有人吗 嗨 您好",
    "goodbye": "拜拜 再见 先这样 走了 回头聊 下次见 88 晚安 告辞 就这样吧",
    "affirm": "好的 是的 可以 嗯嗯 对 行 没问题 好 确实 当然",
    "deny": "不是 不要 算了 不用了 没有 不行 不对 别 不需要 否",
    "mood_great": "很开心 心情不错 挺好的 太棒了 超级好 今天很顺 高兴 感觉很好 不错哦 爽",
    "mood_unhappy": "不开心 难过 心情很差 烦死了 好累 郁闷 伤心 糟透了 不太好 哭了",
    "bot_challenge": "你是机器人吗 你是人吗 真人吗 机器人 是不是自动回复 你是AI吗 人工智能吗 你是谁 是程序吗 "
    "机器回复吗",
}
BASELINE_DOMAIN = """
version: "3.1"
intents: [greet, goodbye, affirm, deny, mood_great, mood_unhappy, bot_challenge]
responses:
  utter_greet: [{text: "你好！今天心情怎么样？"}]
  utter_cheer_up: [{text: "给你看个开心的：https://i.imgur.com/nGF1K8f.jpg"}]
  utter_did_that_help: [{text: "有帮到你吗？"}]
  utter_happy: [{text: "太好了，继续加油！"}]
  utter_goodbye: [{text: "再见"}]
  utter_iamabot: [{text: "我是机器人，由 Rasa 驱动。"}]
session_config: {session_expiration_time: 60, carry_over_slots_to_new_session: true}
"""
BASELINE_STORIES = """
version: "3.1"
stories:
- story: happy path
  steps: [{intent: greet}, {action: utter_greet}, {intent: mood_great}, {action: utter_happy}]
- story: sad path 1
  steps: [{intent: greet}, {action: utter_greet}, {intent: mood_unhappy}, {action: utter_cheer_up},
          {action: utter_did_that_help}, {intent: affirm}, {action: utter_happy}]
- story: sad path 2
  steps: [{intent: greet}, {action: utter_greet}, {intent: mood_unhappy}, {action: utter_cheer_up},
          {action: utter_did_that_help}, {intent: deny}, {action: utter_goodbye}]
rules:
- rule: goodbye
  steps: [{intent: goodbye}, {action: utter_goodbye}]
- rule: bot challenge
  steps: [{intent: bot_challenge}, {action: utter_iamabot}]
"""

CHAT_LENGTH = 6  # messages per buyer in the closed loop: the rush is many short chats
SECONDS_BETWEEN_MESSAGES = 10  # a buyer's pace in the open loop
STOCK, SINGLE = "stock Rasa 3.6 (REST)", "xiaoer, one process (console)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the stock bot ------------------------------------------------------------------------------
def build_baseline() -> Path:
    """Writes and trains the stock bot once (cached by its files); returns its folder."""
    from bot import settings
    from bot.nlu.training import rasa_bin

    files = {"config.yml": BASELINE_CONFIG, "domain.yml": BASELINE_DOMAIN, "data/stories.yml": BASELINE_STORIES}
    nlu = ['version: "3.1"', "nlu:"]
    for intent, examples in BASELINE_NLU.items():
        nlu += [f"- intent: {intent}", "  examples: |"] + [f"    - {e}" for e in examples.split()]
    files["data/nlu.yml"] = "\n".join(nlu) + "\n"
    files["credentials.yml"] = "rest:\n"
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:12]
    folder = settings.VAR_DIR / "benchmarks" / f"baseline-{digest}"
    if (folder / "models" / "baseline.tar.gz").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    started = time.monotonic()
    subprocess.run(
        [rasa_bin(), "train", "--out", "models", "--fixed-model-name", "baseline"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    print(f"  stock bot trained in {time.monotonic() - started:.0f}s", flush=True)
    return folder


def start_baseline(folder: Path, port: int) -> subprocess.Popen:
    from bot.nlu.training import rasa_bin

    log = open(folder / "rasa.log", "w")
    proc = subprocess.Popen(
        [rasa_bin(), "run", "--enable-api", "-i", "127.0.0.1", "--port", str(port), "--model",
         "models/baseline.tar.gz", "--credentials", "credentials.yml"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )  # fmt: skip
    import requests

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/status", timeout=2).ok:
                return proc
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the stock bot did not start; see {folder / 'rasa.log'}")


# --- senders -------------------------------------------------------------------------------------
Send = Callable[[str, str], Awaitable[bool]]


def rest_sender(http: aiohttp.ClientSession, base: str) -> Send:
    async def send(sender: str, text: str) -> bool:
        async with http.post(base + "/webhooks/rest/webhook", json={"sender": sender, "message": text}) as resp:
            await resp.read()
            return resp.status == 200

    return send


def console_sender(http: aiohttp.ClientSession, base: str, secret: str, sent: List[str]) -> Send:
    from bot import signing

    async def send(sender: str, text: str) -> bool:
        message_id = uuid.uuid4().hex
        sent.append(message_id)
        body = json.dumps(
            {"message_id": message_id, "shop_id": "qingshan", "buyer_id": sender, "type": "text", "text": text},
            ensure_ascii=False,
        ).encode()
        async with http.post(
            base + "/webhooks/console/webhook", data=body, headers=signing.signed_headers(secret, body)
        ) as resp:
            await resp.read()
            return resp.status == 200

    return send


# --- loads ---------------------------------------------------------------------------------------
@dataclass
class Result:
    per_second: float
    latencies_ms: List[float]
    failures: int
    check: str = ""
    # CPU the whole machine spent per message (every process: servers, databases, nginx and
    # this load generator), and this load generator's own share of it.
    machine_cpu_ms: float = float("nan")
    generator_cpu_ms: float = float("nan")

    def percentile(self, p: float) -> float:
        ms = sorted(self.latencies_ms)
        return ms[min(len(ms) - 1, int(len(ms) * p))] if ms else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


async def _timed(send: Send, sender: str, text: str, since: float, latencies: List[float]) -> bool:
    try:
        ok = await send(sender, text)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        ok = False
    latencies.append((time.perf_counter() - since) * 1000)
    return ok


async def closed_loop(send: Send, texts: List[str], clients: int) -> Result:
    """`clients` chats at once share `texts`; each buyer waits for the answer before the next."""
    latencies: List[float] = []
    failures = 0
    run = uuid.uuid4().hex[:6]

    async def chat(n: int) -> None:
        nonlocal failures
        for i, text in enumerate(texts[n::clients]):
            if i % CHAT_LENGTH == 0:
                sender = f"bench-{run}-{n}-{i // CHAT_LENGTH}"
            failures += not await _timed(send, sender, text, time.perf_counter(), latencies)

    started = time.perf_counter()
    await asyncio.gather(*(chat(n) for n in range(clients)))
    return Result(len(latencies) / (time.perf_counter() - started), latencies, failures)


async def open_loop(send: Send, texts: List[str], rate: float, seconds: float) -> Result:
    """Messages arrive `rate` per second for `seconds`, answered or not; latency counts from
    the arrival. A buyer's messages are SECONDS_BETWEEN_MESSAGES apart."""
    latencies: List[float] = []
    total = int(rate * seconds)
    buyers = max(1, int(rate * SECONDS_BETWEEN_MESSAGES))
    run = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    tasks = []
    for i in range(total):
        arrival = started + i / rate
        await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
        buyer, text = f"open-{run}-{i % buyers}", texts[i % len(texts)]
        tasks.append(asyncio.create_task(_timed(send, buyer, text, arrival, latencies)))
    outcomes = await asyncio.gather(*tasks)
    return Result(total / (time.perf_counter() - started), latencies, sum(not ok for ok in outcomes))


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def measured(load: Awaitable[Result]) -> Result:
    """Runs a load and records what the machine and the load generator spent per message."""
    machine, own = machine_busy_seconds(), time.process_time()
    result = await load
    count = max(1, len(result.latencies_ms))
    result.machine_cpu_ms = (machine_busy_seconds() - machine) * 1000 / count
    result.generator_cpu_ms = (time.process_time() - own) * 1000 / count
    return result


# --- the database check ----------------------------------------------------------------------------
def check_database(db_url: str, sent: List[str]) -> str:
    """Every message sent through the console: stored, answered or handed off, read once by Rasa."""
    import sqlalchemy as sa

    from bot.store.db import engine
    from bot.store.models import Conversation, Message

    messages = Message.__table__
    conversations = Conversation.__table__
    wanted = set(sent)
    stored, unanswered, with_agents = 0, 0, 0
    reads: Dict[str, int] = {}
    with engine(db_url).connect() as connection:
        for chunk in range(0, len(sent), 500):
            ids = sent[chunk : chunk + 500]
            rows = connection.execute(
                sa.select(messages.c.answered_at, conversations.c.handled_by)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(messages.c.message_id.in_(ids), messages.c.direction == "in")
            ).all()
            stored += len(rows)
            unanswered += sum(1 for r in rows if r.answered_at is None)
            with_agents += sum(1 for r in rows if r.handled_by != "bot")
        # Rasa's user events carry the message id in their JSON data.
        for (data,) in connection.execute(sa.text("SELECT data FROM events WHERE type_name = 'user'")):
            message_id = json.loads(data).get("message_id")
            if message_id in wanted:
                reads[message_id] = reads.get(message_id, 0) + 1
    twice = sum(1 for n in reads.values() if n > 1)
    never = len(wanted) - len(reads)
    return (
        f"{stored}/{len(sent)} stored, {unanswered} unanswered, {with_agents} with the agents, "
        f"read by Rasa: {len(reads) - twice} once, {twice} twice, {never} never"
    )


# --- the set-ups -------------------------------------------------------------------------------------
@dataclass
class Setup:
    name: str
    send: Optional[Send] = None
    db_url: Optional[str] = None
    sent: List[str] = field(default_factory=list)
    closed: Dict[int, Result] = field(default_factory=dict)
    opened: Dict[float, Result] = field(default_factory=dict)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,50,200,500", help="closed loop: chats at once")
    parser.add_argument("--messages", type=int, default=600, help="messages per closed-loop run")
    parser.add_argument("--rates", default="50,100,200", help="open loop: messages per second ('' for none)")
    parser.add_argument("--seconds", type=float, default=20, help="length of each open-loop run")
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",") if c]
    rates = [float(r) for r in args.rates.split(",") if r]

    scratch = Path(tempfile.mkdtemp(prefix="xiaoer-peak-"))
    scratch.chmod(0o755)  # PostgreSQL's own user keeps its data in here
    os.environ["XIAOER_DB_URL"] = f"sqlite:///{scratch / 'peak.db'}"
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    from bot import scale
    from bot.nlu.evaluation import load_holdout
    from bot.nlu.training import ensure_model
    from bot.seed import reset_and_seed
    from bot.servers import Ports, Servers

    texts = [e.text for e in load_holdout()]
    texts = (texts * (args.messages // len(texts) + 1))[: args.messages]
    cores = os.cpu_count()
    print(f"{args.messages} buyer messages (the held-back split) per closed-loop run; {cores} cores", flush=True)
    model = ensure_model()
    baseline = build_baseline()

    reset_and_seed()
    single = Servers(
        model=model,
        ports=Ports(free_port(), free_port(), free_port()),
        db_url=os.environ["XIAOER_DB_URL"],
        log_dir=scratch / "single" / "logs",
    )
    backing = scale.Backing(scratch / "backing", free_port(), free_port()).start()
    replicated = Servers(
        model=model,
        ports=Ports(free_port(), free_port(), free_port()),
        db_url=backing.env["XIAOER_DB_URL"],
        log_dir=scratch / "replicas" / "logs",
        replicas=args.replicas,
        redis_url=backing.env["XIAOER_REDIS_URL"],
        replica_ports=[(free_port(), free_port()) for _ in range(args.replicas)],
    )
    reset_and_seed(backing.env["XIAOER_DB_URL"])
    stock_port = free_port()
    stock = start_baseline(baseline, stock_port)
    replicas_name = f"xiaoer, {args.replicas} replicas (console)"
    setups = {
        STOCK: Setup(STOCK),
        SINGLE: Setup(SINGLE, db_url=os.environ["XIAOER_DB_URL"]),
        replicas_name: Setup(replicas_name, db_url=backing.env["XIAOER_DB_URL"]),
    }
    try:
        single.start()
        replicated.start()

        async def run_all() -> None:
            timeout = aiohttp.ClientTimeout(total=300)
            async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
                setups[STOCK].send = rest_sender(http, f"http://127.0.0.1:{stock_port}")
                for setup, servers in ((setups[SINGLE], single), (setups[replicas_name], replicated)):
                    secret = servers.env["XIAOER_WEBHOOK_SECRET"]
                    setup.send = console_sender(http, servers.urls["rasa"], secret, setup.sent)
                for clients in levels:
                    for setup in setups.values():  # side by side at each load
                        setup.sent.clear()
                        result = setup.closed[clients] = await measured(closed_loop(setup.send, texts, clients))
                        if setup.db_url:
                            result.check = check_database(setup.db_url, setup.sent)
                        _print(setup.name, f"{clients:3} chats", result)
                for rate in rates:
                    for setup in setups.values():
                        setup.sent.clear()
                        result = setup.opened[rate] = await measured(open_loop(setup.send, texts, rate, args.seconds))
                        if setup.db_url:
                            result.check = check_database(setup.db_url, setup.sent)
                        _print(setup.name, f"{rate:3.0f} msg/s arriving", result)

        asyncio.run(run_all())
    finally:
        single.stop()
        replicated.stop()
        backing.stop()
        os.killpg(stock.pid, 15)
    report(list(setups.values()), levels, rates, args)


def _print(name: str, load: str, r: Result) -> None:
    print(
        f"  {name:32} {load:18} {r.per_second:6.1f} msg/s  p50 {r.p50:6.0f} ms  p99 {r.p99:6.0f} ms  "
        f"failures {r.failures}  CPU/msg {r.machine_cpu_ms:.1f} ms (generator {r.generator_cpu_ms:.1f})"
        + (f"\n  {'':32} {r.check}" if r.check else ""),
        flush=True,
    )


def report(setups: List[Setup], levels: List[int], rates: List[float], args: argparse.Namespace) -> None:
    """The table (printed and in reports/peak_load.md) and the chart (reports/peak_load.png)."""
    stock = setups[0]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on this machine ({os.cpu_count()} cores), one run: "
        f"`benchmarks/peak_load.py --clients {args.clients} --messages {args.messages} --rates {args.rates} "
        f"--seconds {args.seconds:g} --replicas {args.replicas}`.",
        "",
        "Closed loop (each buyer waits for the answer before the next message):",
        "",
        "| chats at once | " + " | ".join(s.name for s in setups) + " |",
        "|---|" + "---|" * len(setups),
    ]
    for clients in levels:
        cells = []
        for s in setups:
            r = s.closed[clients]
            times = f" (**{r.per_second / stock.closed[clients].per_second:.1f}×**)" if s is not stock else ""
            cells.append(f"{r.per_second:.1f} msg/s{times}, p99 {_ms(r.p99)}")
        lines.append(f"| {clients} | " + " | ".join(cells) + " |")
    if rates:
        lines += ["", "Open loop (messages arrive at a fixed rate, answered or not):", ""]
        lines += ["| arriving | " + " | ".join(s.name for s in setups) + " |", "|---|" + "---|" * len(setups)]
        for rate in rates:
            cells = [
                f"{s.opened[rate].per_second:.1f} msg/s, p50 {_ms(s.opened[rate].p50)}, p99 {_ms(s.opened[rate].p99)}"
                + (f", {s.opened[rate].failures} failed" if s.opened[rate].failures else "")
                for s in setups
            ]
            lines.append(f"| {rate:.0f} msg/s | " + " | ".join(cells) + " |")
    lines += ["", "What the whole machine spent per message (CPU of every process, the load generator included):", ""]
    lines += ["| chats at once | " + " | ".join(s.name for s in setups) + " | 3× the stock bot needs at most |"]
    lines += ["|---|" + "---|" * (len(setups) + 1)]
    cores = os.cpu_count() or 1
    for clients in levels:
        cells = [
            f"{s.closed[clients].machine_cpu_ms:.1f} ms (generator {s.closed[clients].generator_cpu_ms:.1f})"
            for s in setups
        ]
        # all cores busy, three times the stock bot's rate: the CPU time one message may take
        budget = cores * 1000 / (3 * stock.closed[clients].per_second)
        lines.append(f"| {clients} | " + " | ".join(cells) + f" | {budget:.1f} ms |")
    lines += ["", "Database after each console run (every message stored, answered, read once):", ""]
    for s in setups[1:]:
        runs = [(f"{c} chats", r) for c, r in s.closed.items()] + [(f"{q:g} msg/s", r) for q, r in s.opened.items()]
        for load, r in runs:
            lines.append(f"- {s.name}, {load}: {r.check}")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    (out / "peak_load.md").write_text("# Double 11 load (benchmarks/peak_load.py)\n\n" + text, encoding="utf-8")
    chart(setups, levels, out / "peak_load.png")
    print(f"written: {out / 'peak_load.md'}, {out / 'peak_load.png'}")


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def chart(setups: List[Setup], levels: List[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for s in setups:
        left.plot(levels, [s.closed[c].per_second for c in levels], marker="o", label=s.name)
        right.plot(levels, [s.closed[c].p99 / 1000 for c in levels], marker="o", label=s.name)
    for ax, title, unit in ((left, "throughput", "messages / s"), (right, "p99 reply time", "seconds")):
        ax.set_xscale("log")
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.set_xlabel("chats at once (closed loop)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    right.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    left.legend(fontsize=8)
    fig.suptitle(f"Double 11 load on {os.cpu_count()} cores (benchmarks/peak_load.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
