"""Rasa's tracker store for the shop: every event kept, a bounded window read back.

Rasa's SQLTrackerStore rebuilds a buyer's tracker from every event of the session on each
message, the policies then walk all of it, and the whole of it travels to the action server
and back: message 50 of a chat cost twice message 1 (benchmarks/cost_breakdown.py). Here each
event is still appended to Rasa's own `events` table (the full record, Rasa's schema), but
what is read back is a window, kept in `tracker_windows`, one row per buyer: the state
at the start of the window (the session's start, the slots' values, an active form) and the
last WINDOW_TURNS buyer turns. That is more history than anything reads — the policies look
at the last 5 states (MemoizationPolicy's max_history) and at rules two steps long, the
handoff rules at the last few readings — so the bot decides exactly as on the full tracker
(tests/test_tracker_store.py compares the two), and a message costs the same at turn 50 as
at turn 1.

The database is the shop database (endpoints.yml: `url: ${XIAOER_DB_URL}`): SQLite by
default, PostgreSQL for replicas. Every query runs in a worker thread, so a database wait
never stalls the Rasa server's event loop; one buyer's messages are never processed by two
replicas at once (the channel's buyer lock and Rasa's lock store), so a window is never
written by two hands.

When the console channel answers a buyer it asks for the tracker's writes to be handed to it
(`writes_deferred`) and commits them with the bot's replies, in one transaction: a turn is
kept whole or not at all, so a replica that dies mid-turn leaves neither a tracker that has
seen the message nor replies, and the retry answers it once.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    LoopInterrupted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store.db import engine

WINDOW_TURNS = 10

metadata = sa.MetaData()
# Rasa's own table and columns (rasa.core.tracker_store.SQLTrackerStore.SQLEvent), so the
# record reads the same with Rasa's tools and with this store.
events_table = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
windows_table = sa.Table(
    "tracker_windows",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("events", sa.Text, nullable=False),  # JSON list of serialised events
    sa.Column("updated_at", sa.Float, nullable=False),
)


@dataclass
class TrackerWrite:
    """One buyer's tracker changes not yet written: new events for the record, the new window."""

    sender_id: Text
    new_rows: List[Dict[Text, Any]] = field(default_factory=list)
    window: Text = "[]"


_deferred: ContextVar[Optional[Dict[Text, TrackerWrite]]] = ContextVar("deferred_tracker_writes", default=None)


@contextmanager
def writes_deferred() -> Iterator[Dict[Text, TrackerWrite]]:
    """Within this block (one asyncio task: the channel's call into Rasa), trackers are not
    written but collected, by sender, for the caller to `write` in its own transaction."""
    pending: Dict[Text, TrackerWrite] = {}
    token = _deferred.set(pending)
    try:
        yield pending
    finally:
        _deferred.reset(token)


def write(connection: sa.engine.Connection, change: TrackerWrite) -> None:
    if change.new_rows:
        connection.execute(events_table.insert(), change.new_rows)
    values = {"events": change.window, "updated_at": time.time()}
    where = windows_table.c.sender_id == change.sender_id
    if not connection.execute(windows_table.update().where(where).values(**values)).rowcount:
        connection.execute(windows_table.insert().values(sender_id=change.sender_id, **values))


# The number of events a tracker was read with, so save() appends only what is new. Rasa
# hands the same tracker object from retrieve() through the turn to save().
_LOADED = "_xiaoer_events_loaded"


def window(tracker: DialogueStateTracker, turns: int = WINDOW_TURNS) -> List[Event]:
    """The tracker's current session, cut to its last `turns` buyer turns, the cut-off part
    summed up as the state it left: session start, slot values, active form, pause."""
    events = list(tracker.events)
    events = events[max((i for i, e in enumerate(events) if _session_start_action(e)), default=0) :]
    user_turns = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
    if len(user_turns) <= turns:
        return events
    cut = user_turns[-turns]
    if isinstance(events[cut - 1], ActionExecuted) and events[cut - 1].action_name == ACTION_LISTEN_NAME:
        cut -= 1  # the turn starts with the bot listening
    head = DialogueStateTracker.from_events(tracker.sender_id, events[:cut], slots=tracker.slots.values())
    stamp = events[cut].timestamp
    summary: List[Event] = [e for e in events[:cut] if _starts_session(e)]
    initial = {name: slot.initial_value for name, slot in tracker.slots.items()}
    summary += [
        SlotSet(name, value, timestamp=stamp)
        for name, value in head.current_slot_values().items()
        if value != initial.get(name)
    ]
    if head.active_loop_name:
        summary.append(ActiveLoop(head.active_loop_name, timestamp=stamp))
        if head.active_loop and head.active_loop.is_interrupted:
            summary.append(LoopInterrupted(True, timestamp=stamp))
    if head.is_paused():
        summary.append(ConversationPaused(timestamp=stamp))
    return summary + events[cut:]


def _session_start_action(event: Event) -> bool:
    return isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME


def _starts_session(event: Event) -> bool:
    return isinstance(event, SessionStarted) or _session_start_action(event)


class WindowTrackerStore(TrackerStore):
    """`host` is the SQLAlchemy URL of the database (endpoints.yml passes it as `url`)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        if not host:
            raise ValueError("WindowTrackerStore needs the database URL (url: in endpoints.yml)")
        self.engine = engine(host)
        try:
            metadata.create_all(self.engine)  # Rasa's events table may exist already: kept as is
        except sa.exc.DBAPIError:
            metadata.create_all(self.engine)  # another replica created them at the same moment

    # --- reading ------------------------------------------------------------------------------
    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        stored = await asyncio.to_thread(self._read_window, sender_id)
        if stored is None:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, stored, self.domain.slots)
        setattr(tracker, _LOADED, len(tracker.events))
        return tracker

    def _read_window(self, sender_id: Text) -> Optional[List[Dict[Text, Any]]]:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(windows_table.c.events).where(windows_table.c.sender_id == sender_id)
            ).first()
            if row is not None:
                return json.loads(row.events)
            # A buyer from before this store (Rasa's SQLTrackerStore): their latest session.
            record = self._read_record(connection, sender_id)
        if not record:
            return None
        start = max((i for i, e in enumerate(record) if e.get("event") == SessionStarted.type_name), default=0)
        return record[max(start - 1, 0) :]

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        """Every event ever recorded for the buyer (Rasa's API: /conversations/<id>/tracker?all)."""

        def read() -> List[Dict[Text, Any]]:
            with self.engine.connect() as connection:
                return self._read_record(connection, conversation_id)

        record = await asyncio.to_thread(read)
        return DialogueStateTracker.from_dict(conversation_id, record, self.domain.slots) if record else None

    @staticmethod
    def _read_record(connection: sa.engine.Connection, sender_id: Text) -> List[Dict[Text, Any]]:
        rows = connection.execute(
            sa.select(events_table.c.data).where(events_table.c.sender_id == sender_id).order_by(events_table.c.id)
        )
        return [json.loads(row.data) for row in rows]

    async def keys(self) -> Iterable[Text]:
        def read() -> List[Text]:
            with self.engine.connect() as connection:
                return list(connection.execute(sa.select(windows_table.c.sender_id)).scalars())

        return await asyncio.to_thread(read)

    # --- writing ------------------------------------------------------------------------------
    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        new = list(tracker.events)[getattr(tracker, _LOADED, 0) :]
        setattr(tracker, _LOADED, len(tracker.events))
        pending = _deferred.get()
        change = (
            pending.setdefault(sender_id, TrackerWrite(sender_id)) if pending is not None else TrackerWrite(sender_id)
        )
        change.new_rows += [_record_row(sender_id, e) for e in new]
        change.window = json.dumps([e.as_dict() for e in window(tracker)], ensure_ascii=False)
        if pending is None:
            await asyncio.to_thread(self._write, change)
        if self.event_broker is not None:
            for event in new:
                self.event_broker.publish({"sender_id": sender_id, **event.as_dict()})

    def _write(self, change: TrackerWrite) -> None:
        with self.engine.begin() as connection:
            write(connection, change)


def _record_row(sender_id: Text, event: Event) -> Dict[Text, Any]:
    data = event.as_dict()
    intent = data.get("parse_data", {}).get("intent", {}).get("name") if isinstance(event, UserUttered) else None
    action = event.action_name if isinstance(event, ActionExecuted) else None
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": event.timestamp,
        "intent_name": intent,
        "action_name": action,
        "data": json.dumps(data, ensure_ascii=False),
    }
