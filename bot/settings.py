"""Where things live and how the processes find each other.

Everything can be overridden by environment variables so that tests and production can
point the same code at other files, databases and ports.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("XIAOER_ROOT", Path(__file__).resolve().parent.parent))
VAR_DIR = Path(os.environ.get("XIAOER_VAR", ROOT / "var"))
SHOP_CONFIG = Path(os.environ.get("XIAOER_SHOP", ROOT / "shop.yml"))
RESPONSES_DIR = Path(os.environ.get("XIAOER_RESPONSES", ROOT / "responses"))
# The other shops served by the same server: shops/<shop_id>/shop.yml, with the shop's own
# phrases in shops/<shop_id>/responses/*.yml over the shared responses/ (bot/shop/config.py).
SHOPS_DIR = Path(os.environ.get("XIAOER_SHOPS", ROOT / "shops"))
# The NLU training data: data/nlu/<area>/<intent>.yml (bot/nlu/intents.py), the lexicon,
# the console events, and the trainers' labels.
NLU_DATA = ROOT / "data" / "nlu"
LEXICON_FILE = NLU_DATA / "lexicon.yml"
# Examples trainers label on the /trainer page; inside data/nlu, so training reads them.
TRAINER_FILE = Path(os.environ.get("XIAOER_TRAINER_FILE", NLU_DATA / "trainer.yml"))
MODELS_DIR = Path(os.environ.get("XIAOER_MODELS", ROOT / "models"))
# The last Double 11 rehearsal (`xiaoer rehearse`): its report, beside its chart (.png) — the
# default shop's; another shop's is beside it (bot/shop/staffing.py, rehearsal_file).
REHEARSAL_REPORT = Path(os.environ.get("XIAOER_REHEARSAL_REPORT", ROOT / "reports" / "rehearsal.json"))
# The webhook key of the running `xiaoer run` (mode 600, removed at stop): what a console on
# this machine — `xiaoer rehearse`, a benchmark — signs with when the shop set none.
RUN_WEBHOOK_SECRET_FILE = VAR_DIR / "webhook.secret"
# The Rasa config to train and serve, relative to ROOT (tuning/ holds the alternatives tried).
NLU_CONFIG = os.environ.get("XIAOER_CONFIG", "config.yml")


def database_url() -> str:
    """SQLAlchemy URL of the shop database; an SQLite file under var/ by default."""
    url = os.environ.get("XIAOER_DB_URL")
    if url:
        return url
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'xiaoer.db'}"


def redis_url() -> str | None:
    """Redis, when Rasa replicas share the buyers (`xiaoer run --replicas`): the buyer locks
    (connectors/buyer_turns.py) and Rasa's lock store live there. None for one process."""
    return os.environ.get("XIAOER_REDIS_URL") or None


RASA_PORT = int(os.environ.get("XIAOER_RASA_PORT", "5005"))
ACTIONS_PORT = int(os.environ.get("XIAOER_ACTIONS_PORT", "5055"))
CONSOLE_PORT = int(os.environ.get("XIAOER_CONSOLE_PORT", "8000"))
RASA_URL = os.environ.get("XIAOER_RASA_URL", f"http://127.0.0.1:{RASA_PORT}")
CONSOLE_URL = os.environ.get("XIAOER_CONSOLE_URL", f"http://127.0.0.1:{CONSOLE_PORT}")


# Where the three servers listen. Loopback unless the shop configures otherwise; then every
# secret below must be set and the demo is off (bot/servers.py refuses to start if not).
HOST = os.environ.get("XIAOER_HOST", "127.0.0.1")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# One key per purpose, so that nothing signed for one can be replayed as another (a console's
# outbound callback is not a buyer's inbound event; a cookie is not a webhook):
SECRETS = {
    "webhook": "the console signs buyer events sent to the Rasa console channel",
    "callback": "the shop signs agent replies and notices pushed to the console's callback URL",
    "internal": "the Rasa channel signs its notices to the console app (a buyer waits for an agent)",
    "cookie": "the console app signs agents' session and buyers' identity cookies",
    "identity": "the console platform signs the buyer identities it vouches for (POST /api/session)",
    "action": "the Rasa server's token for the action server (a header on every action call)",
    "rasa": "the token of the Rasa server's HTTP API, which the console app and trainer send",
}
DEMO_SECRET_PREFIX = "xiaoer-demo-"
# The keys between a shop and its console: a shop whose console is not the server's (an agency
# serving shops on different platforms) sets its own, XIAOER_SHOP_<SHOP_ID>_<PURPOSE>_SECRET;
# a shop without one shares the server's. The rest are the server's own, one per server.
SHOP_SECRETS = ("webhook", "callback")


def secret(purpose: str, shop_id: str | None = None) -> str:
    """XIAOER_<PURPOSE>_SECRET; without it, a demo value that only a loopback demo accepts.
    With a shop, that shop's own key for the SHOP_SECRETS when it has one."""
    if purpose not in SECRETS:
        raise KeyError(f"no secret for {purpose!r}; known: {', '.join(SECRETS)}")
    if shop_id and purpose in SHOP_SECRETS:
        own = os.environ.get(shop_secret_variable(shop_id, purpose))
        if own:
            return own
    return os.environ.get(f"XIAOER_{purpose.upper()}_SECRET") or DEMO_SECRET_PREFIX + purpose


def shop_secret_variable(shop_id: str, purpose: str) -> str:
    """The environment variable of a shop's own key (shop ids may have '-', variables may not)."""
    return f"XIAOER_SHOP_{shop_id.upper().replace('-', '_')}_{purpose.upper()}_SECRET"


def demo_secrets() -> list:
    """The purposes still signed with a demo value."""
    return [purpose for purpose in SECRETS if secret(purpose).startswith(DEMO_SECRET_PREFIX)]


def on_loopback(host: str | None = None) -> bool:
    return (host or HOST) in LOOPBACK


def demo() -> bool:
    """The demo (pick a demo buyer on the store page, demo agents without a password change)
    runs only on loopback, and XIAOER_DEMO=0 turns it off there too."""
    return on_loopback() and os.environ.get("XIAOER_DEMO", "1") != "0"
