"""Bad input gets a clear reply or error, and the server keeps serving."""

import asyncio
import json

import aiohttp
import pytest
import requests

from bot import settings, signing
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


# --- everything an attacker tried: a clear 4xx, and the servers keep serving ------------------


def _signed(body: bytes, purpose: str = "webhook") -> dict:
    return signing.signed_headers(settings.secret(purpose), body)


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    "name,body,headers",
    [
        ("non-ASCII signature", b"{}", {"X-Xiaoer-Timestamp": b"1700000000", "X-Xiaoer-Signature": "签名".encode()}),
        ("huge timestamp", b"{}", {"X-Xiaoer-Timestamp": b"9" * 5000, "X-Xiaoer-Signature": b"0" * 64}),
        ("deeply nested JSON", _deep(100000), None),
        ("a number of thousands of digits", b'{"message_id": ' + b"9" * 5000 + b"}", None),
        ("seq beyond 2^63", None, {"seq": 2**63}),
        ("a dict as buyer_nick", None, {"buyer_nick": {"a": 1}}),
        ("a list as buyer_nick", None, {"buyer_nick": ["a"]}),
        ("a lone surrogate", None, {"text": "\ud800 包邮吗"}),
        ("a message_id of 10000 characters", None, {"message_id": "x" * 10000}),
        ("a body of 100 kB", None, {"text": "包" * 40000}),
    ],
)
def test_the_console_channel_refuses_with_a_4xx(servers, name, body, headers):
    if body is None:  # a signed event with one field gone wrong
        event = {**console_event(new_buyer(), "在吗"), **headers}
        body = json.dumps(event, ensure_ascii=True).encode()
        headers = None
    resp = console_post(servers, body, raw=True, headers=headers or _signed(body))
    assert 400 <= resp.status_code < 500, (name, resp.status_code, resp.text[:200])
    assert resp.json()["error"]
    _still_serving(servers)


def test_the_rasa_server_refuses_a_ten_megabyte_body(servers):
    resp = requests.post(servers.urls["rasa"] + "/webhooks/rest/webhook", data=b"x" * (10 * 1024 * 1024),
                         headers={"Content-Type": "application/json"}, timeout=60)  # fmt: skip
    assert resp.status_code == 413
    _still_serving(servers)


@pytest.mark.parametrize(
    "method,path,kwargs",
    [
        ("get", "/api/history", {"headers": {"Cookie": "xiaoer_buyer=买家.坏的".encode()}}),
        ("get", "/api/queue", {"cookies": {"xiaoer_session": "x" * 5000}}),
        ("post", "/api/login", {"json": {"login": "xiaomei", "password": "密" * 40}}),
        ("post", "/api/login", {"json": {"login": ["xiaomei"], "password": {"a": 1}}}),
        ("post", "/api/login", {"data": _deep(100000), "headers": {"Content-Type": "application/json"}}),
        ("post", "/api/session", {"json": {"buyer_id": "9" * 5000}}),
        (
            "post",
            "/api/session",
            {"data": b'{"buyer_id": ' + b"9" * 5000 + b"}", "headers": {"Content-Type": "application/json"}},
        ),  # fmt: skip
        ("post", "/api/trainer/label", {"json": {"message_id": 2**80, "intent": "thank"}}),
    ],
)
def test_the_console_app_refuses_with_a_4xx(servers, method, path, kwargs):
    resp = getattr(requests, method)(servers.urls["console"] + path, timeout=30, **kwargs)
    assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text[:200])
    _still_serving(servers)


def test_a_history_cursor_that_is_not_a_number_reads_from_the_start(servers):
    http = requests.Session()
    http.post(servers.urls["console"] + "/api/session", json={}, timeout=10)
    resp = http.get(servers.urls["console"] + "/api/history", params={"after": "²"}, timeout=10)
    assert resp.status_code == 200 and resp.json()["messages"] == []


def test_an_empty_internal_notice_is_a_400(servers):
    body = b"{}"
    resp = requests.post(servers.urls["console"] + "/internal/buyer-message", data=body,
                         headers=_signed(body, "internal"), timeout=10)  # fmt: skip
    assert resp.status_code == 400 and "conversation_id" in resp.json()["error"]


def test_a_websocket_frame_that_is_not_an_object_gets_an_error_frame(servers):
    async def talk():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # cookies for an IP
            await http.post(servers.urls["console"] + "/api/login", json={"login": "laowang", "password": "xiaoer123"})
            async with http.ws_connect(servers.urls["console"] + "/ws") as ws:
                await ws.receive_json()  # the state
                answers = []
                for frame in (
                    '["open"]',
                    "42",
                    '"x"',
                    "{bad json",
                    json.dumps({"type": "open", "conversation_id": []}),
                ):
                    await ws.send_str(frame)
                    answers.append(await ws.receive_json())
                return answers

    answers = asyncio.run(talk())
    assert all(a["type"] == "error" and a["error"] for a in answers)
    _still_serving(servers)
