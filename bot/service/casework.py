"""What an agent does with a conversation besides answering it: transfer it to a colleague
with a note, write internal notes, tag it, set its state (open, waiting for the buyer,
resolved), and find it again later (history search).

Every function here acts only inside the agent's own shop, and the errors say in Chinese
what is wrong (the workbench shows them as they are): `NotAllowed` (403), `NotFound` (404),
`Invalid` (400).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.orm import Session

from bot.service import agents
from bot.shop.config import ShopConfig
from bot.store import conversations
from bot.store.models import (
    Agent,
    AgentStatus,
    Buyer,
    Conversation,
    ConversationNote,
    ConversationState,
    Handler,
    Message,
    NoteKind,
    Order,
    Role,
)

MAX_NOTE_CHARS = 500
MAX_TAG_CHARS = 8
MAX_TAGS = 8
MAX_QUERY_CHARS = 40
HISTORY_RESULTS = 30
# The tags a shop's agents reach for most; any other short tag can be typed.
SUGGESTED_TAGS = ("尺码", "物流", "催发货", "退款", "换货", "质量问题", "议价", "大客户", "差评风险", "待跟进")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CLOSENESS = {"订单号": 0, "买家": 1, "标签": 2, "聊天内容": 3, "最近": 4}


class DeskError(Exception):
    """A workbench action refused, with the reason in Chinese."""

    status = 400


class NotAllowed(DeskError, PermissionError):
    status = 403


class NotFound(DeskError, LookupError):
    status = 404


class Invalid(DeskError, ValueError):
    status = 400


def _is_supervisor(agent: Agent) -> bool:
    return Role(agent.role).allows(Role.SUPERVISOR)


def conversation_of_shop(session: Session, agent: Agent, conversation_id: object) -> Conversation:
    """A conversation of the agent's shop by its id (as the page sends it)."""
    if isinstance(conversation_id, bool) or not str(conversation_id).isdigit() or len(str(conversation_id)) > 12:
        raise Invalid("会话编号不对")
    conv = session.get(Conversation, int(str(conversation_id)))
    if conv is None or conv.shop_id != agent.shop_id:
        raise NotAllowed("这不是本店的会话")
    return conv


def own_conversation(session: Session, agent: Agent, conversation_id: object) -> Conversation:
    """A conversation the agent holds now (a supervisor may act on any of the shop's)."""
    conv = conversation_of_shop(session, agent, conversation_id)
    if conv.agent_id != agent.id or conv.handled_by != Handler.AGENT:
        if conv.handled_by == Handler.AGENT and conv.agent_id is not None and _is_supervisor(agent):
            return conv
        raise NotAllowed("这位买家不在你的接待中：请先接管")
    return conv


def _clean(text: object, what: str, limit: int) -> str:
    if not isinstance(text, str):
        raise Invalid(f"{what}要填文字")
    text = _CONTROL.sub(" ", text).strip()
    if not text:
        raise Invalid(f"{what}不能为空")
    if len(text) > limit:
        raise Invalid(f"{what}最多{limit}个字")
    return text


# --- transfer --------------------------------------------------------------------------------


def colleagues(session: Session, agent: Agent) -> List[Agent]:
    """The agent's colleagues in the same shop (not the agent), online first."""
    found = session.execute(select(Agent).where(Agent.shop_id == agent.shop_id, Agent.id != agent.id)).scalars()
    order = {AgentStatus.ONLINE: 0, AgentStatus.BUSY: 1, AgentStatus.AWAY: 2}
    return sorted(found, key=lambda a: (order[AgentStatus(a.status)], a.id))


def transfer(
    session: Session, conv: Conversation, agent: Agent, to_agent_id: object, note: object, now: datetime
) -> Agent:
    """Hand a buyer the agent holds to an online colleague of the same shop, with a note the
    colleague reads first. Returns the colleague."""
    if isinstance(to_agent_id, bool) or not isinstance(to_agent_id, int):
        raise Invalid("请选择要转交的同事")
    colleague = session.get(Agent, to_agent_id)
    if colleague is None or colleague.shop_id != agent.shop_id:
        raise NotFound("没有这位同事")
    if colleague.id == conv.agent_id:
        raise Invalid("这位买家已经由他/她接待")
    if colleague.status != AgentStatus.ONLINE:
        raise Invalid(f"{colleague.name}现在不在线，不能转交")
    if agents.load(session, colleague) >= colleague.max_sessions:
        raise Invalid(f"{colleague.name}的接待已满（{colleague.max_sessions}人）")
    text = "" if note in (None, "") else _clean(note, "转交说明", MAX_NOTE_CHARS)
    conv.handled_by, conv.agent_id = Handler.AGENT, colleague.id
    conv.state = ConversationState.OPEN
    session.add(
        ConversationNote(
            conversation_id=conv.id,
            agent_id=agent.id,
            kind=NoteKind.TRANSFER,
            to_agent_id=colleague.id,
            text=text,
            created_at=now,
        )
    )
    agents.announce(session, conv, "agent.joined", {"agent_name": colleague.name})
    session.flush()
    return colleague


# --- notes and tags ----------------------------------------------------------------------------


def add_note(session: Session, conv: Conversation, agent: Agent, text: object, now: datetime) -> ConversationNote:
    """An internal note on the conversation: for colleagues, never shown to the buyer."""
    note = ConversationNote(
        conversation_id=conv.id,
        agent_id=agent.id,
        kind=NoteKind.NOTE,
        text=_clean(text, "备注", MAX_NOTE_CHARS),
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


def notes(session: Session, conv: Conversation) -> List[ConversationNote]:
    return list(
        session.execute(
            select(ConversationNote).where(ConversationNote.conversation_id == conv.id).order_by(ConversationNote.id)
        ).scalars()
    )


def latest_transfer(session: Session, conv: Conversation) -> Optional[ConversationNote]:
    """The transfer that brought the conversation to its current agent, if that is how it came."""
    last = session.execute(
        select(ConversationNote)
        .where(ConversationNote.conversation_id == conv.id, ConversationNote.kind == NoteKind.TRANSFER)
        .order_by(ConversationNote.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return last if last is not None and last.to_agent_id == conv.agent_id else None


def add_tag(conv: Conversation, tag: object) -> List[str]:
    tag = _clean(tag, "标签", MAX_TAG_CHARS)
    if any(ch.isspace() for ch in tag):
        raise Invalid("标签里不能有空格")
    tags = list(conv.tags or [])
    if tag not in tags:
        if len(tags) >= MAX_TAGS:
            raise Invalid(f"一个会话最多{MAX_TAGS}个标签")
        tags.append(tag)
    conv.tags = tags  # a new list: the JSON column sees the change
    return tags


def remove_tag(conv: Conversation, tag: object) -> List[str]:
    if not isinstance(tag, str):
        raise Invalid("标签要填文字")
    conv.tags = [t for t in (conv.tags or []) if t != tag.strip()]
    return list(conv.tags)


# --- states ------------------------------------------------------------------------------------


def set_state(
    session: Session, conv: Conversation, agent: Agent, state: object, cfg: ShopConfig, now: datetime
) -> ConversationState:
    """Open, waiting for the buyer, or resolved. Resolving ends the agent's reception: the
    agent's place frees up for the next waiting buyer and the bot answers this one again (a
    buyer who writes later reopens the conversation)."""
    if state not in set(ConversationState):
        raise Invalid("会话状态只能是：进行中、等待买家、已解决")
    state = ConversationState(state)
    conv.state = state
    if state == ConversationState.RESOLVED:
        conv.resolved_at = now
        holder = session.get(Agent, conv.agent_id) if conv.agent_id else agent
        agents.give_back(session, conv)
        agents.announce(session, conv, "agent.left", {"agent_name": holder.name})
        session.flush()
        agents.move_queue(session, conv.shop_id, cfg, now)
    session.flush()
    return state


# --- history -----------------------------------------------------------------------------------


@dataclass
class Found:
    conversation: Conversation
    buyer_nick: str
    matched: str  # what matched, in Chinese: 买家 / 聊天内容 / 订单号 / 标签
    snippet: str  # the matching words, or the last thing said


def search_history(session: Session, agent: Agent, query: object, limit: int = HISTORY_RESULTS) -> List[Found]:
    """The shop's conversations whose buyer nick, messages, orders or tags hold the query,
    most recent first; an empty query lists the most recent ones."""
    if query is None:
        query = ""
    if not isinstance(query, str):
        raise Invalid("搜索内容要填文字")
    query = _CONTROL.sub(" ", query).strip()
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid(f"搜索内容最多{MAX_QUERY_CHARS}个字")
    shop_conversations = select(Conversation).where(Conversation.shop_id == agent.shop_id)
    matched: Dict[int, tuple] = {}  # conversation id → (what matched, snippet)
    if not query:
        recent = shop_conversations.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        for conv in session.execute(recent.limit(limit)).scalars():
            matched.setdefault(conv.id, ("最近", ""))
    else:
        by_buyer = (
            select(Conversation.id)
            .join(Buyer, and_(Buyer.shop_id == Conversation.shop_id, Buyer.id == Conversation.buyer_id))
            .where(
                Conversation.shop_id == agent.shop_id,
                or_(Buyer.nick.contains(query, autoescape=True), Buyer.id == query),
            )
        )
        for (conv_id,) in session.execute(by_buyer.limit(limit)):
            matched.setdefault(conv_id, ("买家", ""))
        orders = select(Order.buyer_id, Order.id).where(
            Order.shop_id == agent.shop_id, Order.id.contains(query, autoescape=True)
        )
        order_of = {buyer_id: order_id for buyer_id, order_id in session.execute(orders.limit(limit))}
        if order_of:
            by_order = select(Conversation.id, Conversation.buyer_id).where(
                Conversation.shop_id == agent.shop_id, Conversation.buyer_id.in_(order_of)
            )
            for conv_id, buyer_id in session.execute(by_order):
                matched.setdefault(conv_id, ("订单号", f"订单 {order_of[buyer_id]}"))
        by_tag = select(Conversation).where(
            Conversation.shop_id == agent.shop_id,
            cast(Conversation.tags, String).contains(_json_text(query), autoescape=True),
        )
        for conv in session.execute(by_tag.limit(limit)).scalars():
            tag = next((t for t in conv.tags or [] if query in t), None)
            if tag is not None:
                matched.setdefault(conv.id, ("标签", tag))
        by_text = (
            select(Message.conversation_id, Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.shop_id == agent.shop_id, Message.text.contains(query, autoescape=True))
            .order_by(Message.id.desc())
            .limit(limit * 4)
        )
        for conv_id, text in session.execute(by_text):
            matched.setdefault(conv_id, ("聊天内容", _around(text, query)))
    if not matched:
        return []
    # An order number, the buyer or a tag is a closer match than a word somewhere in the chat.
    convs = session.execute(select(Conversation).where(Conversation.id.in_(matched))).scalars().all()
    convs = sorted(convs, key=lambda c: (_CLOSENESS[matched[c.id][0]], -c.last_message_at.timestamp(), -c.id))[:limit]
    nicks = {  # the shop's own rows: the same platform buyer may have another nick in another shop
        b.id: b.nick
        for b in session.execute(
            select(Buyer).where(Buyer.shop_id == agent.shop_id, Buyer.id.in_([c.buyer_id for c in convs]))
        ).scalars()
    }
    last = conversations.last_messages(session, [c.id for c in convs])
    found = []
    for conv in convs:
        what, snippet = matched[conv.id]
        if not snippet and conv.id in last:
            snippet = last[conv.id].text[:60]
        found.append(Found(conv, nicks.get(conv.buyer_id, conv.buyer_id), what, snippet))
    return found


def _json_text(text: str) -> str:
    """How a tag is spelled inside the stored JSON list (non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


def _around(text: str, query: str, width: int = 24) -> str:
    at = max(0, text.find(query))
    start = max(0, at - width // 2)
    end = start + len(query) + width
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
