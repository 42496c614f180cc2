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
