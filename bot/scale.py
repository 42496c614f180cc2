"""The backing services for replicas: PostgreSQL, Redis and nginx from Debian's packages,
started by the project on loopback with their files under var/, and stopped cleanly.

`xiaoer run --replicas N` (bot/cli.py) starts PostgreSQL (the shop database and Rasa's
tracker store), Redis (the buyer locks and Rasa's lock store) and N Rasa servers, each with
its own action server, behind nginx (bot/servers.py). The embedded default — SQLite, one
process each — needs none of this.

Each service gets a random password written to a file only its owner can read; nothing
listens beyond 127.0.0.1. On several machines the same pieces are run by hand or by the
shop's own tooling (README, "Scaling out").
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot import settings

INSTALL_HINT = "apt-get install postgresql redis-server nginx-light (Debian's packages)"


class MissingService(RuntimeError):
    pass


def _binary(name: str, candidates: Sequence[str] = ()) -> str:
    for path in [shutil.which(name), *candidates]:
        if path and os.access(path, os.X_OK):
            return path
    raise MissingService(f"{name} not found: {INSTALL_HINT}")


def _pg_binary(name: str) -> str:
    return _binary(name, sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True))


def available() -> List[str]:
    """The services missing on this machine (empty when replicas can run)."""
    missing = []
    for name, find in (("postgres", _pg_binary), ("redis-server", _binary), ("nginx", _binary)):
        try:
            find(name)
        except MissingService:
            missing.append(name)
    return missing


def _wait_for_port(port: int, what: str, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not listening on {port} after {timeout:.0f}s; see {log}")


def _as_postgres_user(command: List[str]) -> List[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres:
    folder: Path
    port: int
    database: str = "xiaoer"
    user: str = "xiaoer"
    proc: Optional[subprocess.Popen] = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def password(self) -> str:
        return (self.folder / "password").read_text().strip()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> "Postgres":
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            self._init()
        log = self.folder / "postgres.log"
        command = [
            _pg_binary("postgres"), "-D", str(self.data), "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
            "-c", "max_connections=200", "-c", "shared_buffers=256MB",
        ]  # fmt: skip
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                _as_postgres_user(command), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait_for_port(self.port, "PostgreSQL", self.proc, log)
        self._create_database()
        return self

    def _init(self) -> None:
        """A new cluster owned by `postgres` (when root), password login only."""
        password = secrets.token_urlsafe(24)
        (self.folder / "password").write_text(password + "\n")
        os.chmod(self.folder / "password", 0o600)
        pwfile = self.folder / "initdb-password"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            blocked = [p for p in self.folder.resolve().parents if not os.stat(p).st_mode & 0o001]
            if blocked:
                raise RuntimeError(
                    f"PostgreSQL runs as the postgres user, who cannot enter {blocked[0]}: chmod o+x it "
                    f"or put the data elsewhere"
                )
            os.chmod(self.folder, 0o755)
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            done = subprocess.run(
                _as_postgres_user(
                    [_pg_binary("initdb"), "-D", str(self.data), "-U", self.user, "--auth=scram-sha-256",
                     f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"]
                ),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
        finally:
            pwfile.unlink()
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-400:]}")

    def _create_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(
                    host="127.0.0.1", port=self.port, user=self.user, password=self.password, dbname="postgres"
                )
                break
            except psycopg2.OperationalError:  # still starting up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{self.database}"')
        conn.close()

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGINT)  # a "fast" shutdown: clients disconnected, data flushed


@dataclass
class Redis:
    folder: Path
    port: int
    proc: Optional[subprocess.Popen] = None

    @property
    def password(self) -> str:
        return (self.folder / "password").read_text().strip()

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> "Redis":
        self.folder.mkdir(parents=True, exist_ok=True)
        secret = self.folder / "password"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(24) + "\n")
            os.chmod(secret, 0o600)
        # Locks only, all short-lived: nothing to persist. The password comes on stdin, not
        # on the command line where `ps` would show it.
        config = (
            f'port {self.port}\nbind 127.0.0.1\nprotected-mode yes\nsave ""\nappendonly no\n'
            f"dir {self.folder}\nrequirepass {self.password}\nmaxclients 2000\n"
        )
        log = self.folder / "redis.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [_binary("redis-server"), "-"],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        assert self.proc.stdin is not None
        self.proc.stdin.write(config.encode())
        self.proc.stdin.close()
        _wait_for_port(self.port, "Redis", self.proc, log)
        return self

    def stop(self) -> None:
        stop_process(self.proc)


def nginx_config(folder: Path, listen: Tuple[str, int], upstreams: Sequence[int], max_body: int) -> str:
    """Round-robin over the Rasa replicas, least busy first. A console event is retried on
    another replica when its replica fails mid-request: the console channel answers a
    message once whatever reaches it twice (message_id), so the retry is safe there — and
    only there, not on Rasa's other routes."""
    # A replica is set aside for 2 s after 3 failed connections: a dead one costs a refused
    # connection, not a wait; a busy one is not taken for dead after one slow accept.
    servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=3 fail_timeout=2s;" for port in upstreams)
    proxy = (
        'proxy_pass http://rasa; proxy_http_version 1.1; proxy_set_header Connection "";\n'
        "      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr;\n"
        "      proxy_read_timeout 120s; proxy_connect_timeout 5s;"
    )
    host, port = listen
    return f"""# Written by bot/scale.py for `xiaoer run --replicas`.
worker_processes 1;
# Each buyer message in flight holds two connections (buyer side, replica side): at a
# midnight backlog of thousands that is far past nginx's default 1024.
worker_rlimit_nofile 65536;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 32768; }}
http {{
  access_log off;
  client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
  client_max_body_size {max_body};
  upstream rasa {{
    least_conn;
{servers}
    keepalive 128;
  }}
  server {{
    listen {host}:{port};
    location /webhooks/console/ {{
      {proxy}
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 4;
    }}
    location / {{
      {proxy}
    }}
  }}
}}
"""


def nginx_command(folder: Path) -> List[str]:
    return [_binary("nginx", ["/usr/sbin/nginx"]), "-p", str(folder), "-c", str(folder / "nginx.conf"),
            "-g", "daemon off;"]  # fmt: skip


def write_nginx_config(folder: Path, listen: Tuple[str, int], upstreams: Sequence[int], max_body: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nginx.conf").write_text(nginx_config(folder, listen, upstreams, max_body))


@dataclass
class Backing:
    """PostgreSQL and Redis for a replicated run, under `folder` (var/scale by default)."""

    folder: Path = field(default_factory=lambda: settings.VAR_DIR / "scale")
    postgres_port: int = 5433
    redis_port: int = 6380
    postgres: Optional[Postgres] = None
    redis: Optional[Redis] = None

    def start(self) -> "Backing":
        missing = available()
        if missing:
            raise MissingService(f"{', '.join(missing)} not installed: {INSTALL_HINT}")
        self.postgres = Postgres(self.folder / "postgres", self.postgres_port).start()
        try:
            self.redis = Redis(self.folder / "redis", self.redis_port).start()
        except BaseException:
            self.postgres.stop()
            raise
        return self

    @property
    def env(self) -> Dict[str, str]:
        assert self.postgres is not None and self.redis is not None
        return {"XIAOER_DB_URL": self.postgres.url, "XIAOER_REDIS_URL": self.redis.url}

    def stop(self) -> None:
        for service in (self.redis, self.postgres):
            if service is not None:
                service.stop()


def stop_process(proc: Optional[subprocess.Popen], how: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process group started by us: `how`, then SIGKILL after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, how)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
