"""Starting and stopping the three processes: action server, Rasa server, console web app.

Used by `xiaoer run` (foreground, Ctrl-C stops all) and by the test suite (one set of
servers per test session, on their own ports and database).
"""

from __future__ import annotations

import os
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


@dataclass
class Ports:
    rasa: int = settings.RASA_PORT
    actions: int = settings.ACTIONS_PORT
    console: int = settings.CONSOLE_PORT


def sqlite_path(url: str) -> Optional[str]:
    return url[len("sqlite:///") :] if url.startswith("sqlite:///") else None


def server_env(ports: Ports, db_url: str, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment shared by all three processes so they agree on ports and database."""
    env = dict(os.environ)
    env.update(
        {
            "XIAOER_RASA_PORT": str(ports.rasa),
            "XIAOER_ACTIONS_PORT": str(ports.actions),
            "XIAOER_CONSOLE_PORT": str(ports.console),
            "XIAOER_RASA_URL": f"http://127.0.0.1:{ports.rasa}",
            "XIAOER_CONSOLE_URL": f"http://127.0.0.1:{ports.console}",
            "XIAOER_DB_URL": db_url,
            # Rasa's tracker store lives in the same SQLite file (see endpoints.yml).
            "XIAOER_TRACKER_DB": sqlite_path(db_url) or str(settings.VAR_DIR / "tracker.db"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(settings.ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Servers:
    model: Path
    ports: Ports = field(default_factory=Ports)
    db_url: str = field(default_factory=settings.database_url)
    log_dir: Path = field(default_factory=lambda: settings.VAR_DIR / "logs")
    extra_env: Dict[str, str] = field(default_factory=dict)
    procs: Dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def urls(self) -> Dict[str, str]:
        return {
            "console": f"http://127.0.0.1:{self.ports.console}",
            "rasa": f"http://127.0.0.1:{self.ports.rasa}",
            "actions": f"http://127.0.0.1:{self.ports.actions}",
        }

    def commands(self) -> Dict[str, List[str]]:
        root = settings.ROOT
        return {
            "actions": [rasa_bin(), "run", "actions", "--actions", "actions", "--port", str(self.ports.actions)],
            "rasa": [
                rasa_bin(),
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "--port",
                str(self.ports.rasa),
                "--model",
                str(self.model),
                "--endpoints",
                str(root / "endpoints.yml"),
                "--credentials",
                str(root / "credentials.yml"),
            ],
            "console": [sys.executable, "-m", "bot.console", "--port", str(self.ports.console)],
        }

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

    def _spawn(self, name: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = server_env(self.ports, self.db_url, self.extra_env)
        log = open(self.log_dir / f"{name}.log", "ab")
        # Own process group, so stopping kills Rasa's worker children too.
        self.procs[name] = subprocess.Popen(
            self.commands()[name],
            cwd=settings.ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()  # the child has its own copy

    def wait_ready(self, timeout: float, names: tuple = ("actions", "rasa", "console")) -> None:
        checks = {
            "actions": self.urls["actions"] + "/health",
            "rasa": self.urls["rasa"] + "/status",
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
