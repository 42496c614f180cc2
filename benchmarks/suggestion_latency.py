"""How long from a buyer's message to the suggested replies on the agent's workbench.

Starts the real servers (the trained model, a scratch copy of the demo database), logs an
agent in over HTTP, opens the workbench websocket, hands a buyer over, then sends buyer
messages through the signed console channel and times each until its suggestions arrive.

    .venv/bin/python benchmarks/suggestion_latency.py [messages]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

QUESTIONS = ["包邮吗", "今天能发货吗", "能便宜点吗", "有赠品吗", "发什么快递", "七天无理由吗", "L码还有吗", "怎么付款"]


async def measure(servers, count: int) -> list:
    from bot import signing

    console, rasa = servers.urls["console"], servers.urls["rasa"]
    buyer = "bench_" + uuid.uuid4().hex[:8]

    # unsafe=True: keep cookies from an IP address (the servers are on 127.0.0.1)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

        async def buyer_says(text: str) -> None:
            body = json.dumps(
                {
                    "message_id": str(uuid.uuid4()),
                    "shop_id": "qingshan",
                    "buyer_id": buyer,
                    "type": "text",
                    "text": text,
                },
                ensure_ascii=False,
            ).encode()
            headers = signing.signed_headers(servers.env["XIAOER_WEBHOOK_SECRET"], body)
            async with http.post(rasa + "/webhooks/console/webhook", data=body, headers=headers) as resp:
                assert resp.status == 200, await resp.text()

        async with http.post(console + "/api/login", json={"login": "xiaomei", "password": "xiaoer123"}) as resp:
            assert resp.status == 200
        async with http.ws_connect(console.replace("http", "ws") + "/ws") as ws:
            await ws.send_json({"type": "status", "status": "online"})
            await buyer_says("转人工")
            await _next(ws, "buyer_message")
            timings = []
            for i in range(count):
                started = time.perf_counter()
                await buyer_says(QUESTIONS[i % len(QUESTIONS)])
                pushed = await _next(ws, "buyer_message")
                timings.append((time.perf_counter() - started) * 1000)
                assert pushed["suggestions"], pushed
            return timings


async def _next(ws, kind: str) -> dict:
    while True:
        data = await asyncio.wait_for(ws.receive_json(), 30)
        if data.get("type") == kind:
            return data


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    scratch = Path(tempfile.mkdtemp(prefix="xiaoer-bench-"))
    os.environ["XIAOER_DB_URL"] = f"sqlite:///{scratch / 'bench.db'}"
    from bot.nlu.training import ensure_model
    from bot.seed import reset_and_seed
    from bot.servers import Ports, Servers

    reset_and_seed()
    servers = Servers(
        model=ensure_model(),
        ports=Ports(25005, 25055, 28000),
        db_url=os.environ["XIAOER_DB_URL"],
        log_dir=scratch / "logs",
    )
    servers.start()
    try:
        timings = asyncio.run(measure(servers, count))
    finally:
        servers.stop()
    timings.sort()
    print(f"buyer message → suggestions on the workbench, {len(timings)} messages:")
    print(
        f"  p50 {statistics.median(timings):.0f} ms   p95 {timings[int(len(timings) * 0.95) - 1]:.0f} ms   "
        f"max {timings[-1]:.0f} ms   (goal: 300 ms)"
    )


if __name__ == "__main__":
    main()
