"""Scale-out: two Rasa replicas (each with an action server) behind nginx, on PostgreSQL and
Redis started from Debian's packages on loopback (bot/scale.py) — and one replica killed.

Buyers chat through the signed console channel at a steady pace; halfway, one replica is
killed with SIGKILL. The console's behaviour is modelled: a request that fails is sent again
with the same message id. Afterwards the database must show every message stored and
answered exactly once (one Rasa reading per message, one set of replies), each buyer's
replies in the buyer's order, and a buyer who was halfway through the size form carrying on
at the same step on the other replica.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot import scale, signing
from bot.seed import reset_and_seed
from bot.servers import Ports, Servers
from bot.store.db import engine
from bot.store.models import Conversation, Message
from tests.clock import TEST_NOW
from tests.helpers import console_event, renderings

pytestmark = pytest.mark.servers

CHAT = ["在吗", "包邮吗", "今天能发货吗", "发什么快递", "有赠品吗", "能开发票吗", "七天无理由吗", "好的谢谢"]
BUYERS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def replicated(model):
    folder = Path(tempfile.mkdtemp(prefix="xiaoer-scale-"))
    folder.chmod(0o755)  # PostgreSQL's own user keeps its data in here
    backing = scale.Backing(folder / "backing", _free_port(), _free_port()).start()
    try:
        reset_and_seed(backing.env["XIAOER_DB_URL"], now=datetime.fromisoformat(TEST_NOW))
        servers = Servers(
            model=model,
            ports=Ports(_free_port(), _free_port(), _free_port()),
            db_url=backing.env["XIAOER_DB_URL"],
            log_dir=folder / "logs",
            extra_env={"XIAOER_NOW": TEST_NOW},
            replicas=2,
            redis_url=backing.env["XIAOER_REDIS_URL"],
            replica_ports=[(_free_port(), _free_port()), (_free_port(), _free_port())],
        )
        servers.start(timeout=300)
        try:
            yield servers
        finally:
            servers.stop()
    finally:
        backing.stop()


def _send(servers: Servers, event: dict) -> dict:
    """As a console does: the same event again (same message id) until it is answered.
    Returns the answer, with the replica that gave it under "replica"."""
    body = json.dumps(event, ensure_ascii=False).encode()
    for _ in range(10):
        headers = signing.signed_headers(servers.env["XIAOER_WEBHOOK_SECRET"], body)
        try:
            resp = requests.post(
                servers.urls["rasa"] + "/webhooks/console/webhook", data=body, headers=headers, timeout=60
            )
            if resp.status_code == 200:
                return {**resp.json(), "replica": resp.headers["X-Xiaoer-Replica"]}
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"message {event['message_id']} never answered")


def test_a_replica_killed_mid_conversation_loses_and_repeats_nothing(replicated):
    servers = replicated
    sent = defaultdict(list)  # buyer -> message ids in the buyer's order
    answers = {}
    half_done = threading.Barrier(BUYERS + 2)  # the buyers, the form buyer and the killer

    def chat(buyer: str) -> None:
        for seq, text in enumerate(CHAT, 1):
            if seq == len(CHAT) // 2 + 1:
                half_done.wait(60)
            event = console_event(buyer, text, seq=seq)
            sent[buyer].append(event["message_id"])
            answers[event["message_id"]] = _send(servers, event)
            time.sleep(0.05)

    form_buyer, form_replies = f"form-{os.getpid()}", []

    def size_form() -> None:
        for step, text in enumerate(["这件穿多大码合适", "一米七五", "140斤"]):
            if step == 1:
                half_done.wait(60)
                time.sleep(1.5)  # after the kill: the second answer comes from the other replica
            event = console_event(form_buyer, text, seq=step + 1)
            sent[form_buyer].append(event["message_id"])
            answers[event["message_id"]] = _send(servers, event)
            form_replies.append(answers[event["message_id"]]["replies"][0]["text"])

    threads = [threading.Thread(target=chat, args=(f"scale-{os.getpid()}-{n}",)) for n in range(BUYERS)]
    threads.append(threading.Thread(target=size_form))
    for thread in threads:
        thread.start()
    half_done.wait(60)
    before_kill = {answer["replica"] for answer in list(answers.values())}
    victim = servers.procs["rasa-1"]
    os.killpg(victim.pid, signal.SIGKILL)  # mid-conversation, with requests in flight
    victim.wait(10)
    killed_at = len(answers)
    for thread in threads:
        thread.join(120)
    assert victim.poll() is not None and servers.procs["rasa-2"].poll() is None
    assert before_kill == {"rasa-1", "rasa-2"}  # both replicas were answering buyers
    assert {a["replica"] for a in list(answers.values())[killed_at + BUYERS :]} == {"rasa-2"}

    # The buyer in the size form carried on at the same step on the surviving replica.
    assert form_replies[0] in renderings("size.ask_body")
    assert form_replies[1] in renderings("size.ask_weight", height=175)
    assert "XL" in form_replies[2].split("\n")[0] and "175" in form_replies[2]

    all_ids = [m for ids in sent.values() for m in ids]
    assert len(all_ids) == BUYERS * len(CHAT) + 3 and set(answers) == set(all_ids)
    messages, conversations = Message.__table__, Conversation.__table__
    with engine(servers.db_url).connect() as db:
        inbound = db.execute(
            sa.select(messages.c.message_id, messages.c.answered_at, messages.c.seq, conversations.c.buyer_id)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(messages.c.message_id.in_(all_ids))
        ).all()
        replies = db.execute(
            sa.select(messages.c.id, messages.c.reply_to, conversations.c.buyer_id)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(messages.c.reply_to.in_(all_ids))
            .order_by(messages.c.id)
        ).all()
        readings = defaultdict(int)
        for (data,) in db.execute(sa.text("SELECT data FROM events WHERE type_name = 'user'")):
            message_id = json.loads(data).get("message_id")
            if message_id in set(all_ids):
                readings[message_id] += 1

    # Stored once each, every one answered.
    assert sorted(m.message_id for m in inbound) == sorted(all_ids)
    assert all(m.answered_at is not None for m in inbound)
    # Read by Rasa exactly once: the killed replica's half-done turn left nothing behind.
    assert {m: readings[m] for m in all_ids} == {m: 1 for m in all_ids}
    # One reply per message (the bot answers in one bubble), in each buyer's order.
    assert sorted(r.reply_to for r in replies) == sorted(all_ids)
    for buyer, ids in sent.items():
        answered_order = [r.reply_to for r in replies if r.buyer_id == buyer]
        assert answered_order == ids, buyer


def test_migrations_and_the_models_agree_on_postgresql(replicated):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.store.migrate import shop_objects
    from bot.store.models import Base

    with engine(replicated.db_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": shop_objects})
        assert compare_metadata(context, Base.metadata) == []
