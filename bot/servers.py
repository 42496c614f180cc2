"""Starting, watching and stopping the three processes: action server, Rasa server, console.

Used by `xiaoer run` (foreground, Ctrl-C stops all; a crashed server is restarted with
backoff) and by the test suite (one set of servers per test session, on their own ports
and database).

Everything listens on `settings.HOST` — loopback unless the shop configures otherwise. Each
run gets its own random secrets for whatever the environment does not set, so a demo never
signs with a value anyone can read in the source; off loopback, every secret must be set by
the shop and no agent may keep a demo password (`refusals`).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from bot import settings
from bot.nlu.training import rasa_bin

logger = logging.getLogger(__name__)
# Seconds before restarting a server that crashed: doubling, up to a minute.
RESTART_BACKOFF = (1, 2, 4, 8, 16, 32, 60)
# A request body bigger than this is refused by the Rasa server (the console's events are
# small; the console channel's own limit on a message is in connectors/console.py). Only the
# Rasa server: what it sends the action server carries the whole conversation.
RASA_MAX_BODY_BYTES = 256 * 1024


@dataclass
class Ports:
    rasa: int = settings.RASA_PORT
    actions: int = settings.ACTIONS_PORT
    console: int = settings.CONSOLE_PORT


def sqlite_path(url: str) -> Optional[str]:
    return url[len("sqlite:///") :] if url.startswith("sqlite:///") else None


def _reach(host: str) -> str:
    """The address the servers use to reach each other."""
    return "127.0.0.1" if host in settings.LOOPBACK or host in ("0.0.0.0", "::") else host


def server_env(ports: Ports, db_url: str, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment shared by all three processes so they agree on ports, database and secrets."""
    env = dict(os.environ)
    host = _reach(env.get("XIAOER_HOST", settings.HOST))
    env.update(
        {
            "XIAOER_RASA_PORT": str(ports.rasa),
            "XIAOER_ACTIONS_PORT": str(ports.actions),
            "XIAOER_CONSOLE_PORT": str(ports.console),
            "XIAOER_RASA_URL": f"http://{host}:{ports.rasa}",
            "XIAOER_ACTIONS_URL": f"http://{host}:{ports.actions}",
            "XIAOER_CONSOLE_URL": f"http://{host}:{ports.console}",
            "XIAOER_DB_URL": db_url,
            # Rasa's tracker store lives in the same SQLite file (see endpoints.yml).
            "XIAOER_TRACKER_DB": sqlite_path(db_url) or str(settings.VAR_DIR / "tracker.db"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(settings.ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    for purpose in settings.SECRETS:  # a fresh one per run for whatever the shop did not set
        name = f"XIAOER_{purpose.upper()}_SECRET"
        if not env.get(name):
            env[name] = secrets.token_urlsafe(32)
    env.update(extra or {})
    return env


def refusals(host: str, demo_passwords_left: bool) -> List[str]:
    """Why the servers must not start on this host (none on loopback)."""
    if host in settings.LOOPBACK:
        return []
    problems = [
        f"XIAOER_{purpose.upper()}_SECRET is not set ({what})"
        for purpose, what in settings.SECRETS.items()
        if not os.environ.get(f"XIAOER_{purpose.upper()}_SECRET")
    ]
    if demo_passwords_left:
        problems.append(
            "an agent still has the demo password: set real passwords (xiaoer seed --reset outside the demo)"
        )
    return problems


def write_credentials(path: Path, rest: bool) -> Path:
    """Rasa's channels: the signed console channel always; the unsigned REST channel only for
    development and tests on loopback (anyone reaching it could talk as any buyer)."""
    lines = ["# Written by `xiaoer run` (bot/servers.py): the channels the Rasa server listens on."]
    if rest:
        lines += ["rest:"]
    lines += ["connectors.console.ConsoleInput:"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Servers:
    model: Path
    ports: Ports = field(default_factory=Ports)
    db_url: str = field(default_factory=settings.database_url)
    log_dir: Path = field(default_factory=lambda: settings.VAR_DIR / "logs")
    extra_env: Dict[str, str] = field(default_factory=dict)
    host: str = settings.HOST
    rest_channel: Optional[bool] = None  # default: on loopback only
    procs: Dict[str, subprocess.Popen] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)
    crashes: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = server_env(self.ports, self.db_url, {"XIAOER_HOST": self.host, **self.extra_env})
        if self.rest_channel is None:
            self.rest_channel = self.host in settings.LOOPBACK

    @property
    def urls(self) -> Dict[str, str]:
        host = _reach(self.host)
        return {
            "console": f"http://{host}:{self.ports.console}",
            "rasa": f"http://{host}:{self.ports.rasa}",
            "actions": f"http://{host}:{self.ports.actions}",
        }

    @property
    def rasa_token(self) -> str:
        return self.env["XIAOER_RASA_SECRET"]

    def commands(self) -> Dict[str, List[str]]:
        root = settings.ROOT
        credentials = write_credentials(self.log_dir.parent / "credentials.yml", bool(self.rest_channel))
        return {
            "actions": [sys.executable, "-m", "actions", "--host", self.host, "--port", str(self.ports.actions)],
            "rasa": [
                rasa_bin(), "run", "--enable-api", "--auth-token", self.rasa_token, "-i", self.host,
                "--port", str(self.ports.rasa), "--model", str(self.model),
                "--endpoints", str(root / "endpoints.yml"), "--credentials", str(credentials),
            ],
            "console": [sys.executable, "-m", "bot.console", "--host", self.host, "--port", str(self.ports.console)],
        }  # fmt: skip

    def start(self, timeout: float = 180) -> None:
        for name in self.commands():
            self._spawn(name)
        self.wait_ready(timeout)

    def restart(self, *names: str, timeout: float = 180) -> None:
        """Stop and start some of the servers (as after a crash or a deploy)."""
        for name in names:
            self.stop_one(name)
        for name in names:
            self._spawn(name)
        self.wait_ready(timeout, names)

    def revive(self) -> List[str]:
        """Restart whatever has died since the last look, waiting longer after each crash of the
        same server; returns what was restarted. (`xiaoer run` calls this every second.)"""
        revived = []
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            crashes = self.crashes.get(name, 0)
            delay = RESTART_BACKOFF[min(crashes, len(RESTART_BACKOFF) - 1)]
            logger.warning("%s server exited with %s; restarting in %ss", name, proc.returncode, delay)
            print(f"{name} server exited with {proc.returncode}; restarting in {delay}s "
                  f"(see {self.log_dir / (name + '.log')})", flush=True)  # fmt: skip
            time.sleep(delay)
            self.crashes[name] = crashes + 1
            self._spawn(name)
            revived.append(name)
        return revived

    def _spawn(self, name: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")
        # Own process group, so stopping kills Rasa's worker children too.
        env = {**self.env, "SANIC_REQUEST_MAX_SIZE": str(RASA_MAX_BODY_BYTES)} if name == "rasa" else self.env
        self.procs[name] = subprocess.Popen(
            self.commands()[name], cwd=settings.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()  # the child has its own copy

    def wait_ready(self, timeout: float, names: tuple = ("actions", "rasa", "console")) -> None:
        checks = {
            "actions": self.urls["actions"] + "/health",
            "rasa": self.urls["rasa"] + "/",
            "console": self.urls["console"] + "/healthz",
        }
        deadline = time.monotonic() + timeout
        pending = {name: checks[name] for name in names}
        while pending:
            for name, url in list(pending.items()):
                proc = self.procs[name]
                if proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"{name} server exited with {proc.returncode}; see {self.log_dir / (name + '.log')}"
                    )
                try:
                    with urllib.request.urlopen(url, timeout=2) as resp:
                        if resp.status == 200:
                            del pending[name]
                except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                    pass
            if pending and time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"not ready after {timeout:.0f}s: {', '.join(pending)}; logs in {self.log_dir}")
            if pending:
                time.sleep(0.5)

    def stop_one(self, name: str, timeout: float = 20) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for name in ["console", "rasa", "actions"]:
            self.stop_one(name)
