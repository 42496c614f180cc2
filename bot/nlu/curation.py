"""What trainers review, and how their labels become training data.

The review queue is live traffic the NLU probably misread: messages that went to fallback,
messages it read with low confidence, and messages an agent answered with a phrase of
another intent (the agent's choice is a label the trainer only has to confirm). A label
becomes an example in the trainers' own file, data/nlu/trainer.yml, which the next training
picks up like any other NLU file.

Buyers' phone numbers never reach the trainer page or the training data: they are masked
as [电话x], the way exported chat logs mask them (bot/nlu/chatlog.py folds that mask).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from itertools import islice, takewhile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.nlu.intents import FALLBACK
from bot.privacy import mask_phones
from bot.store.models import Conversation, Direction, Message, Sender

MAX_EXAMPLE_CHARS = 200
# Rasa reads "[text](entity)", "[text]{…}" and "[text][…]" in an example as an annotation; a
# buyer's text never is one.
_ANNOTATION = re.compile(r"\]([(\[{])")
_EXAMPLE_LINE = re.compile(r"^\s*-\s(.*)$")
_ENTITY_MARKUP = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def as_example(text: str) -> str:
    """A buyer message as it is written into the training data: phones masked, on one line,
    without control or format characters (a YAML file can't hold U+0007), and with nothing
    Rasa would read as entity markup."""
    printable = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return _ANNOTATION.sub(r"] \1", mask_phones(" ".join(printable.split())))


class TrainerFileError(ValueError):
    """The trainers' file can't be read; the message names the file and line to fix."""


@dataclass
class Candidate:
    message_id: int
    text: str  # masked
    intent: Optional[str]
    confidence: Optional[float]
    reason: str  # fallback, unsure, agent_answered
    suggested: Optional[str]  # the agent's phrase intent, when the agent answered
    at: datetime


def review_queue(session: Session, shop_id: str, low_confidence: float, limit: int = 100) -> List[Candidate]:
    """Probable misreads among the shop's recent buyer text messages, newest first."""
    recent = (
        select(Conversation.id)
        .where(Conversation.shop_id == shop_id)
        .order_by(Conversation.last_message_at.desc())
        .limit(200)
        .scalar_subquery()
    )
    messages = (
        session.execute(
            select(Message).where(Message.conversation_id.in_(recent)).order_by(Message.conversation_id, Message.id)
        )
        .scalars()
        .all()
    )
    found: List[Candidate] = []
    for i, msg in enumerate(messages):
        if msg.direction != Direction.IN or msg.kind != "text" or not msg.intent:
            continue
        chat = msg.conversation_id
        rest_of_chat = takewhile(lambda m, chat=chat: m.conversation_id == chat, islice(messages, i + 1, None))
        agent_intent = _agent_answer_intent(rest_of_chat)
        if agent_intent and agent_intent != msg.intent:
            reason = "agent_answered"
        elif msg.intent == FALLBACK:
            reason = "fallback"
        elif msg.confidence is not None and msg.confidence < low_confidence:
            reason = "unsure"
        else:
            continue
        found.append(
            Candidate(msg.id, mask_phones(msg.text), msg.intent, msg.confidence, reason, agent_intent, msg.created_at)
        )
    found.sort(key=lambda c: c.message_id, reverse=True)
    return found[:limit]


def _agent_answer_intent(following: Iterable[Message]) -> Optional[str]:
    """The intent of the agent's phrase that answered, if an agent answered before the
    buyer wrote again."""
    for msg in following:
        if msg.direction == Direction.IN:
            return None
        if msg.sender == Sender.AGENT and msg.intent:
            return msg.intent
    return None


class LabelError(ValueError):
    """A label that cannot become an example; the message says why."""


def add_example(path: Path, text: str, intent: str, intents: Set[str], others: Dict[str, str]) -> int:
    """Adds `text` as an example of `intent` to the trainers' NLU file; returns how many
    examples that intent has there now. `others` maps texts already in the rest of the
    training data to their intents: the same text under two intents would teach nothing."""
    if intent not in intents:
        raise LabelError(f"unknown intent {intent!r}")
    text = as_example(text)
    if not text:
        raise LabelError("the message is empty")
    if len(text) > MAX_EXAMPLE_CHARS:
        raise LabelError(f"the message is over {MAX_EXAMPLE_CHARS} characters; shorten it to the request")
    if text in others:
        raise LabelError(f"already a training example, of {others[text]}")
    examples = read_examples(path)
    for existing_intent, texts in examples.items():
        if text in texts:
            raise LabelError(f"already labelled {existing_intent}")
    examples.setdefault(intent, []).append(text)
    _write(path, examples)
    return len(examples[intent])


def read_examples(path: Path) -> Dict[str, List[str]]:
    """Intent → example texts (entity markup removed) of one Rasa NLU file. Plain YAML, not
    Rasa's loader: the console process, which serves the trainer page, does not load Rasa."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise TrainerFileError(
            f"{where}: not valid YAML ({getattr(err, 'problem', err)}); fix or remove that line"
        ) from None
    except UnicodeDecodeError:
        raise TrainerFileError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise TrainerFileError(f"{path}: expected 'nlu:' with intents and examples")
    out: Dict[str, List[str]] = {}
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            m = _EXAMPLE_LINE.match(line)
            if m:
                out.setdefault(block["intent"], []).append(_ENTITY_MARKUP.sub(r"\1", m.group(1)).strip())
    return out


def training_texts(nlu_dir: Path, exclude: Path) -> Dict[str, str]:
    """Text → intent of every example in the NLU files except `exclude`."""
    out: Dict[str, str] = {}
    for path in sorted(nlu_dir.rglob("*.yml")):
        if path.resolve() != exclude.resolve():
            for intent, texts in read_examples(path).items():
                for text in texts:
                    out[text] = intent
    return out


def _write(path: Path, examples: Dict[str, List[str]]) -> None:
    lines = [
        'version: "3.1"',
        "# Labelled by trainers on the /trainer page from live buyer messages (bot/nlu/curation.py).",
        "nlu:",
    ]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in examples[intent]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)  # a training run never reads half a file
