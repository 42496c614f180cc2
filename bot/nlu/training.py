"""Training the Rasa model only when its inputs changed.

The model's name carries a hash of everything that shapes it (config, domain, training
data, jieba dictionary, the code of the project's own pipeline components), so "is there a
model for these inputs" is a file lookup and a second `xiaoer run` skips training — and
Rasa's own start-up check — entirely.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Optional

from bot import settings
from bot.nlu.curation import TrainerFileError, read_examples

MODEL_PREFIX = "xiaoer-"


# The project's pipeline components (config.yml names them); they and the NLU modules they
# import make the model, so changing their code changes the model.
COMPONENTS = "bot/nlu/components.py"


def pipeline_sources(root: Path) -> List[str]:
    """components.py and every bot/nlu module it imports, directly or not (paths under root)."""
    found, pending = set(), [COMPONENTS]
    while pending:
        source = pending.pop()
        if source in found:
            continue
        found.add(source)
        for node in ast.walk(ast.parse((root / source).read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.nlu"):
                names = [node.module] if node.module != "bot.nlu" else [f"bot.nlu.{a.name}" for a in node.names]
                pending += [name.replace(".", "/") + ".py" for name in names]
    return sorted(found)


def training_inputs(root: Path, config: str) -> List[Path]:
    files = [root / config, root / "domain.yml"]
    files += sorted(p for p in (root / "data").rglob("*") if p.is_file())
    files += [root / source for source in pipeline_sources(root)]
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
    try:  # a label a trainer saved must not break training: say which line to fix
        read_examples(settings.TRAINER_FILE)
    except TrainerFileError as err:
        raise RuntimeError(str(err)) from None
    models_dir.mkdir(parents=True, exist_ok=True)
    print(f"Training the model ({config}) …", flush=True)
    cmd = [
        rasa_bin(),
        "train",
        "--config",
        str(root / config),
        "--domain",
        str(root / "domain.yml"),
        "--data",
        str(root / "data"),
        "--out",
        str(models_dir),
        "--fixed-model-name",
        target.name[: -len(".tar.gz")],
        "--force",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        cmd,
        cwd=root,
        env=env,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
    )
    if result.returncode != 0 or not target.exists():
        tail = (result.stdout or "")[-3000:] if quiet else ""
        raise RuntimeError(f"rasa train failed (exit {result.returncode}){': ' + tail if tail else ''}")
    return target
