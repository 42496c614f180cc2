"""The console app's one HTTP client, and what it asks the Rasa server: relay a buyer's event
to the console channel, read a message (NLU), which model is in service, swap models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Tuple

import aiohttp
from aiohttp import web

from bot import settings, signing

HTTP = web.AppKey("http", aiohttp.ClientSession)
CONSOLE_WEBHOOK = "/webhooks/console/webhook"


async def http_session(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: one client session for the app's lifetime."""
    app[HTTP] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    yield
    await app[HTTP].close()


async def relay_event(app: web.Application, event: Dict[str, Any]) -> Tuple[int, Any]:
    """Send one buyer event to the console channel, signed as a real console signs it;
    the channel's status and answer."""
    payload = json.dumps(event, ensure_ascii=False).encode()
    headers = signing.signed_headers(settings.secret("webhook", event["shop_id"]), payload)
    async with app[HTTP].post(settings.RASA_URL + CONSOLE_WEBHOOK, data=payload, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


def _api(path: str) -> str:
    """A Rasa HTTP API address with the API's token (the Rasa server runs with --auth-token)."""
    return f"{settings.RASA_URL}{path}?token={settings.secret('rasa')}"


async def parse(app: web.Application, text: str) -> Dict[str, Any]:
    """The NLU's reading of a buyer message (no reading when Rasa is unreachable)."""
    try:
        async with app[HTTP].post(_api("/model/parse"), json={"text": text}) as resp:
            return await resp.json()
    except (aiohttp.ClientError, json.JSONDecodeError):
        return {"intent_ranking": []}


async def live_model(app: web.Application) -> Path:
    """The model file Rasa serves now."""
    async with app[HTTP].get(_api("/status")) as resp:
        resp.raise_for_status()
        model_file = Path((await resp.json())["model_file"])
    return model_file if model_file.is_absolute() else settings.MODELS_DIR / model_file.name


async def load_model(app: web.Application, model: str) -> None:
    """Put a model in service without a restart; RuntimeError with Rasa's reason if refused."""
    async with app[HTTP].put(_api("/model"), json={"model_file": model}) as resp:
        if resp.status >= 300:
            raise RuntimeError(await resp.text())
