"""Double 11 load: the shop bot beside a stock Rasa 3.6 bot, in one run, on this machine.

The baseline is a stock Rasa bot as a shop would start one: a moodbot-sized assistant on Rasa's
default pipeline with JiebaTokenizer (DIET, TED), answering from canned responses. It is
built and trained here in a scratch folder. Both bots get the same buyer messages (the
held-back split) through Rasa's REST webhook in C chats at once, each buyer waiting for the
answer before the next message and leaving after six, as in a chat. The shop bot then takes the same load
through the signed console channel, and the database is checked: every message stored, and
each answered by the bot or handed to the agents' queue.

    .venv/bin/python benchmarks/peak_load.py [--clients 1,10,50] [--messages 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_baseline(folder: Path) -> Path:
    """Writes and trains the stock bot; returns its model file."""
    (folder / "data").mkdir(parents=True)
    (folder / "config.yml").write_text(BASELINE_CONFIG, encoding="utf-8")
    (folder / "domain.yml").write_text(BASELINE_DOMAIN, encoding="utf-8")
    (folder / "data" / "stories.yml").write_text(BASELINE_STORIES, encoding="utf-8")
    nlu = ['version: "3.1"', "nlu:"]
    for intent, examples in BASELINE_NLU.items():
        nlu += [f"- intent: {intent}", "  examples: |"] + [f"    - {e}" for e in examples.split()]
    (folder / "data" / "nlu.yml").write_text("\n".join(nlu) + "\n", encoding="utf-8")
    (folder / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    from bot.nlu.training import rasa_bin

    started = time.monotonic()
    subprocess.run(
        [rasa_bin(), "train", "--out", "models", "--fixed-model-name", "baseline"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"  baseline trained in {time.monotonic() - started:.0f}s")
    return folder / "models" / "baseline.tar.gz"


def start_baseline(folder: Path, model: Path, port: int) -> subprocess.Popen:
    from bot.nlu.training import rasa_bin

    log = open(folder / "rasa.log", "w")
    proc = subprocess.Popen(
        [
            rasa_bin(),
            "run",
            "--enable-api",
            "-i",
            "127.0.0.1",
            "--port",
            str(port),
            "--model",
            str(model),
            "--credentials",
            "credentials.yml",
        ],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    import requests

    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/status", timeout=2).ok:
                return proc
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the baseline did not start; see {folder / 'rasa.log'}")


CHAT_LENGTH = 6  # messages per buyer: the rush is many short chats


async def load(send, texts: List[str], clients: int) -> Dict[str, float]:
    """`clients` chats at once share `texts`; in each, a buyer waits for the answer before
    the next message, and after CHAT_LENGTH messages a new buyer takes the place."""
    latencies: List[float] = []
    failures = 0

    async def buyer(n: int) -> None:
        nonlocal failures
        for i, text in enumerate(texts[n::clients]):
            if i % CHAT_LENGTH == 0:
                sender = f"bench-{n}-{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            try:
                ok = await send(sender, text)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok = False
            latencies.append(time.perf_counter() - started)
            failures += not ok

    started = time.perf_counter()
    await asyncio.gather(*(buyer(n) for n in range(clients)))
    wall = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    return {
        "per_second": len(ms) / wall,
        "p50": statistics.median(ms),
        "p95": ms[int(len(ms) * 0.95) - 1],
        "p99": ms[int(len(ms) * 0.99) - 1],
        "failures": failures,
    }


def rest_sender(http: aiohttp.ClientSession, base: str):
    async def send(sender: str, text: str) -> bool:
        async with http.post(base + "/webhooks/rest/webhook", json={"sender": sender, "message": text}) as resp:
            await resp.read()
            return resp.status == 200

    return send


def console_sender(http: aiohttp.ClientSession, base: str, secret: str, sent: List[Tuple[str, str]]):
    from bot import signing

    async def send(sender: str, text: str) -> bool:
        message_id = str(uuid.uuid4())
        sent.append((sender, message_id))
        body = json.dumps(
            {"message_id": message_id, "shop_id": "qingshan", "buyer_id": sender, "type": "text", "text": text},
            ensure_ascii=False,
        ).encode()
        headers = signing.signed_headers(secret, body)
        async with http.post(base + "/webhooks/console/webhook", data=body, headers=headers) as resp:
            return resp.status == 200

    return send


def check_database(sent: List[Tuple[str, str]]) -> str:
    """Every message sent through the console is stored, and answered or handed off."""
    from sqlalchemy import select

    from bot.store.db import session_scope
    from bot.store.models import Message

    with session_scope() as s:
        stored = {
            m.message_id: m
            for m in s.execute(select(Message).where(Message.message_id.in_([mid for _, mid in sent]))).scalars()
        }
        missing = sum(mid not in stored for _, mid in sent)
        unanswered = sum(1 for m in stored.values() if m.answered_at is None and m.conversation.handled_by == "bot")
        handed_off = sum(1 for m in stored.values() if m.conversation.handled_by != "bot")
    return (
        f"{len(stored)}/{len(sent)} stored, {missing} missing, {unanswered} unanswered, "
        f"{handed_off} in conversations handed to agents"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]

    scratch = Path(tempfile.mkdtemp(prefix="xiaoer-peak-"))
    os.environ["XIAOER_DB_URL"] = f"sqlite:///{scratch / 'peak.db'}"
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    from bot.nlu.evaluation import load_holdout
    from bot.nlu.training import ensure_model
    from bot.seed import reset_and_seed
    from bot.servers import Ports, Servers

    texts = [e.text for e in load_holdout()]
    texts = (texts * (args.messages // len(texts) + 1))[: args.messages]
    print(f"{args.messages} buyer messages (the held-back split) per run; 2 cores")
    reset_and_seed()
    baseline_dir = scratch / "baseline"
    baseline_model = build_baseline(baseline_dir)
    shop = Servers(
        model=ensure_model(),
        ports=Ports(free_port(), free_port(), free_port()),
        db_url=os.environ["XIAOER_DB_URL"],
        log_dir=scratch / "logs",
    )
    baseline_port = free_port()
    results: Dict[str, Dict[int, Dict[str, float]]] = {
        "stock Rasa (REST)": {},
        "xiaoer (REST)": {},
        "xiaoer (console channel)": {},
    }
    sent: List[Tuple[str, str]] = []
    baseline = start_baseline(baseline_dir, baseline_model, baseline_port)
    shop.start()
    try:

        async def run_all() -> None:
            timeout = aiohttp.ClientTimeout(total=120)
            async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
                senders = {
                    "stock Rasa (REST)": rest_sender(http, f"http://127.0.0.1:{baseline_port}"),
                    "xiaoer (REST)": rest_sender(http, shop.urls["rasa"]),
                    "xiaoer (console channel)": console_sender(
                        http, shop.urls["rasa"], shop.env["XIAOER_WEBHOOK_SECRET"], sent
                    ),
                }
                for clients in levels:
                    for name, send in senders.items():  # side by side at each load level
                        results[name][clients] = await load(send, texts, clients)
                        r = results[name][clients]
                        print(
                            f"  {name:26} {clients:3} buyers: {r['per_second']:5.1f} msg/s  p50 {r['p50']:6.0f} ms  "
                            f"p95 {r['p95']:6.0f} ms  p99 {r['p99']:6.0f} ms  failures {r['failures']:.0f}",
                            flush=True,
                        )

        asyncio.run(run_all())
    finally:
        shop.stop()
        os.killpg(baseline.pid, 15)
    print("console channel, after the runs:", check_database(sent))


if __name__ == "__main__":
    main()
