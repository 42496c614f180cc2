"""A restart of the Rasa and action servers loses no conversation state: the tracker store
is the SQL database, so a buyer halfway through the size form carries on at the same step."""

import pytest

from tests.helpers import new_buyer, renderings, rest

pytestmark = pytest.mark.servers


def test_size_form_survives_a_restart(servers):
    buyer = new_buyer()
    assert rest(servers, buyer, "穿多大码合适")[0] in renderings("size.ask_body")
    assert rest(servers, buyer, "一米七五")[0] in renderings("size.ask_weight", height=175)

    servers.restart("rasa", "actions")

    advice = rest(servers, buyer, "140斤")[0]
    assert "XL" in advice.split("\n")[0] and "175" in advice
