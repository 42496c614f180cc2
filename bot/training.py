"""Training the Rasa model only when its inputs changed.

The model's name carries a hash of everything that shapes it (config, domain, training
data, jieba dictionary, the code of the project's own pipeline components), so "is there a
model for these inputs" is a file lookup and a second `xiaoer run` skips training — and Rasa's own start-up check — entirely.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Optional

from bot import settings

MODEL_PREFIX = "xiaoer-"


# The project's own pipeline components: changing their code changes the model.
COMPONENT_SOURCES = ("bot/intent_classifier.py", "bot/nlu_components.py", "bot/entities.py", "bot/numbers.py",
                     "bot/chatlog.py", "bot/intents.py")


def training_inputs(root: Path, config: str) -> List[Path]:
    files = [root / config, root / "domain.yml"]
    files += sorted(p for p in (root / "data").rglob("*") if p.is_file())
    files += [root / source for source in COMPONENT_SOURCES]
    return files


def fingerprint(files: Iterable[Path], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(root: Optional[Path] = None, config: Optional[str] = None, models_dir: Optional[Path] = None) -> Path:
    root = root or settings.ROOT
    config = config or settings.NLU_CONFIG
    models_dir = models_dir or settings.MODELS_DIR
    name = MODEL_PREFIX + fingerprint(training_inputs(root, config), extra=config)
    return models_dir / f"{name}.tar.gz"


def rasa_bin() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def ensure_model(
    root: Optional[Path] = None,
    config: Optional[str] = None,
    models_dir: Optional[Path] = None,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """The trained model for the current inputs, training it if there is none."""
    root = root or settings.ROOT
    config = config or settings.NLU_CONFIG
    models_dir = models_dir or settings.MODELS_DIR
    target = model_path(root, config, models_dir)
    if target.exists() and not force:
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    print(f"Training the model ({config}) …", flush=True)
    cmd = [
        rasa_bin(), "train",
        "--config", str(root / config),
        "--domain", str(root / "domain.yml"),
        "--data", str(root / "data"),
        "--out", str(models_dir),
        "--fixed-model-name", target.name[: -len(".tar.gz")],
        "--force",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(cmd, cwd=root, env=env, stdout=subprocess.PIPE if quiet else None,
                            stderr=subprocess.STDOUT if quiet else None, text=True)
    if result.returncode != 0 or not target.exists():
        tail = (result.stdout or "")[-3000:] if quiet else ""
        raise RuntimeError(f"rasa train failed (exit {result.returncode}){': ' + tail if tail else ''}")
    return target
