"""Nobody gets in where they don't belong: each finding of the attack on a running stack,
tried again against the real servers (or the code that decides it)."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from rasa.shared.nlu.training_data.loading import load_data
from sqlalchemy import select

from bot import settings, signing
from bot.console.auth import identity_proof
from bot.console.workbench import handle
from bot.nlu import curation
from bot.servers import Servers, refusals, write_credentials
from bot.service import accounts
from bot.store import migrate
from bot.store.db import engine, session_scope
from bot.store.models import Agent, Conversation, Message, Role
from tests.helpers import console_event, console_post, new_buyer, rasa_api, renderings, rest

pytestmark = pytest.mark.servers


def _listeners(port: int):
    """Local addresses listening on a port (from /proc/net/tcp*), as hex."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def _agent_session(servers, login, password="xiaoer123"):
    http = requests.Session()
    resp = http.post(servers.urls["console"] + "/api/login", json={"login": login, "password": password}, timeout=30)
    assert resp.status_code == 200, resp.text
    return http


# --- 1. the action server ------------------------------------------------------------------------


def test_every_server_listens_on_loopback_only(servers):
    for port in (servers.ports.actions, servers.ports.rasa, servers.ports.console):
        assert _listeners(port) and set(_listeners(port)) <= {"0100007F"}, (port, _listeners(port))


def test_the_action_server_runs_actions_only_for_the_rasa_server(servers):
    call = {"next_action": "action_refund", "sender_id": "tb_regular", "tracker": {"sender_id": "tb_regular",
            "slots": {}, "latest_message": {}, "events": []}, "domain": {}}  # fmt: skip
    url = servers.urls["actions"] + "/webhook"
    assert requests.post(url, json=call, timeout=30).status_code == 401
    wrong = requests.post(url, json=call, headers={"X-Xiaoer-Action-Token": "guess"}, timeout=30)
    assert wrong.status_code == 401
    assert requests.get(servers.urls["actions"] + "/health", timeout=10).status_code == 200


# --- 2. buyers ----------------------------------------------------------------------------------


def test_nobody_becomes_a_buyer_by_naming_one(servers):
    base = servers.urls["console"]
    assert requests.post(base + "/api/session", json={"buyer_id": "tb_0001"}, timeout=10).status_code == 403
    guest = requests.post(base + "/api/session", json={}, timeout=10).json()["buyer_id"]
    assert guest.startswith("guest_")
    proven = requests.post(base + "/api/session", json={"buyer_id": "tb_0001", "proof": identity_proof("tb_0001")},
                           timeout=10)  # fmt: skip
    assert proven.status_code == 200 and proven.json()["buyer_id"] == "tb_0001"
    forged = requests.post(base + "/api/session", json={"buyer_id": "tb_0001", "proof": "0" * 32}, timeout=10)
    assert forged.status_code == 403


# --- 3. secrets and passwords -------------------------------------------------------------------


def test_starting_off_loopback_with_demo_secrets_or_passwords_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not (k.startswith("XIAOER_") and k.endswith("_SECRET"))}
    env["XIAOER_DB_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--host", "0.0.0.0"], env=env,
                          capture_output=True, text=True, timeout=300, cwd=settings.ROOT)  # fmt: skip
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0" in done.stderr and "XIAOER_COOKIE_SECRET" in done.stderr
    assert "demo password" in done.stderr
    assert refusals("127.0.0.1", demo_passwords_left=True) == []


def test_keys_are_per_purpose_and_passwords_strong(servers):
    assert len({settings.secret(p) for p in settings.SECRETS}) == len(settings.SECRETS)
    with session_scope() as s:
        hashes = [a.password_hash for a in s.execute(select(Agent)).scalars()]
    assert all(h.startswith("$2b$12$") for h in hashes)


def test_outside_the_demo_a_seeded_agent_sets_a_password_first(servers):
    with session_scope() as s:
        s.add(Agent(shop_id="qingshan", login="newcomer", name="新人", skills=["presale"], role=Role.AGENT,
                    password_hash=accounts.hash_password("initial-pass"), must_change_password=True))  # fmt: skip
    url = servers.urls["console"] + "/api/login"
    first = requests.post(url, json={"login": "newcomer", "password": "initial-pass"}, timeout=30)
    assert first.status_code == 403 and first.json()["change_password"] is True and not first.cookies
    changed = requests.post(url, json={"login": "newcomer", "password": "initial-pass", "new_password": "my own pw 1"},
                            timeout=30)  # fmt: skip
    assert changed.status_code == 200 and changed.cookies.get("xiaoer_session")
    assert requests.post(url, json={"login": "newcomer", "password": "initial-pass"}, timeout=30).status_code == 401


# --- 4. a buyer message that could break training -------------------------------------------------


def test_control_characters_and_markup_never_reach_the_training_data(tmp_path):
    trainer_file = tmp_path / "trainer.yml"
    text = 'ppp\x07好的[呵呵]{"entity": "color"}[x](size)'
    curation.add_example(trainer_file, text, "affirm", {"affirm"}, {})
    written = curation.read_examples(trainer_file)["affirm"][0]
    assert "\x07" not in written and "]{" not in written and "](" not in written
    [example] = load_data(str(trainer_file)).intent_examples  # Rasa reads it, no entity in it
    assert not example.get("entities")


def test_a_broken_trainer_file_is_an_error_naming_the_line(servers, tmp_path):
    good = Path(os.environ["XIAOER_TRAINER_FILE"])
    backup = good.read_text(encoding="utf-8") if good.exists() else None
    good.write_text('version: "3.1"\nnlu:\n- intent: affirm\n  examples: |\n    - ok\n   bad: [\n', encoding="utf-8")
    try:
        http = _agent_session(servers, "ajie")
        resp = http.get(servers.urls["console"] + "/api/trainer/review", timeout=30)
        assert resp.status_code == 409 and "trainer.yml 第 6 行格式有误" in resp.json()["error"]
    finally:
        good.write_text(backup, encoding="utf-8") if backup is not None else good.unlink()


# --- 5, 6. keys per direction; Rasa's own API --------------------------------------------------------


def test_an_outbound_callback_cannot_be_replayed_as_a_buyer_message(servers):
    body = json.dumps(console_event(new_buyer(), "我要退款"), ensure_ascii=False).encode()
    headers = signing.signed_headers(settings.secret("callback"), body)
    assert console_post(servers, body, raw=True, headers=headers).status_code == 401


def test_rasas_http_api_needs_its_token(servers):
    assert requests.get(servers.urls["rasa"] + "/status", timeout=10).status_code == 401
    assert requests.put(servers.urls["rasa"] + "/model", json={"model_file": "x"}, timeout=10).status_code == 401
    tracker = requests.get(servers.urls["rasa"] + "/conversations/tb_regular/tracker", timeout=10)
    assert tracker.status_code == 401
    assert requests.get(rasa_api(servers, "/status"), timeout=10).status_code == 200


def test_the_unsigned_rest_channel_is_for_loopback_development_only(tmp_path):
    assert Servers(model=tmp_path / "m.tar.gz", host="0.0.0.0").rest_channel is False
    assert Servers(model=tmp_path / "m.tar.gz", host="127.0.0.1").rest_channel is True
    assert "rest:" not in write_credentials(tmp_path / "c.yml", rest=False).read_text()


# --- 7. message ids are per buyer --------------------------------------------------------------------


def test_a_message_id_reused_by_another_buyer_is_that_buyers_own_message(servers):
    shared_id = f"m-{uuid.uuid4().hex}"
    first = console_post(servers, console_event(new_buyer(), "包邮吗", message_id=shared_id)).json()
    other = new_buyer()
    second = console_post(servers, console_event(other, "今天能发货吗", message_id=shared_id)).json()
    assert second["duplicate"] is False and second["replies"] != first["replies"]
    with session_scope() as s:
        conv = s.execute(select(Conversation).where(Conversation.buyer_id == other)).scalar_one()
        stored = s.execute(select(Message).where(Message.conversation_id == conv.id)).scalars().all()
        assert [m.text for m in stored if m.direction == "in"] == ["今天能发货吗"]
    long_id = console_post(servers, console_event(new_buyer(), "在吗", message_id="x" * 65))
    assert long_id.status_code == 400 and "64" in long_id.json()["error"]


# --- 8. a crashed server comes back ----------------------------------------------------------------


def test_a_crashed_server_is_restarted(servers):
    servers.procs["console"].kill()
    servers.procs["console"].wait()
    assert servers.revive() == ["console"]
    servers.wait_ready(60, ("console",))
    assert requests.get(servers.urls["console"] + "/healthz", timeout=10).status_code == 200


# --- 10–13. sessions, origin, guessing, roles -------------------------------------------------------


def test_logout_ends_the_session_and_https_cookies_are_secure(servers):
    http = _agent_session(servers, "xiaomei")
    token = http.cookies.get("xiaoer_session")
    assert http.get(servers.urls["console"] + "/api/queue", timeout=10).status_code == 200
    assert http.post(servers.urls["console"] + "/api/logout", timeout=10).status_code == 200
    stolen = requests.get(servers.urls["console"] + "/api/queue", cookies={"xiaoer_session": token}, timeout=10)
    assert stolen.status_code == 401
    secure = requests.post(servers.urls["console"] + "/api/login", json={"login": "xiaomei", "password": "xiaoer123"},
                           headers={"X-Forwarded-Proto": "https"}, timeout=30)  # fmt: skip
    assert "Secure" in secure.headers["Set-Cookie"] and "HttpOnly" in secure.headers["Set-Cookie"]


def test_changes_from_another_site_or_not_in_json_are_refused(servers):
    url = servers.urls["console"] + "/api/login"
    evil = requests.post(url, json={"login": "xiaomei", "password": "xiaoer123"},
                         headers={"Origin": "http://evil.example"}, timeout=30)  # fmt: skip
    assert evil.status_code == 403
    form = requests.post(url, data="login=xiaomei&password=xiaoer123",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)  # fmt: skip
    assert form.status_code == 415
    http = _agent_session(servers, "xiaomei")
    ws = http.get(servers.urls["console"] + "/ws", headers={"Origin": "http://evil.example", "Upgrade": "websocket",
                  "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                  "Sec-WebSocket-Version": "13"}, timeout=10)  # fmt: skip
    assert ws.status_code == 403


def test_guessing_a_password_is_locked_out(servers):
    with session_scope() as s:
        s.add(Agent(shop_id="qingshan", login="guessme", name="猜", skills=["presale"],
                    password_hash=accounts.hash_password("right password")))  # fmt: skip
    url = servers.urls["console"] + "/api/login"
    for _ in range(accounts.MAX_FAILURES_PER_LOGIN):
        assert requests.post(url, json={"login": "guessme", "password": "wrong"}, timeout=30).status_code == 401
    locked = requests.post(url, json={"login": "guessme", "password": "right password"}, timeout=30)
    assert locked.status_code == 429


def test_roles_decide_who_may_retrain_switch_modes_and_take_another_agents_buyer(servers):
    base = servers.urls["console"]
    agent, trainer = _agent_session(servers, "xiaomei"), _agent_session(servers, "ajie")
    assert agent.get(base + "/api/trainer/review", timeout=30).status_code == 403
    assert agent.get(base + "/trainer", timeout=10, allow_redirects=False).status_code == 403
    assert trainer.get(base + "/api/trainer/review", timeout=30).status_code == 200
    assert agent.post(base + "/api/trainer/retrain", timeout=10).status_code == 403
    with session_scope() as s:
        roles = {a.login: a.role for a in s.execute(select(Agent)).scalars()}
    assert (roles["xiaomei"], roles["ajie"], roles["laowang"]) == (Role.AGENT, Role.TRAINER, Role.SUPERVISOR)


def test_only_a_supervisor_switches_the_mode_or_takes_another_agents_buyer(servers):
    with session_scope() as s:
        ids = {a.login: a.id for a in s.execute(select(Agent)).scalars()}
        conv = Conversation(shop_id="qingshan", buyer_id=new_buyer(), handled_by="agent", agent_id=ids["ajie"])
        s.add(conv)
        s.flush()
        conv_id = conv.id
    with pytest.raises(PermissionError):
        asyncio.run(handle(None, ids["xiaomei"], {"type": "mode", "mode": "assist"}))
    with pytest.raises(PermissionError):
        asyncio.run(handle(None, ids["xiaomei"], {"type": "take_over", "conversation_id": conv_id}))


# --- 14. buyers' words never in error logs ------------------------------------------------------------


def test_a_failing_insert_does_not_carry_the_buyers_words(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    migrate.upgrade(url)
    with pytest.raises(Exception) as failure:
        with engine(url).begin() as connection:
            connection.execute(Message.__table__.insert().values(text="我家住在中山北路100号", direction="in"))
    assert "中山北路100号" not in str(failure.value)
    assert "hidden" in str(failure.value).lower()


def test_still_serving_after_all_that(servers):
    assert rest(servers, new_buyer(), "包邮吗")[0] in renderings("logistics.free_shipping")
