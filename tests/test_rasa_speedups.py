"""The faster check of action server answers accepts and refuses what Rasa's own does."""

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from connectors import rasa_speedups


@pytest.mark.parametrize(
    "answer, valid",
    [
        ({"events": [{"event": "slot", "name": "order_id", "value": "1"}], "responses": [{"text": "好的"}]}, True),
        ({"events": [], "responses": []}, True),
        ({"events": "not a list", "responses": []}, False),
        ({"events": [{"no_event_key": 1}], "responses": []}, False),
    ],
)
def test_same_verdict_as_rasa(answer, valid):
    action = RemoteAction("action_answer", None)
    verdicts = []
    for check in (rasa_speedups.rasa_original, rasa_speedups._validate_action_result):
        try:
            verdicts.append(check(action, answer))
        except jsonschema.ValidationError as e:
            verdicts.append("Failed to validate Action server response" in e.message and "refused")
    assert verdicts == ([True, True] if valid else ["refused", "refused"])


def test_event_classes_are_found_as_rasa_finds_them():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    for cls in all_subclasses(Event):
        if getattr(cls, "type_name", None) and cls.type_name != "event":
            assert rasa_speedups._resolve_by_type(cls.type_name) is rasa_speedups.rasa_resolve_by_type(cls.type_name)
    assert rasa_speedups._resolve_by_type("no such event", default=Event) is Event
    with pytest.raises(ValueError):
        rasa_speedups._resolve_by_type("no such event")


async def test_the_action_endpoint_keeps_one_session_per_event_loop():
    from rasa.utils.endpoints import EndpointConfig

    endpoint = EndpointConfig("http://127.0.0.1:1/webhook", headers={"X": "1"})
    async with rasa_speedups._session(endpoint) as first, rasa_speedups._session(endpoint) as second:
        assert first is second and not first.closed
    other = EndpointConfig("http://127.0.0.1:1/webhook", headers={"X": "2"})
    async with rasa_speedups._session(other) as third:
        assert third is not first  # other headers, another session
    await first.close()
    await third.close()
