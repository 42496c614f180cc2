"""Fixes for hot spots in Rasa 3.6's server, applied when the console channel is loaded.

Both were found by profiling the Rasa server under Double 11 load (benchmarks/cost_breakdown.py)
and change how fast Rasa does a thing, never what it does:

- After every custom action, Rasa checks the action server's answer with
  `jsonschema.validate(answer, schema)`, which first re-checks the *schema* against the JSON
  Schema 2020-12 metaschema, every time: a quarter of the server's CPU. The answer is still
  validated exactly as before, against the same schema, by a validator built once.
- Every event read back from the tracker store found its class by walking all subclasses of
  `Event` (a sixth of reading a tracker); the class found for a type name is now remembered.
- Every call to the action server opened a new HTTP client session, so a new TCP connection
  per action. The endpoint's session is now kept, per event loop, and its connections reused —
  but never one idle for longer than the action server (Sanic) keeps it open: reusing a
  connection the server is closing fails the action ("Can not write request body").
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any, Dict, Text, Tuple

import aiohttp
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.utils.endpoints import EndpointConfig

rasa_original = RemoteAction._validate_action_result  # kept for the test that compares verdicts
rasa_session = EndpointConfig.session
rasa_resolve_by_type = Event.resolve_by_type


@lru_cache(maxsize=1)
def _action_response_validator():
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, not per action
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    try:
        _action_response_validator().validate(result)
        return True
    except ValidationError as e:  # the same message Rasa gives
        e.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


_event_classes: Dict[str, type] = {}


def _resolve_by_type(type_name: Text, default: Any = None) -> Any:
    cls = _event_classes.get(type_name)
    if cls is None:
        cls = rasa_resolve_by_type(type_name, default)
        if cls is not None and cls is not default:
            _event_classes[type_name] = cls
    return cls


_kept_sessions: Dict[Tuple[Any, ...], aiohttp.ClientSession] = {}
ACTION_SERVER_KEEP_ALIVE_SECONDS = 5  # Sanic's KEEP_ALIVE_TIMEOUT, which the action server keeps


class _KeptSession:
    """Stands in for `async with endpoint.session() as session`: the same session every time
    on this event loop, not closed on leaving."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        endpoint = self.endpoint
        headers = tuple(sorted((endpoint.headers or {}).items()))
        key = (endpoint.url, headers, repr(endpoint.basic_auth), id(asyncio.get_running_loop()))
        session = _kept_sessions.get(key)
        if session is None or session.closed:
            made = rasa_session(self.endpoint)  # Rasa's headers, auth and timeout …
            session = _kept_sessions[key] = aiohttp.ClientSession(
                headers=made.headers,
                auth=made.auth,
                timeout=made.timeout,
                connector=aiohttp.TCPConnector(keepalive_timeout=ACTION_SERVER_KEEP_ALIVE_SECONDS - 2),
            )
            await made.close()  # … on a connector that lets an idle connection go first
        return session

    async def __aexit__(self, *exc_info: Any) -> bool:
        return False


def _session(self: EndpointConfig) -> _KeptSession:
    return _KeptSession(self)


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    EndpointConfig.session = _session
    Event.resolve_by_type = staticmethod(_resolve_by_type)
