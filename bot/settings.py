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
# The NLU training data: data/nlu/<area>/<intent>.yml (bot/nlu/intents.py), the lexicon,
# the console events, and the trainers' labels.
NLU_DATA = ROOT / "data" / "nlu"
LEXICON_FILE = NLU_DATA / "lexicon.yml"
# Examples trainers label on the /trainer page; inside data/nlu, so training reads them.
TRAINER_FILE = Path(os.environ.get("XIAOER_TRAINER_FILE", NLU_DATA / "trainer.yml"))
MODELS_DIR = Path(os.environ.get("XIAOER_MODELS", ROOT / "models"))
# The Rasa config to train and serve, relative to ROOT (tuning/ holds the alternatives tried).
NLU_CONFIG = os.environ.get("XIAOER_CONFIG", "config.yml")


def database_url() -> str:
    """SQLAlchemy URL of the shop database; an SQLite file under var/ by default."""
    url = os.environ.get("XIAOER_DB_URL")
    if url:
        return url
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'xiaoer.db'}"


RASA_PORT = int(os.environ.get("XIAOER_RASA_PORT", "5005"))
ACTIONS_PORT = int(os.environ.get("XIAOER_ACTIONS_PORT", "5055"))
CONSOLE_PORT = int(os.environ.get("XIAOER_CONSOLE_PORT", "8000"))
RASA_URL = os.environ.get("XIAOER_RASA_URL", f"http://127.0.0.1:{RASA_PORT}")
CONSOLE_URL = os.environ.get("XIAOER_CONSOLE_URL", f"http://127.0.0.1:{CONSOLE_PORT}")


def console_secret() -> str:
    """The shared secret that signs console requests. The default is for the demo on one
    machine only: production sets XIAOER_CONSOLE_SECRET."""
    return os.environ.get("XIAOER_CONSOLE_SECRET", "xiaoer-demo-secret")
