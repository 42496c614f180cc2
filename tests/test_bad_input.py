"""Bad input gets a clear reply or error, and the server keeps serving."""

import pytest
import requests

from tests.helpers import console_event, console_post, new_buyer, renderings, rest

pytestmark = pytest.mark.servers


def _still_serving(servers):
    assert rest(servers, new_buyer(), "包邮吗")[0] in renderings("logistics.free_shipping")


# --- Rasa's REST channel -------------------------------------------------------------


def test_rest_malformed_json_is_a_400(servers):
    resp = requests.post(
        servers.urls["rasa"] + "/webhooks/rest/webhook",
        data=b'{"sender": "x", "message": ',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 400
    _still_serving(servers)


@pytest.mark.parametrize("text", ["", "😂😂😂", "🙏"])
def test_rest_empty_or_emoji_only_gets_a_reply(servers, text):
    replies = rest(servers, new_buyer(), text)
    assert replies, "the buyer must get an answer"
    _still_serving(servers)


def test_rest_ten_thousand_characters_gets_a_reply(servers):
    replies = rest(servers, new_buyer(), "衣服" * 5000)
    assert replies
    _still_serving(servers)


# --- the console protocol channel --------------------------------------------------------


def _console(servers, body, raw=False):
    return console_post(servers, body, raw=raw)


def test_console_malformed_json(servers):
    resp = _console(servers, b"{not json", raw=True)
    assert resp.status_code == 400 and "not valid JSON" in resp.json()["error"]


def test_console_wrong_encoding(servers):
    resp = _console(servers, '{"text": "包邮吗"}'.encode("gbk"), raw=True)
    assert resp.status_code == 400 and "UTF-8" in resp.json()["error"]


def test_console_empty_message(servers):
    resp = _console(servers, console_event(new_buyer(), "   "))
    assert resp.status_code == 400 and "empty message" in resp.json()["error"]


def test_console_oversized_message(servers):
    resp = _console(servers, console_event(new_buyer(), "衣服" * 5000))
    assert resp.status_code == 413 and "10000 characters" in resp.json()["error"]


def test_console_unknown_shop_and_type(servers):
    assert _console(servers, console_event(new_buyer(), "在吗", shop_id="nope")).status_code == 404
    assert _console(servers, console_event(new_buyer(), "在吗", type="video")).status_code == 422


def test_console_missing_field(servers):
    event = console_event(new_buyer(), "在吗")
    del event["message_id"]
    resp = _console(servers, event)
    assert resp.status_code == 400 and "message_id" in resp.json()["error"]


def test_console_emoji_only_gets_a_reply(servers):
    resp = _console(servers, console_event(new_buyer(), "😂😂"))
    assert resp.status_code == 200 and resp.json()["replies"]
    _still_serving(servers)
