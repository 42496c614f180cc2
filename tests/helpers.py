"""Small helpers for tests that talk to the real servers over HTTP."""

from __future__ import annotations

import uuid
from typing import List

import requests

from bot import settings, signing
from bot.shop.phrases import library, shop_slots


def rest(servers, sender: str, text: str) -> List[str]:
    """Send one message through Rasa's REST channel; return the reply texts."""
    resp = requests.post(
        servers.urls["rasa"] + "/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
    )
    resp.raise_for_status()
    return [m["text"] for m in resp.json() if "text" in m]


def rasa_api(servers, path: str) -> str:
    """A Rasa HTTP API address with the API's token (the server runs with --auth-token)."""
    return f"{servers.urls['rasa']}{path}?token={settings.secret('rasa')}"


def console_post(servers, body, raw: bool = False, headers=None):
    """POST to the console channel, signed as the event's shop's console would sign it (unless
    headers given)."""
    import json

    data = body if raw else json.dumps(body, ensure_ascii=False).encode()
    if headers is None:
        shop_id = None if raw else body.get("shop_id")
        headers = signing.signed_headers(settings.secret("webhook", shop_id), data)
    return requests.post(servers.urls["rasa"] + "/webhooks/console/webhook", data=data, headers=headers, timeout=60)


def console_event(buyer_id: str, text: str, **extra) -> dict:
    event = {
        "message_id": str(uuid.uuid4()),
        "shop_id": "qingshan",
        "buyer_id": buyer_id,
        "buyer_nick": buyer_id,
        "type": "text",
        "text": text,
    }
    event.update(extra)
    return event


def renderings(phrase_id: str, **slots) -> List[str]:
    """Every variant of a phrase as the buyer would read it."""
    values = {**shop_slots(), **slots}
    return [
        v.format_map({k: str(int(x)) if isinstance(x, float) and x.is_integer() else str(x) for k, x in values.items()})
        for v in library().get(phrase_id).variants
    ]


def new_buyer() -> str:
    return "guest_" + uuid.uuid4().hex[:10]


def matches(text: str, phrase_id: str) -> bool:
    """The text is one of the phrase's variants, whatever its slots were filled with."""
    import re
    import string

    for variant in library().get(phrase_id).variants:
        pattern = ""
        for literal, name, _, _ in string.Formatter().parse(variant):
            pattern += re.escape(literal) + (".+?" if name else "")
        if re.fullmatch(pattern, text, flags=re.S):
            return True
    return False
