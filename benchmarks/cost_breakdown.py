"""Where each millisecond of a buyer message goes, under load.

Starts `make run`'s set-up (one Rasa server, one action server, SQLite) on scratch ports,
sends closed-loop console traffic (50 chats at once, the held-back split), and samples the
Rasa server and the action server with py-spy (`--gil`: the interpreter's own work, what one
process can do at a time). Each process's CPU time (from /proc) is divided among the phases
of a message by the share of samples that fall in them, and printed per message. Then one
chat of 50 messages, one at a time: message 1 against message 50.

    .venv/bin/python benchmarks/cost_breakdown.py [--clients 50] [--messages 900]

The README's "Where the time goes" table is this script's output, before and after the
changes of issue 14.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A sample belongs to the innermost phase on its stack: (phase, function names that mark it).
RASA_PHASES: Sequence[Tuple[str, Sequence[str]]] = (
    ("channel: signature and checks", ("signing.py:problem", "read_body", "check_event")),
    ("channel: store the message", ("_store_inbound",)),
    ("channel: store replies (+ tracker)", ("_store_replies",)),
    ("buyer lock and order", ("hold", "wait_for_predecessor", "turn", "LockStore.lock", "LockStore.issue_ticket")),
    ("tracker: load", ("retrieve", "get_or_create_tracker", "_read_window")),
    ("tracker: save", ("save_tracker", "tracker_store.py:save", "TrackerStore.save")),
    ("NLU", ("parse_message",)),
    ("policies", ("_predict_next_with_tracker", "predict_next_with_tracker_if_should")),
    ("action call (payload, HTTP, check)", ("RemoteAction.run",)),
    ("rest of Rasa's turn", ("MessageProcessor.handle_message",)),
    ("HTTP server (Sanic)", ("handle_request", "http1", "connection_task")),
    ("event loop and worker threads", ("serve", "Thread.run")),
)
ACTION_PHASES: Sequence[Tuple[str, Sequence[str]]] = (
    ("action: database queries", ("Session.execute", "Session.get", "Session.flush", "Session.commit", "Query.")),
    ("action: the shop's logic", ("ShopAction.run",)),
    ("action server (rasa_sdk, HTTP, JSON)", ("webhook", "handle_request", "http1")),
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase_shares(stacks_file: Path, phases: Sequence[Tuple[str, Sequence[str]]]) -> Dict[str, float]:
    counts: Counter = Counter()
    for line in stacks_file.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        phase = "other"
        for frame in reversed(frames):  # innermost first
            name = frame.split(" (")[0]
            where = frame.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] if " (" in frame else ""
            match = next((p for p, marks in phases if any(m in name or m == f"{where}:{name}" for m in marks)), None)
            if match:
                phase = match
                break
        counts[phase] += int(n)
    total = sum(counts.values()) or 1
    return {phase: counts[phase] / total for phase in [p for p, _ in phases] + ["other"]}


async def closed_loop(url: str, secret: str, texts: List[str], clients: int) -> float:
    from bot import signing

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def chat(n: int) -> None:
            for i, text in enumerate(texts[n::clients]):
                if i % 6 == 0:
                    buyer = f"cost-{n}-{uuid.uuid4().hex[:6]}"
                body = json.dumps(
                    {"message_id": uuid.uuid4().hex, "shop_id": "qingshan", "buyer_id": buyer, "type": "text",
                     "text": text}, ensure_ascii=False,
                ).encode()  # fmt: skip
                async with http.post(url, data=body, headers=signing.signed_headers(secret, body)) as resp:
                    await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(chat(n) for n in range(clients)))
        return time.perf_counter() - started


async def one_long_chat(url: str, secret: str, length: int = 50, chats: int = 3) -> Tuple[float, float]:
    """Median reply time of messages 1–5 and of messages length-4..length, over a few chats."""
    from bot import signing

    questions = ["包邮吗", "今天能发货吗", "有赠品吗", "发什么快递", "能开发票吗", "几天能到", "七天无理由吗"]
    first, last = [], []
    async with aiohttp.ClientSession() as http:
        for _ in range(chats):
            buyer = f"long-{uuid.uuid4().hex[:6]}"
            for i in range(length):
                body = json.dumps(
                    {"message_id": uuid.uuid4().hex, "shop_id": "qingshan", "buyer_id": buyer, "type": "text",
                     "text": questions[i % len(questions)]}, ensure_ascii=False,
                ).encode()  # fmt: skip
                started = time.perf_counter()
                async with http.post(url, data=body, headers=signing.signed_headers(secret, body)) as resp:
                    await resp.read()
                took = (time.perf_counter() - started) * 1000
                if i < 5:
                    first.append(took)
                elif i >= length - 5:
                    last.append(took)
    return statistics.median(first), statistics.median(last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=900)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="xiaoer-cost-"))
    os.environ["XIAOER_DB_URL"] = f"sqlite:///{scratch / 'cost.db'}"
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    from benchmarks.peak_load import free_port
    from bot.nlu.evaluation import load_holdout
    from bot.nlu.training import ensure_model
    from bot.seed import reset_and_seed
    from bot.servers import Ports, Servers

    texts = [e.text for e in load_holdout()]
    texts = (texts * (args.messages // len(texts) + 1))[: args.messages]
    reset_and_seed()
    servers = Servers(
        model=ensure_model(),
        ports=Ports(free_port(), free_port(), free_port()),
        db_url=os.environ["XIAOER_DB_URL"],
        log_dir=scratch / "logs",
    )
    servers.start()
    url = servers.urls["rasa"] + "/webhooks/console/webhook"
    secret = servers.env["XIAOER_WEBHOOK_SECRET"]
    py_spy = Path(sys.executable).parent / "py-spy"
    try:
        spies = {
            name: subprocess.Popen(
                [
                    str(py_spy),
                    "record",
                    "--gil",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "-r",
                    "250",
                    "-p",
                    str(servers.procs[name].pid),
                    "-o",
                    str(scratch / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for name in ("rasa", "actions")
        }
        time.sleep(1)
        before = {name: cpu_seconds(servers.procs[name].pid) for name in spies}
        wall = asyncio.run(closed_loop(url, secret, texts, args.clients))
        used = {name: cpu_seconds(servers.procs[name].pid) - before[name] for name in spies}
        for spy in spies.values():
            spy.send_signal(2)
            spy.wait(60)
        first, last = asyncio.run(one_long_chat(url, secret))
    finally:
        servers.stop()

    n = len(texts)
    print(f"{n} messages, {args.clients} chats at once: {n / wall:.1f} msg/s\n")
    print("| phase | CPU ms per message | share of the process |")
    print("|---|---|---|")
    for name, phases in (("rasa", RASA_PHASES), ("actions", ACTION_PHASES)):
        per_message = used[name] * 1000 / n
        shares = phase_shares(scratch / f"{name}.txt", phases)
        label = "Rasa server" if name == "rasa" else "action server"
        print(f"| **{label}, all** | **{per_message:.1f}** | |")
        for phase, share in shares.items():
            if share >= 0.005:
                print(f"| {phase} | {per_message * share:.1f} | {share:.0%} |")
    print(f"\none chat, one message at a time: message 1–5 {first:.0f} ms, message 46–50 {last:.0f} ms "
          f"({(last / first - 1):+.0%})")  # fmt: skip


if __name__ == "__main__":
    main()
