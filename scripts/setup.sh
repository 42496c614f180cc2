#!/usr/bin/env bash
# Creates .venv at the repo root and installs everything the bot needs, from nothing.
# Rasa 3.6 declares Python <3.11; on 3.11 it works with its dependencies installed from our
# lock file and rasa/rasa-sdk themselves installed with --no-deps (README, "Dependencies").
# Re-running is cheap: nothing is reinstalled unless requirements/lock.txt changed.
#   scripts/setup.sh          the bot
#   scripts/setup.sh --scale  also PostgreSQL, Redis and nginx for `xiaoer run --replicas` (apt)
#   scripts/setup.sh --test   all of it, and headless Chromium for the browser tests (apt)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: Python 3.11 is required ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.xiaoer-lock
if ! cmp -s requirements/lock.txt "$stamp" 2>/dev/null; then
  echo "==> installing dependencies (first time: several minutes, ~3 GB)"
  .venv/bin/pip install --disable-pip-version-check -q --no-deps -r requirements/lock.txt
  .venv/bin/pip install --disable-pip-version-check -q --no-deps --ignore-requires-python \
    rasa==3.6.21 rasa-sdk==3.6.2
  cp requirements/lock.txt "$stamp"
fi
if [ ! -f .venv/.xiaoer-project ] || [ pyproject.toml -nt .venv/.xiaoer-project ]; then
  .venv/bin/pip install --disable-pip-version-check -q --no-deps -e .
  touch .venv/.xiaoer-project
fi

# Debian's packages, installed only when their command is missing: "package:command".
apt_install() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair#*:}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair#*:}" ] || missing+=("${pair%%:*}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]} (Debian's packages)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
# PostgreSQL's server binaries live outside PATH (/usr/lib/postgresql/<version>/bin).
postgres_check() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && echo true || echo postgres-server-missing; }
scale_packages=("postgresql:$(postgres_check)" "redis-server:redis-server" "nginx-light:nginx")
case "${1:-}" in
  --scale) apt_install "${scale_packages[@]}" ;;
  --test) apt_install "${scale_packages[@]}" "chromium:chromium" ;;
esac
echo "==> setup done"
