"""Conversations and their messages in the shop database.

Every buyer message is written here before the bot answers, and every reply after, so a
chat can be replayed, audited and used as training material — whatever crashes later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bot import clock
from bot.store.models import (
    Buyer,
    Conversation,
    ConversationState,
    Direction,
    Handler,
    Message,
    Sender,
    Shop,
    ShopMode,
)

# Message kinds that are not words to read or answer: a buyer entering the shop, the shop's
# own notices (queue updates, an agent joining).
NOT_READ = ("enter_shop",)
NOTICE = "notice"


def conversation_for(session: Session, shop_id: str, buyer_id: str, nick: Optional[str] = None) -> Conversation:
    """The buyer's current conversation with the shop, started if there is none."""
    conv = session.execute(
        select(Conversation)
        .where(Conversation.shop_id == shop_id, Conversation.buyer_id == buyer_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if conv is None:
        _ensure_buyer(session, shop_id, buyer_id, nick)
        conv = Conversation(shop_id=shop_id, buyer_id=buyer_id, started_at=clock.now(), last_message_at=clock.now())
        session.add(conv)
        session.flush()
    return conv


def _ensure_buyer(session: Session, shop_id: str, buyer_id: str, nick: Optional[str]) -> None:
    """Create the shop's buyer unless they exist — also when two of their first messages race
    here. Another shop's row of the same platform buyer is that shop's: this shop first sees
    them now."""
    if session.get(Buyer, (shop_id, buyer_id)) is not None:
        return
    values = dict(id=buyer_id, shop_id=shop_id, nick=nick or buyer_id, created_at=clock.now())
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        session.execute(insert(Buyer).values(**values).on_conflict_do_nothing(index_elements=["shop_id", "id"]))
    else:
        session.add(Buyer(**values))
        session.flush()


def find_message(session: Session, conversation_id: int, message_id: str) -> Optional[Message]:
    """A message by the console's id, within one buyer's chat (ids are the console's, per buyer)."""
    return session.execute(
        select(Message).where(Message.conversation_id == conversation_id, Message.message_id == message_id)
    ).scalar_one_or_none()


def record(
    session: Session,
    conv: Conversation,
    direction: Direction,
    sender: Sender,
    text: str,
    message_id: Optional[str] = None,
    kind: str = "text",
    reply_to: Optional[str] = None,
    seq: Optional[int] = None,
) -> Message:
    msg = Message(
        conversation_id=conv.id,
        message_id=message_id,
        direction=direction,
        sender=sender,
        kind=kind,
        text=text,
        reply_to=reply_to,
        seq=seq,
        created_at=clock.now(),
    )
    conv.last_message_at = msg.created_at
    session.add(msg)
    session.flush()
    return msg


# The console channel's two writes per buyer message, in SQL statements rather than through the
# ORM's unit of work: they run for every message, and the ORM's bookkeeping was a third of the
# Rasa server's CPU under load (benchmarks/cost_breakdown.py).


def record_inbound(
    session: Session, conv: Conversation, message_id: str, text: str, kind: str, seq: Optional[int]
) -> bool:
    """Store a buyer message once; False if this message id was stored before (a retry)."""
    now = clock.now()
    values = dict(
        conversation_id=conv.id,
        message_id=message_id,
        direction=Direction.IN,
        sender=Sender.BUYER,
        kind=kind,
        text=text,
        seq=seq,
        created_at=now,
    )
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    inserted = session.execute(
        insert(Message.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["conversation_id", "message_id"])
    ).rowcount
    if inserted:
        # A buyer writing again reopens a conversation an agent marked waiting or resolved.
        session.execute(
            update(Conversation.__table__)
            .where(Conversation.id == conv.id)
            .values(last_message_at=now, state=ConversationState.OPEN.value)
        )
    return bool(inserted)


def record_replies(session: Session, conversation_id: int, message_id: str, texts: List[str]) -> List[Tuple[int, str]]:
    """Store the bot's replies to a buyer message and mark it answered; returns (id, text) pairs."""
    now = clock.now()
    table = Message.__table__
    stored = []
    for text in texts:
        result = session.execute(
            table.insert().values(
                conversation_id=conversation_id,
                direction=Direction.OUT,
                sender=Sender.BOT,
                kind="text",
                text=text,
                reply_to=message_id,
                created_at=now,
            )
        )
        stored.append((result.inserted_primary_key[0], text))
    mark_answered(session, conversation_id, message_id)
    conversation = Conversation.__table__
    session.execute(update(conversation).where(conversation.c.id == conversation_id).values(last_message_at=now))
    return stored


def handler_of(session: Session, conversation_id: int) -> Handler:
    return Handler(
        session.execute(select(Conversation.handled_by).where(Conversation.id == conversation_id)).scalar_one()
    )


def replies_to(session: Session, conversation_id: int, message_id: str) -> List[Message]:
    """The bot's replies already sent for a buyer message (for retried deliveries)."""
    return list(
        session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.reply_to == message_id)
            .order_by(Message.id)
        ).scalars()
    )


def mark_answered(session: Session, conversation_id: int, message_id: str) -> None:
    session.execute(
        update(Message)
        .where(Message.conversation_id == conversation_id, Message.message_id == message_id)
        .values(answered_at=clock.now())
    )


def last_answered_seq(session: Session, conv: Conversation) -> int:
    """The highest console sequence number answered in this conversation (0 if none)."""
    value = session.execute(
        select(func.max(Message.seq)).where(Message.conversation_id == conv.id, Message.answered_at.isnot(None))
    ).scalar_one()
    return value or 0


def order_state(session: Session, conversation_id: int, seq: int) -> Tuple[int, bool]:
    """For a buyer message numbered `seq`: the highest number answered so far, and whether a
    message numbered below it is stored but not yet answered (connectors/buyer_turns.py)."""
    answered = select(func.max(Message.seq)).where(
        Message.conversation_id == conversation_id, Message.answered_at.isnot(None)
    )
    pending = select(Message.id).where(
        Message.conversation_id == conversation_id,
        Message.answered_at.is_(None),
        Message.seq < seq,
        Message.direction == Direction.IN,
    )
    last, waiting = session.execute(select(answered.scalar_subquery(), pending.exists())).one()
    return last or 0, bool(waiting)


def label(session: Session, conversation_id: int, message_id: str, intent: str, confidence: Optional[float]) -> None:
    """Note the NLU's reading on a stored buyer message (one statement: it runs per message)."""
    session.execute(
        update(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.message_id == message_id,
            Message.direction == Direction.IN,
        )
        .values(intent=intent, confidence=confidence)
    )


def shop_mode(session: Session, shop_id: str) -> ShopMode:
    shop = session.get(Shop, shop_id)
    return shop.mode if shop is not None else ShopMode.AUTO


# --- what an agent has read and who is waiting (the workbench's list) ---------------------------


def mark_read(session: Session, conversation_id: int, now: datetime) -> int:
    """A person read the buyer's messages in this conversation (the buyer's page shows 已读);
    the number newly marked."""
    return session.execute(
        update(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.IN,
            Message.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def unread_counts(session: Session, conversation_ids: Iterable[int]) -> Dict[int, int]:
    """Buyer messages no person has read yet, by conversation (absent: none)."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Message.conversation_id, func.count(Message.id))
        .where(
            Message.conversation_id.in_(ids),
            Message.direction == Direction.IN,
            Message.read_at.is_(None),
            Message.kind.notin_(NOT_READ),
        )
        .group_by(Message.conversation_id)
    ).all()
    return {conv_id: count for conv_id, count in rows}


def last_messages(session: Session, conversation_ids: Iterable[int]) -> Dict[int, Message]:
    """Each conversation's latest message."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    inner = aliased(Message)
    newest = select(func.max(inner.id)).where(inner.conversation_id.in_(ids)).group_by(inner.conversation_id)
    found = session.execute(select(Message).where(Message.id.in_(newest.scalar_subquery().correlate(None)))).scalars()
    return {m.conversation_id: m for m in found}


def waiting_since(session: Session, conversation_ids: Iterable[int]) -> Dict[int, Message]:
    """Each conversation's oldest buyer message nobody has answered yet (absent: nobody waits).

    An answer is an agent's reply, or the bot's — but not what the bot said after the buyer
    was handed to a person (queued_at): "正在为您转接" leaves the buyer waiting for the person,
    and the shop's notices answer nothing.
    """
    ids = list(conversation_ids)
    if not ids:
        return {}
    buyer, answer = aliased(Message), aliased(Message)
    answered_up_to = (
        select(func.coalesce(func.max(answer.id), 0))
        .where(
            answer.conversation_id == buyer.conversation_id,
            answer.direction == Direction.OUT,
            answer.kind != NOTICE,
            or_(
                answer.sender == Sender.AGENT,
                and_(
                    answer.sender == Sender.BOT,
                    or_(Conversation.queued_at.is_(None), answer.created_at < Conversation.queued_at),
                ),
            ),
        )
        .correlate(buyer, Conversation)
        .scalar_subquery()
    )
    oldest = (
        select(func.min(buyer.id))
        .join(Conversation, Conversation.id == buyer.conversation_id)
        .where(
            buyer.conversation_id.in_(ids),
            buyer.direction == Direction.IN,
            buyer.kind.notin_(NOT_READ),
            buyer.id > answered_up_to,
        )
        .group_by(buyer.conversation_id)
        .scalar_subquery()
        .correlate(None)
    )
    return {m.conversation_id: m for m in session.execute(select(Message).where(Message.id.in_(oldest))).scalars()}
