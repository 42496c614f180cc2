"""The trainer page: review what the bot probably misread, label it, retrain, compare the
new model with the one in service on the held-back splits, and put it in service.

Same login as the workbench; a trainer sees only their own shop's messages. Labels are
written to settings.TRAINER_FILE (bot/nlu/curation.py). Retraining runs `xiaoer train` and
then this module's comparison (`python -m bot.console.trainer compare`: ev.compare, the
figures `xiaoer compare` prints, with progress lines) as child processes, one job at a time,
so the console keeps serving; the page's progress bar follows what the children print.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import itertools
import json
import logging
import os
import re
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Sequence, Tuple

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot import settings
from bot.console import rasa_client
from bot.console.auth import agent_page, read_json, require_agent
from bot.nlu import curation, training
from bot.nlu import evaluation as ev
from bot.nlu.intents import INTENT_LABELS, INTENTS, intent_label
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Agent, Direction, KnowledgeGap, Message, Product, Role

logger = logging.getLogger(__name__)


# The intents a message can be labelled with (console events are not wordings to label).
LABELS = tuple(sorted(INTENTS))


def _shown_path(path: str) -> str:
    return path[len(str(settings.ROOT)) + 1 :] if path.startswith(str(settings.ROOT) + "/") else path


# curation's reasons (English, for the logs and the command line) as a trainer reads them.
_REASONS: List[Tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"already labelled (\S+)$"), lambda m: f"这条消息已经标为「{intent_label(m[1])}」，不用再标"),
    (
        re.compile(r"already a training example, of (\S+)$"),
        lambda m: f"训练数据里已有一模一样的话，意图是「{intent_label(m[1])}」，不用再标",
    ),
    (re.compile(r"unknown intent "), lambda m: "没有这个意图，请从列表里选"),
    (re.compile(r"the message is empty$"), lambda m: "这条消息去掉电话号码等内容后是空的，不能作为样例"),
    (re.compile(r"the message is over (\d+) characters"), lambda m: f"这条消息超过 {m[1]} 个字，太长，不能作为样例"),
    (
        re.compile(r"(.+):(\d+): not valid YAML"),
        lambda m: f"训练者样例文件 {_shown_path(m[1])} 第 {m[2]} 行格式有误，请修正或删除这一行",
    ),
    (re.compile(r"(.+): not UTF-8 text$"), lambda m: f"训练者样例文件 {_shown_path(m[1])} 不是 UTF-8 文本"),
    (
        re.compile(r"(.+): expected 'nlu:'"),
        lambda m: f"训练者样例文件 {_shown_path(m[1])} 格式不对：应以 nlu: 开头，下面是意图和样例",
    ),
]


def in_chinese(err: Exception) -> str:
    """A curation error (LabelError, TrainerFileError) in Chinese, for the page."""
    for pattern, say in _REASONS:
        m = pattern.search(str(err))
        if m:
            return say(m)
    return "无法完成：训练数据有问题，请联系工程师查看控制台日志"


async def review(request: web.Request) -> web.Response:
    agent_id = require_agent(request, Role.TRAINER)
    try:
        labelled = {t: i for i, texts in curation.read_examples(settings.TRAINER_FILE).items() for t in texts}
    except curation.TrainerFileError as err:
        return web.json_response({"error": in_chinese(err), "detail": str(err)}, status=409)
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        items = curation.review_queue(session, shop_id, shop(shop_id).handoff.low_confidence)
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
    return web.json_response({"intents": LABELS, "labels": INTENT_LABELS, "items": rows, "trainer_file": str(shown)})


async def label(request: web.Request) -> web.Response:
    agent_id = require_agent(request, Role.TRAINER)
    body = await read_json(request)
    message_id = body.get("message_id")
    if not isinstance(message_id, int) or not 0 < message_id < 2**62 or not isinstance(body.get("intent"), str):
        return web.json_response({"error": "请求格式不对：需要消息编号和意图"}, status=400)
    with session_scope() as session:
        shop_id = session.get(Agent, agent_id).shop_id
        msg = session.get(Message, body["message_id"])
        if msg is None or msg.direction != Direction.IN or msg.conversation.shop_id != shop_id:
            return web.json_response({"error": "本店没有这条买家消息"}, status=404)
        text = msg.text
    try:
        others = curation.training_texts(settings.NLU_DATA, exclude=settings.TRAINER_FILE)
        count = curation.add_example(settings.TRAINER_FILE, text, body["intent"], set(LABELS), others)
    except (curation.LabelError, curation.TrainerFileError) as err:
        return web.json_response({"error": in_chinese(err), "detail": str(err)}, status=409)
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

# Where each stretch of a job sits on the progress bar, by how long each takes on a 2-core
# machine: preparing (the children's start-up, Rasa validating and reading the data) ≈ 40 s,
# training the components ≈ 60 s, parsing the held-back splits with both models ≈ 45 s.
# Within a stretch the bar follows what the children report; it reaches 1 only when done.
BANDS = {"preparing": (0.0, 0.28), "training": (0.28, 0.68), "comparing": (0.68, 0.99)}

# What the trainer reads for the splits (bot/nlu/evaluation.py SPLITS) and the components
# Rasa trains (config.yml); an unknown one is shown by its class name.
SPLIT_NAMES = {"held-back": "基础留出集", "writer2": "第二作者集", "situations": "真实场景集（按真实咨询比例）"}
COMPONENT_NAMES = {
    "JiebaTokenizer": "jieba 分词",
    "ShopEntityExtractor": "实体识别",
    "ShopIntentClassifier": "意图分类器",
    "EntitySynonymMapper": "同义词映射",
    "CountVectorsFeaturizer": "词频特征",
    "RegexFeaturizer": "正则特征",
    "LexicalSyntacticFeaturizer": "词法特征",
    "DIETClassifier": "DIET 意图模型",
    "ResponseSelector": "回复选择器",
    "MemoizationPolicy": "对话记忆策略",
    "AugmentedMemoizationPolicy": "对话记忆策略",
    "RulePolicy": "对话规则策略",
    "TEDPolicy": "TED 对话策略",
    "UnexpecTEDIntentPolicy": "意外意图策略",
}
PREPARING_STEPS = {
    "starting_rasa": "准备训练数据：启动 Rasa 训练程序",
    "validating": "准备训练数据：校验训练数据",
    "reading": "准备训练数据：读取对话和规则",
}
MODEL_NAMES = ("线上模型", "新模型")  # the comparison parses with the live model, then the new one
# Shares of the comparison's time (measured, 2 cores, 35-45 s): loading the first model
# (TensorFlow's import included) and parsing all the splits with it; then the same for the
# second model, which loads in a quarter to half of the first one's time.
COMPARE_SHARES = ((0.36, 0.28), (0.14, 0.22))
LATER_LOAD = 0.4

# The comparison child's progress lines on stdout (its last line is the result, as JSON).
PROGRESS_MARK = "@progress "


class ComparisonProgress:
    """How far the comparison child has got, from its progress lines: first the splits and
    their sizes, then for each model in turn its loading and how many messages it parsed
    (all the splits one after another). Gives the fraction done and, once parsing has a
    measured pace, an estimate of the seconds left."""

    def __init__(self) -> None:
        self.splits: List[Tuple[str, int]] = []
        self.model = -1  # 0: the live model, 1: the new one
        self.loaded = False
        self.parsed = 0  # messages of all splits, by the current model
        self.first_load: Optional[float] = None  # seconds the first model took to load
        self.per_message: Optional[float] = None  # seconds, measured
        self.updated = 0.0
        self._load_started = self._parse_started = 0.0
        self._fraction = 0.0

    @property
    def total(self) -> int:
        return sum(size for _, size in self.splits)

    def feed(self, line: str, now: Optional[float] = None) -> bool:
        if not line.startswith(PROGRESS_MARK):
            return False
        try:
            data = json.loads(line[len(PROGRESS_MARK) :])
            now = time.monotonic() if now is None else now
            if "splits" in data:
                self.splits = [(str(name), int(size)) for name, size in data["splits"]]
                return True
            model = int(data["model"])
        except (ValueError, KeyError, TypeError):
            return False
        if model < self.model:
            return False
        if model > self.model:
            self.model, self.loaded, self.parsed, self._load_started = model, False, 0, now
        if "parsed" in data:
            if not self.loaded:
                self.loaded, self._parse_started = True, now
                if self.first_load is None:
                    self.first_load = now - self._load_started
            self.parsed = max(self.parsed, min(int(data["parsed"]), self.total))
            if self.parsed >= 20:
                self.per_message = (now - self._parse_started) / self.parsed
        self.updated = now
        self._fraction = max(self._fraction, self._measure())
        return True

    @property
    def fraction(self) -> float:
        """Of the comparison: the loadings and parsings before the current one, and how far
        that one has got (only grows: see feed)."""
        return self._fraction

    def _measure(self) -> float:
        if self.model < 0 or not self.total:
            return 0.0
        done = sum(load + parse for load, parse in COMPARE_SHARES[: self.model])
        load, parse = COMPARE_SHARES[min(self.model, len(COMPARE_SHARES) - 1)]
        done += (load if self.loaded else 0.0) + parse * self.parsed / self.total
        return min(done, 1.0)

    def seconds_left(self, now: Optional[float] = None) -> Optional[float]:
        if self.per_message is None:
            return None
        left = (self.total - self.parsed) * self.per_message
        for _ in range(self.model + 1, len(MODEL_NAMES)):  # the next model loads, then parses everything
            left += (self.first_load or 0.0) * LATER_LOAD + self.total * self.per_message
        since = (time.monotonic() if now is None else now) - self.updated
        return max(0.0, left - since)

    def describe(self) -> str:
        if self.model < 0:
            return "评估留出集：启动对比程序"
        model = MODEL_NAMES[min(self.model, len(MODEL_NAMES) - 1)]
        if not self.loaded or not self.splits:
            return f"评估留出集：载入{model}"
        offset = self.parsed
        for i, (name, size) in enumerate(self.splits, 1):
            if offset < size or i == len(self.splits):
                label = SPLIT_NAMES.get(name, name)
                return f"评估留出集 {i}/{len(self.splits)}「{label}」：{model}已读 {min(offset, size)}/{size} 条"
            offset -= size
        return ""


def describe_training(progress: training.TrainingProgress) -> str:
    """The training child's progress as the trainer reads it."""
    if progress.stage == "up_to_date":
        return "训练数据没有变化，沿用已训练的模型"
    if progress.stage == "starting":
        return "准备训练数据：启动训练程序"
    if progress.stage == "preparing":
        return PREPARING_STEPS.get(progress.milestone or "", "准备训练数据")
    if progress.stage == "saving":
        return "训练模型：保存模型文件"
    if progress.stage == "saved":
        return "训练模型：已保存"
    done = len(progress.finished)
    current = progress.component if progress.component not in progress.finished else None
    if current is None:
        return f"训练模型：已完成 {done}/{progress.total} 个组件"
    text = f"训练模型：第 {done + 1}/{progress.total} 个组件（{COMPONENT_NAMES.get(current, current)}）"
    if progress.epoch:
        text += f"，第 {progress.epoch[0]}/{progress.epoch[1]} 轮"
        if progress.epoch_remaining is not None:
            text += f"，本组件约剩 {progress.epoch_remaining} 秒"
    return text


def model_info(path: Optional[Path]) -> Optional[Dict[str, Any]]:
    """A model file's name and when it was trained (the file's time), for the page."""
    if path is None:
        return None
    try:
        trained = datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="minutes")
    except OSError:
        trained = None
    return {"name": path.name, "trained_at": trained}


@dataclass
class RetrainJob:
    state: str = "idle"  # idle, preparing, training, comparing, done, failed
    run: int = 0  # which run this is, since the console started
    started: float = 0.0
    ended: float = 0.0
    progress: float = 0.0  # of the whole job: only grows, and is 1 only when done
    step: str = ""  # what the job is doing now, in Chinese
    live: Optional[str] = None  # model paths: in service when compared, and newly trained
    candidate: Optional[str] = None
    serving: Optional[Dict[str, Any]] = None  # what Rasa serves now, as last asked
    result: Optional[Dict[str, Any]] = None
    error: Optional[str] = None  # in Chinese
    error_detail: Optional[str] = None  # the children's own words, for an engineer
    activated: bool = False
    train_progress: Optional[training.TrainingProgress] = field(default=None, repr=False)
    compare_progress: Optional[ComparisonProgress] = field(default=None, repr=False)
    task: Optional[asyncio.Task] = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.state in BANDS

    def start(self) -> None:
        """A new run: what the last one found is forgotten (the job object stays the app's)."""
        self.live = self.candidate = self.result = self.error = self.error_detail = self.task = None
        self.train_progress = self.compare_progress = None
        self.activated = False
        self.run += 1
        self.state, self.progress, self.started = "preparing", 0.0, time.monotonic()
        self.step = "准备训练数据：读取线上模型"

    def advance(self, state: str, within: float, step: Optional[str] = None) -> None:
        """Moves to `state` (never back to an earlier one), `within` its stretch of the bar."""
        order = list(BANDS)
        if order.index(state) < order.index(self.state):
            return
        low, high = BANDS[state]
        self.state = state
        self.progress = max(self.progress, low + (high - low) * min(max(within, 0.0), 1.0))
        if step:
            self.step = step

    def on_training_line(self, line: str) -> None:
        tracker = self.train_progress
        if tracker is None or not tracker.feed(line):
            return
        if tracker.stage in ("starting", "preparing"):
            self.advance("preparing", tracker.preparing, describe_training(tracker))
        else:
            self.advance("training", tracker.training, describe_training(tracker))

    def on_comparison_line(self, line: str) -> None:
        tracker = self.compare_progress
        if tracker is not None and tracker.feed(line):
            self.advance("comparing", tracker.fraction, tracker.describe())

    def finish(self, result: Dict[str, Any]) -> None:
        self.result, self.state, self.progress, self.ended = result, "done", 1.0, time.monotonic()
        self.step = "完成"

    def fail(self, error: str, detail: str = "") -> None:
        self.error, self.error_detail = error, detail or None
        self.state, self.ended, self.step = "failed", time.monotonic(), "失败"

    def as_json(self) -> Dict[str, Any]:
        now = time.monotonic()
        left = self.compare_progress.seconds_left(now) if self.compare_progress and self.state == "comparing" else None
        return {
            "state": self.state,
            "run": self.run,
            "step": self.step if self.state != "idle" else "",
            "progress": None if self.state == "idle" else round(self.progress, 4),
            "elapsed_seconds": round((now if self.running else self.ended) - self.started) if self.started else 0,
            "eta_seconds": None if left is None else round(left),
            "live": self.live and Path(self.live).name,
            "candidate": self.candidate and Path(self.candidate).name,
            "serving": self.serving,
            "result": self.result,
            "error": self.error,
            "error_detail": self.error_detail,
            "activated": self.activated,
            "split_names": SPLIT_NAMES,
        }


RETRAIN = web.AppKey("retrain", RetrainJob)


class LineSplitter:
    """A child's output bytes as lines: split at newlines and at the carriage returns tqdm
    redraws its bars with, UTF-8 decoded even when a chunk ends inside a character."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> List[str]:
        parts = re.split(r"\r\n|\r|\n", self._pending + self._decoder.decode(chunk))
        self._pending = parts.pop()
        return [p for p in parts if p.strip()]

    def close(self) -> List[str]:
        rest, self._pending = self._pending + self._decoder.decode(b"", final=True), ""
        return [rest] if rest.strip() else []


class ChildFailed(RuntimeError):
    """A child process exited with an error; the message is the tail of its output."""


async def _child(args: Sequence[str], on_line: Callable[[str], None]) -> List[str]:
    """Runs `python <args>` in the project, handing each output line (stdout and stderr) to
    `on_line` as it comes; its stdout lines, or ChildFailed with the output's tail."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=str(settings.ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stdout: List[str] = []
    tail: Deque[str] = deque(maxlen=6)

    async def pump(stream: asyncio.StreamReader, keep: Optional[List[str]]) -> None:
        splitter = LineSplitter()
        while True:
            chunk = await stream.read(1 << 16)
            for line in splitter.feed(chunk) if chunk else splitter.close():
                if keep is not None:
                    keep.append(line)
                if not line.startswith(PROGRESS_MARK):
                    tail.append(line)
                on_line(line)
            if not chunk:
                return

    try:
        await asyncio.gather(pump(proc.stdout, stdout), pump(proc.stderr, None))
        await proc.wait()
    finally:
        if proc.returncode is None:  # cancelled: the child goes too
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise ChildFailed(" / ".join(line.strip() for line in tail))
    return stdout


_MODEL_LINE = re.compile(r"^(?:trained|model is up to date:) (\S+\.tar\.gz)")


async def _retrain(app: web.Application, job: RetrainJob) -> None:
    try:
        job.live = str(await asyncio.wait_for(rasa_client.live_model(app), RASA_STATUS_SECONDS))
        job.serving = model_info(Path(job.live))
    except Exception as err:
        logger.warning("retraining: could not ask Rasa for the model in service: %r", err)
        job.fail("无法从 Rasa 服务器读取线上模型，没有训练。", repr(err))
        return
    try:
        job.train_progress = training.TrainingProgress(training.trained_components())
        job.step = "准备训练数据：启动训练程序"
        out = await _child(["-m", "bot.cli", "train"], job.on_training_line)
        named = [m.group(1) for m in map(_MODEL_LINE.match, out) if m]
        job.candidate = str(settings.ROOT / named[-1]) if named else str(training.model_path())
        job.compare_progress = ComparisonProgress()
        job.advance("comparing", 0.0, job.compare_progress.describe())
    except Exception as err:  # shown on the page; the model in service is untouched
        logger.exception("retraining failed")
        job.fail("训练失败，线上模型没有变化。", str(err))
        return
    try:
        args = ["-m", "bot.console.trainer", "compare", "--live", job.live, "--candidate", job.candidate]
        out = await _child(args, job.on_comparison_line)
        job.finish(json.loads([line for line in out if line.startswith("{")][-1]))
    except Exception as err:
        logger.exception("comparing the models failed")
        job.fail("新模型已训练好，但在留出集上对比失败；线上模型没有变化。", str(err))


RASA_STATUS_SECONDS = 5  # the page waits for the answer


async def _serving(app: web.Application) -> Optional[Dict[str, Any]]:
    """The model Rasa serves now; None if Rasa does not answer."""
    try:
        return model_info(await asyncio.wait_for(rasa_client.live_model(app), RASA_STATUS_SECONDS))
    except Exception as err:  # the page then shows the model last seen
        logger.warning("could not ask Rasa for the model in service: %r", err)
        return None


async def retrain(request: web.Request) -> web.Response:
    require_agent(request, Role.TRAINER)
    job = request.app[RETRAIN]
    if job.running:
        return web.json_response({**job.as_json(), "error": "已经有一次重新训练在进行中，请等它完成"}, status=409)
    job.start()
    job.task = asyncio.create_task(_retrain(request.app, job))
    return web.json_response(job.as_json(), status=202)


async def retrain_status(request: web.Request) -> web.Response:
    require_agent(request, Role.TRAINER)
    job = request.app[RETRAIN]
    if not job.running:  # the page shows which model is in service now
        job.serving = await _serving(request.app) or job.serving
    return web.json_response(job.as_json())


async def activate(request: web.Request) -> web.Response:
    """Puts the compared candidate in service: Rasa swaps models without a restart. The job
    then names what Rasa reports serving, and the next comparison is against that model."""
    require_agent(request, Role.TRAINER)
    job = request.app[RETRAIN]
    if job.state != "done" or job.candidate is None:
        return web.json_response({"error": "请先重新训练并对比，对比完成后再启用新模型"}, status=409)
    try:
        await rasa_client.load_model(request.app, job.candidate)
    except RuntimeError as refused:
        logger.warning("Rasa refused %s: %s", job.candidate, refused)
        return web.json_response(
            {"error": "Rasa 没有接受新模型，线上模型没有变化。", "detail": str(refused)}, status=502
        )
    except (aiohttp.ClientError, asyncio.TimeoutError) as err:
        logger.warning("loading %s into Rasa failed: %s", job.candidate, err)
        return web.json_response({"error": "连不上 Rasa 服务器，线上模型没有变化。", "detail": str(err)}, status=502)
    serving = await _serving(request.app)
    if serving is None or serving["name"] != Path(job.candidate).name:
        return web.json_response({"error": "Rasa 没有换上新模型，请稍后刷新页面查看线上模型。"}, status=502)
    job.activated, job.serving = True, serving
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


# --- the comparison child: `python -m bot.console.trainer compare --live A --candidate B` ------


ANNOUNCE_EVERY = 0.25  # seconds


class _Announced(list):
    """The examples a model parses, announcing how many it has parsed as the parse loop
    takes the next one (at most every ANNOUNCE_EVERY seconds, and at the end)."""

    def __init__(self, examples: Sequence[Any], announce: Callable[[int], None]) -> None:
        super().__init__(examples)
        self._announce = announce

    def __iter__(self) -> Iterator[Any]:
        said = 0.0
        for i, example in enumerate(super().__iter__()):
            if i == 0 or time.monotonic() - said >= ANNOUNCE_EVERY:
                self._announce(i)
                said = time.monotonic()
            yield example
        self._announce(len(self))


def _emit(data: Dict[str, Any]) -> None:
    print(PROGRESS_MARK + json.dumps(data, ensure_ascii=False), flush=True)


def compare_with_progress(
    models: Dict[str, Path], emit: Callable[[Dict[str, Any]], None] = _emit
) -> Dict[str, Dict[str, object]]:
    """ev.compare (the same figures `xiaoer compare` prints), reporting its progress: the
    splits and sizes first, then each model's loading and parsing (ev.compare parses the
    models one after another, each over all the splits in order)."""
    emit({"splits": [[name, len(ev.load_holdout(split=glob))] for name, glob in ev.SPLITS.items()]})
    parse, calls = ev.predict, itertools.count()

    def predict(model: Path, examples: Sequence[Any], progress: bool = True) -> List[Any]:
        k = next(calls)
        emit({"model": k})
        return parse(model, _Announced(examples, lambda n: emit({"model": k, "parsed": n})), progress=False)

    ev.predict = predict
    try:
        return ev.compare(models)
    finally:
        ev.predict = parse


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.console.trainer", description=compare_with_progress.__doc__)
    parser.add_argument("command", choices=["compare"])
    parser.add_argument("--live", required=True, help="the model in service")
    parser.add_argument("--candidate", required=True, help="the newly trained model")
    args = parser.parse_args(argv)
    models = {"live": Path(args.live), "candidate": Path(args.candidate)}
    missing = [str(p) for p in models.values() if not p.exists()]
    if missing:
        print(f"no such model: {', '.join(missing)}", file=sys.stderr)
        return 2
    print(json.dumps(compare_with_progress(models), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
