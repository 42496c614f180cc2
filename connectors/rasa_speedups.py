"""A fix for a hot spot in Rasa 3.6's server, applied when the console channel is loaded.

After every custom action, Rasa checks the action server's answer with
`jsonschema.validate(answer, schema)`. That call first re-checks the *schema* against the
JSON Schema 2020-12 metaschema, every time: under Double 11 load it was a quarter of the
Rasa server's CPU (py-spy, benchmarks/peak_load.py). The answer is still validated exactly
as before, against the same schema, by a validator built once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

rasa_original = RemoteAction._validate_action_result  # kept for the test that compares verdicts


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


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result
