"""The trainer page: review what the bot probably misread, label it, retrain, compare the
new model with the one in service on the held-back splits, and put it in service.

Same login as the workbench; a trainer sees only their own shop's messages. Labels are
written to settings.TRAINER_FILE (bot/nlu/curation.py). Retraining runs `xiaoer train` and
`xiaoer compare` as child processes, one job at a time, so the console keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiohttp import web
from sqlalchemy import select

from bot import settings
from bot.console import rasa_client
from bot.console.auth import agent_page, read_json, require_agent
from bot.nlu import curation, training
from bot.nlu.intents import INTENTS
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Agent, Direction, KnowledgeGap, Message, Product, Role

logger = logging.getLogger(__name__)


# The intents a message can be labelled with (console events are not wordings to label).
LABELS = tuple(sorted(INTENTS))


async def review(request: web.Request) -> web.Response:
    agent_id = require_agent(request, Role.TRAINER)
    try:
        labelled = {t: i for i, texts in curation.read_examples(settings.TRAINER_FILE).items() for t in texts}
    except curation.TrainerFileError as err:
        return web.json_response({"error": str(err)}, status=409)
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        items = curation.review_queue(session, shop_id, shop().handoff.low_confidence)
        rows = [
            {
                "id": c.message_id,
                "text": c.text,
                "intent": c.intent,
                "confidence": None if c.confidence is None else round(c.confidence, 2),
                "reason": c.reason,
                "suggested": c.suggested,
                "at": c.at.isoformat(timespec="seconds"),
                "labelled": labelled.get(curation.as_example(c.text)),
            }
            for c in items
        ]
    shown = settings.TRAINER_FILE
    if shown.is_relative_to(settings.ROOT):
        shown = shown.relative_to(settings.ROOT)
    return web.json_response({"intents": LABELS, "items": rows, "trainer_file": str(shown)})


async def label(request: web.Request) -> web.Response:
    agent_id = require_agent(request, Role.TRAINER)
    body = await read_json(request)
    message_id = body.get("message_id")
    if not isinstance(message_id, int) or not 0 < message_id < 2**62 or not isinstance(body.get("intent"), str):
        return web.json_response({"error": 'send {"message_id": <int>, "intent": <name>}'}, status=400)
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        msg = session.get(Message, body["message_id"])
        if msg is None or msg.direction != Direction.IN or msg.conversation.shop_id != shop_id:
            return web.json_response({"error": "no such buyer message in your shop"}, status=404)
        text = msg.text
    try:
        others = curation.training_texts(settings.NLU_DATA, exclude=settings.TRAINER_FILE)
        count = curation.add_example(settings.TRAINER_FILE, text, body["intent"], set(LABELS), others)
    except (curation.LabelError, curation.TrainerFileError) as err:
        return web.json_response({"error": str(err)}, status=409)
    return web.json_response({"intent": body["intent"], "examples_of_intent": count})


async def gaps(request: web.Request) -> web.Response:
    """The shop's open knowledge gaps, newest first (bot/shop/knowledge.py)."""
    agent_id = require_agent(request, Role.TRAINER)
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        rows = session.execute(
            select(KnowledgeGap)
            .where(KnowledgeGap.shop_id == shop_id, KnowledgeGap.resolved.is_(False))
            .order_by(KnowledgeGap.id.desc())
            .limit(100)
        ).scalars()
        listed = [
            {"id": g.id, "topic": g.topic, "question": g.question, "intent": g.intent,
             "product": session.get(Product, g.product_id).title if g.product_id else None,
             "at": g.created_at.isoformat(timespec="minutes")}
            for g in rows
        ]  # fmt: skip
    return web.json_response({"gaps": listed})


async def resolve_gap(request: web.Request) -> web.Response:
    agent_id = require_agent(request, Role.TRAINER)
    gap_id = request.match_info["gap_id"]
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        gap = session.get(KnowledgeGap, int(gap_id)) if gap_id.isdigit() else None
        if gap is None or gap.shop_id != shop_id:
            return web.json_response({"error": "没有这条记录"}, status=404)
        gap.resolved = True
    return web.json_response({"id": int(gap_id), "resolved": True})


# --- retrain and compare -------------------------------------------------------------------

# Rough durations on a 2-core machine, for the progress bar: training the NLU and policies,
# then parsing both held-back splits with both models.
EXPECTED_SECONDS = {"training": 80, "comparing": 60}


@dataclass
class RetrainJob:
    state: str = "idle"  # idle, training, comparing, done, failed
    phase_started: float = 0.0
    live: Optional[str] = None  # model paths: in service, and newly trained
    candidate: Optional[str] = None
    result: Optional[Dict[str, Any]] = None
    error: Optional[str] = None
    activated: bool = False
    task: Optional[asyncio.Task] = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.state in EXPECTED_SECONDS

    def enter(self, state: str) -> None:
        self.state, self.phase_started = state, time.monotonic()

    def start(self) -> None:
        """A new run: what the last one found is forgotten (the job object stays the app's)."""
        self.live = self.candidate = self.result = self.error = self.task = None
        self.activated = False
        self.enter("training")

    def as_json(self) -> Dict[str, Any]:
        elapsed = time.monotonic() - self.phase_started if self.running else 0.0
        progress = min(0.95, elapsed / EXPECTED_SECONDS[self.state]) if self.running else None
        return {
            "state": self.state,
            "elapsed_seconds": round(elapsed),
            "progress": progress,
            "live": self.live and Path(self.live).name,
            "candidate": self.candidate and Path(self.candidate).name,
            "result": self.result,
            "error": self.error,
            "activated": self.activated,
        }


RETRAIN = web.AppKey("retrain", RetrainJob)


async def _child(*args: str) -> List[str]:
    """Runs `xiaoer <args>` in the project; its output lines, or RuntimeError with the tail."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=str(settings.ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        tail = (err or out).decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"xiaoer {args[0]} failed: " + " / ".join(tail))
    return out.decode(errors="replace").strip().splitlines()


async def _retrain(app: web.Application, job: RetrainJob) -> None:
    try:
        job.live = str(await rasa_client.live_model(app))
        job.enter("training")
        await _child("train")
        job.candidate = str(training.model_path())
        job.enter("comparing")
        lines = await _child("compare", "--live", job.live, "--candidate", job.candidate)
        job.result = json.loads(lines[-1])
        job.enter("done")
    except Exception as err:  # shown on the page; the model in service is untouched
        logger.exception("retraining failed")
        job.error = str(err)
        job.enter("failed")


async def retrain(request: web.Request) -> web.Response:
    require_agent(request, Role.TRAINER)
    job = request.app[RETRAIN]
    if job.running:
        return web.json_response({"error": "a retraining is already running", **job.as_json()}, status=409)
    job.start()
    job.task = asyncio.create_task(_retrain(request.app, job))
    return web.json_response(job.as_json(), status=202)


async def retrain_status(request: web.Request) -> web.Response:
    require_agent(request, Role.TRAINER)
    return web.json_response(request.app[RETRAIN].as_json())


async def activate(request: web.Request) -> web.Response:
    """Puts the compared candidate in service: Rasa swaps models without a restart."""
    require_agent(request, Role.TRAINER)
    job = request.app[RETRAIN]
    if job.state != "done":
        return web.json_response({"error": "retrain and compare first"}, status=409)
    try:
        await rasa_client.load_model(request.app, job.candidate)
    except RuntimeError as refused:
        return web.json_response({"error": f"Rasa refused the model: {refused}"}, status=502)
    job.activated, job.live = True, job.candidate
    return web.json_response(job.as_json())


def add_routes(app: web.Application) -> None:
    app[RETRAIN] = RetrainJob()
    app.router.add_get("/trainer", agent_page("trainer.html", Role.TRAINER))
    app.router.add_get("/api/trainer/review", review)
    app.router.add_post("/api/trainer/label", label)
    app.router.add_post("/api/trainer/retrain", retrain)
    app.router.add_get("/api/trainer/retrain", retrain_status)
    app.router.add_post("/api/trainer/activate", activate)
    app.router.add_get("/api/trainer/gaps", gaps)
    app.router.add_post("/api/trainer/gaps/{gap_id}/resolve", resolve_gap)
