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
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot import scale, settings
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
            # The shop's tables and Rasa's tracker store in one database (endpoints.yml).
            "XIAOER_DB_URL": db_url,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            # Rasa's telemetry and its error reports to Sentry would carry buyers' words off the machine.
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(settings.ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    env.update(lock_store_env(env.get("XIAOER_REDIS_URL")))
    for purpose in settings.SECRETS:  # a fresh one per run for whatever the shop did not set
        name = f"XIAOER_{purpose.upper()}_SECRET"
        if not env.get(name):
            env[name] = secrets.token_urlsafe(32)
    env.update(extra or {})
    return env


# Rasa's lock on a buyer, in Redis, outlives a replica that dies holding it by this much (Rasa's
# default is a minute): the other replicas may take the buyer again after it. The channel's own
# buyer lock (connectors/buyer_turns.py) is renewed while held, so a slow turn is still safe.
TICKET_LOCK_SECONDS = 10


def lock_store_env(redis_url: Optional[str]) -> Dict[str, str]:
    """Rasa's lock store (endpoints.yml): in memory for one process, Redis for replicas."""
    if not redis_url:
        return {
            "XIAOER_LOCK_STORE": "in_memory",
            "XIAOER_REDIS_HOST": "",
            "XIAOER_REDIS_PORT": "0",
            "XIAOER_REDIS_PASSWORD": "",
        }
    parsed = urllib.parse.urlsplit(redis_url)
    return {
        "XIAOER_LOCK_STORE": "redis",
        "XIAOER_REDIS_HOST": parsed.hostname or "127.0.0.1",
        "XIAOER_REDIS_PORT": str(parsed.port or 6379),
        "XIAOER_REDIS_PASSWORD": urllib.parse.unquote(parsed.password or ""),
        "TICKET_LOCK_LIFETIME": str(TICKET_LOCK_SECONDS),
    }


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
    """The action server, the Rasa server and the console — or, with `replicas` > 1, that many
    Rasa servers, each with its own action server, on loopback behind nginx (bot/scale.py),
    sharing the shop database (PostgreSQL) and the buyer locks (Redis, `redis_url`). Either way
    the console channel is reached at `urls["rasa"]`."""

    model: Path
    # Shops with a model of their own (bot/nlu/training.py ensure_shop_models): the Rasa
    # server answers their buyers with it (connectors/shop_models.py).
    shop_models: Dict[str, Path] = field(default_factory=dict)
    ports: Ports = field(default_factory=Ports)
    db_url: str = field(default_factory=settings.database_url)
    log_dir: Path = field(default_factory=lambda: settings.VAR_DIR / "logs")
    extra_env: Dict[str, str] = field(default_factory=dict)
    host: str = settings.HOST
    rest_channel: Optional[bool] = None  # default: on loopback only
    replicas: int = 1
    redis_url: Optional[str] = None
    # (Rasa, actions) ports of each replica; by default next to the public ones.
    replica_ports: List[Tuple[int, int]] = field(default_factory=list)
    procs: Dict[str, subprocess.Popen] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)
    crashes: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.replicas > 1 and not self.redis_url:
            raise ValueError("replicas share the buyers through Redis: give redis_url (xiaoer run --replicas)")
        extra = {"XIAOER_HOST": self.host, **({"XIAOER_REDIS_URL": self.redis_url} if self.redis_url else {})}
        extra["XIAOER_SHOP_MODELS"] = ";".join(
            f"{shop_id}={path}" for shop_id, path in sorted(self.shop_models.items())
        )
        self.env = server_env(self.ports, self.db_url, {**extra, **self.extra_env})
        if self.rest_channel is None:
            self.rest_channel = self.host in settings.LOOPBACK
        if self.replicas > 1 and not self.replica_ports:
            self.replica_ports = [(self.ports.rasa + 10 + i, self.ports.actions + 10 + i) for i in range(self.replicas)]

    @property
    def replicated(self) -> bool:
        return self.replicas > 1

    @property
    def urls(self) -> Dict[str, str]:
        host = _reach(self.host)
        actions = self.replica_ports[0][1] if self.replicated else self.ports.actions
        return {
            "console": f"http://{host}:{self.ports.console}",
            "rasa": f"http://{host}:{self.ports.rasa}",  # nginx, when replicated
            "actions": f"http://127.0.0.1:{actions}" if self.replicated else f"http://{host}:{actions}",
        }

    @property
    def rasa_token(self) -> str:
        return self.env["XIAOER_RASA_SECRET"]

    def _rasa_command(self, host: str, port: int) -> List[str]:
        credentials = write_credentials(self.log_dir.parent / "credentials.yml", bool(self.rest_channel))
        # "--auth-token=…" in one word: a random token may start with "-".
        return [
            rasa_bin(), "run", "--enable-api", f"--auth-token={self.rasa_token}", "-i", host, "--port", str(port),
            "--model", str(self.model), "--endpoints", str(settings.ROOT / "endpoints.yml"),
            "--credentials", str(credentials),
        ]  # fmt: skip

    @staticmethod
    def _actions_command(host: str, port: int) -> List[str]:
        return [sys.executable, "-m", "actions", "--host", host, "--port", str(port)]

    def commands(self) -> Dict[str, List[str]]:
        console = [sys.executable, "-m", "bot.console", "--host", self.host, "--port", str(self.ports.console)]
        if not self.replicated:
            return {
                "actions": self._actions_command(self.host, self.ports.actions),
                "rasa": self._rasa_command(self.host, self.ports.rasa),
                "console": console,
            }
        commands = {}
        for i, (rasa_port, actions_port) in enumerate(self.replica_ports, 1):
            commands[f"actions-{i}"] = self._actions_command("127.0.0.1", actions_port)
            commands[f"rasa-{i}"] = self._rasa_command("127.0.0.1", rasa_port)
        commands["nginx"] = scale.nginx_command(self.log_dir.parent / "nginx")
        commands["console"] = console
        return commands

    def _env_for(self, name: str) -> Dict[str, str]:
        env = self.env
        if name.startswith("rasa"):
            # A deep accept queue: at a peak, connections wait their turn rather than time out.
            env = {**env, "SANIC_REQUEST_MAX_SIZE": str(RASA_MAX_BODY_BYTES), "SANIC_BACKLOG": "1024"}
        if self.replicated and name.startswith("rasa-"):
            actions_port = self.replica_ports[int(name.split("-")[1]) - 1][1]
            env = {**env, "XIAOER_ACTIONS_URL": f"http://127.0.0.1:{actions_port}", "XIAOER_REPLICA": name}
        return env

    def _ready_url(self, name: str) -> str:
        if name.startswith("actions-"):
            return f"http://127.0.0.1:{self.replica_ports[int(name.split('-')[1]) - 1][1]}/health"
        if name.startswith("rasa-"):
            return f"http://127.0.0.1:{self.replica_ports[int(name.split('-')[1]) - 1][0]}/webhooks/console/"
        return {
            "actions": self.urls["actions"] + "/health",
            "rasa": self.urls["rasa"] + "/webhooks/console/",  # 200 once the model is warm
            "nginx": self.urls["rasa"] + "/webhooks/console/",
            "console": self.urls["console"] + "/healthz",
        }[name]

    def start(self, timeout: float = 180) -> None:
        if self.replicated:
            upstreams = [rasa for rasa, _ in self.replica_ports]
            listen = (self.host, self.ports.rasa)
            scale.write_nginx_config(self.log_dir.parent / "nginx", listen, upstreams, RASA_MAX_BODY_BYTES)
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
        self.procs[name] = subprocess.Popen(
            self.commands()[name], cwd=settings.ROOT, env=self._env_for(name), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()  # the child has its own copy

    def wait_ready(self, timeout: float, names: Optional[Sequence[str]] = None) -> None:
        deadline = time.monotonic() + timeout
        pending = {name: self._ready_url(name) for name in (names or self.commands())}
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
        scale.stop_process(self.procs.pop(name, None), timeout=timeout)

    def stop(self) -> None:
        order = ["console", "nginx"] + [n for n in self.procs if n.startswith("rasa")]
        for name in order + list(self.procs):
            self.stop_one(name)
