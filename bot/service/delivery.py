"""Outbound delivery: agent replies and shop notices pushed to the console's callback URL.

A real console (Qianniu-style) receives the agent's messages by callback, signed like the
inbound events. Each push is retried with backoff; every attempt is counted in the
`deliveries` table, and one that never got through stays there with its last error.
(The store chat page in bot/console reads its conversation itself and needs no callback.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Optional, Sequence

import aiohttp

from bot import clock, settings, signing
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Delivery, Message

logger = logging.getLogger(__name__)
BACKOFF_SECONDS: Sequence[float] = (0, 1, 3, 10)


def callback_url(shop_id: str) -> Optional[str]:
    """Where the shop's console wants outbound messages: shop.yml's console.callback_url, else
    the server's XIAOER_CONSOLE_CALLBACK; none by default."""
    return shop(shop_id).console.callback_url or os.environ.get("XIAOER_CONSOLE_CALLBACK") or None


def _payload(message: Message) -> dict:
    conv = message.conversation
    return {
        "message_id": f"out-{message.id}",
        "shop_id": conv.shop_id,
        "buyer_id": conv.buyer_id,
        "sender": message.sender,
        "type": "text",
        "text": message.text,
        "timestamp": int(message.created_at.timestamp()),
    }


async def deliver(message_db_id: int, url: Optional[str] = None, backoff: Sequence[float] = BACKOFF_SECONDS) -> bool:
    """Push one stored message to its shop's console, signed with the shop's key; True once the
    console answered 2xx."""
    with session_scope() as session:
        message = session.get(Message, message_db_id)
        shop_id = message.conversation.shop_id
        url = url or callback_url(shop_id)
        if not url:
            return False
        body = json.dumps(_payload(message), ensure_ascii=False).encode()
        delivery = Delivery(message_id=message_db_id, url=url[:256])
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for delay in backoff:
            await asyncio.sleep(delay)
            error = None
            try:
                headers = signing.signed_headers(settings.secret("callback", shop_id), body)
                async with http.post(url, data=body, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        _record(delivery_id, None, delivered=True)
                        return True
                    error = f"HTTP {resp.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = exc.__class__.__name__
            _record(delivery_id, error, delivered=False)
    logger.warning("message %s not delivered to the console after %d attempts", message_db_id, len(backoff))
    return False


def _record(delivery_id: int, error: Optional[str], delivered: bool) -> None:
    with session_scope() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.attempts += 1
        delivery.last_error = error
        if delivered:
            delivery.delivered_at = clock.now()
