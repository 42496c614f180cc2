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
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

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


def _where(root: Optional[Path], config: Optional[str], models_dir: Optional[Path]) -> Tuple[Path, str, Path]:
    """The project, the Rasa config and the models folder: those given, else the settings'."""
    return root or settings.ROOT, config or settings.NLU_CONFIG, models_dir or settings.MODELS_DIR


def model_path(
    root: Optional[Path] = None,
    config: Optional[str] = None,
    models_dir: Optional[Path] = None,
    shop_id: Optional[str] = None,
) -> Path:
    """Where the model for the current inputs is (with a shop: that shop's own model)."""
    root, config, models_dir = _where(root, config, models_dir)
    if shop_id is None:
        name = MODEL_PREFIX + fingerprint(training_inputs(root, config), extra=config)
    else:
        name = f"{MODEL_PREFIX}{shop_id}-" + fingerprint(
            _shop_inputs(shop_id, root, config), f"{config} shop:{shop_id}"
        )
    return models_dir / f"{name}.tar.gz"


def rasa_bin() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def ensure_model(
    root: Optional[Path] = None,
    config: Optional[str] = None,
    models_dir: Optional[Path] = None,
    force: bool = False,
    quiet: bool = False,
    shop_id: Optional[str] = None,
) -> Path:
    """The trained model for the current inputs, training it if there is none; with a shop, that
    shop's own (the shared data and its own, below)."""
    root, config, models_dir = _where(root, config, models_dir)
    if shop_id is not None and not has_own_model(shop_id, root):
        raise ValueError(f"shop {shop_id} has no examples of its own (shops/{shop_id}/data/nlu/*.yml)")
    target = model_path(root, config, models_dir, shop_id)
    if target.exists() and not force:
        return target
    try:  # a label a trainer saved must not break training: say which line to fix
        read_examples(settings.TRAINER_FILE)
    except TrainerFileError as err:
        raise RuntimeError(str(err)) from None
    models_dir.mkdir(parents=True, exist_ok=True)
    if shop_id is None:
        print(f"Training the model ({config}) …", flush=True)
        _rasa_train(root, root / config, [root / "data"], target, quiet)
        return target
    print(f"Training {shop_id}'s own model ({config} + shops/{shop_id}/data) …", flush=True)
    with tempfile.TemporaryDirectory(prefix=f"xiaoer-{shop_id}-") as folder:
        generated = shop_config(shop_id, root, config, Path(folder))
        _rasa_train(root, generated, [root / "data", shop_data_dir(shop_id, root) / "nlu"], target, quiet)
    return target


def _rasa_train(root: Path, config: Path, data: List[Path], target: Path, quiet: bool) -> None:
    cmd = [rasa_bin(), "train", "--config", str(config), "--domain", str(root / "domain.yml"), "--data"]
    cmd += [str(path) for path in data]
    cmd += ["--out", str(target.parent), "--fixed-model-name", target.name[: -len(".tar.gz")], "--force"]
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


# --- a shop's own model -------------------------------------------------------------------------
# One model serves every shop (the intents are the same everywhere). A shop whose buyers use
# words of their own (a tea shop's 冲几泡, 回甘, 受潮) adds examples in shops/<id>/data/nlu/*.yml
# and words in shops/<id>/data/jieba/*.txt; its own model is then trained on the shared data
# plus those, expecting that shop's intent mix, and the console channel answers that shop's
# buyers with it (connectors/shop_models.py).


def ensure_shop_models(shop_ids: Iterable[str], quiet: bool = False) -> Dict[str, Path]:
    """The own models of those shops that have one, trained where missing: {shop_id: model}."""
    return {shop_id: ensure_model(quiet=quiet, shop_id=shop_id) for shop_id in shop_ids if has_own_model(shop_id)}


def shop_data_dir(shop_id: str, root: Optional[Path] = None) -> Path:
    return (root or settings.ROOT) / "shops" / shop_id / "data"


def has_own_model(shop_id: str, root: Optional[Path] = None) -> bool:
    """Does the shop bring examples of its own (shops/<id>/data/nlu/*.yml)?"""
    return any((shop_data_dir(shop_id, root) / "nlu").glob("*.yml"))


def _shop_inputs(shop_id: str, root: Path, config: str) -> List[Path]:
    own = sorted(p for p in shop_data_dir(shop_id, root).rglob("*") if p.is_file())
    return training_inputs(root, config) + own + [root / "shops" / shop_id / "shop.yml"]


def shop_config(shop_id: str, root: Path, config: str, folder: Path) -> Path:
    """The shared config.yml with the shop's words added to jieba's dictionaries and the shop's
    intent mix expected; written to `folder` (with the merged dictionaries) and returned."""
    pipeline_config = yaml.safe_load((root / config).read_text(encoding="utf-8"))
    dictionaries = folder / "jieba"
    shutil.rmtree(dictionaries, ignore_errors=True)
    dictionaries.mkdir(parents=True)
    for component in pipeline_config["pipeline"]:
        if component["name"] == "JiebaTokenizer" and component.get("dictionary_path"):
            for words in sorted((root / component["dictionary_path"]).glob("*.txt")):
                shutil.copy(words, dictionaries / words.name)
            component["dictionary_path"] = str(dictionaries)
        if component["name"].endswith("ShopIntentClassifier"):
            component["shop_config"] = f"shops/{shop_id}/shop.yml"
    for words in sorted((shop_data_dir(shop_id, root) / "jieba").glob("*.txt")):
        shutil.copy(words, dictionaries / f"{shop_id}-{words.name}")
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(pipeline_config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- how far a training run has got, read from what `xiaoer train` and `rasa train` print --------

# Rasa 3.6's own components registered with is_trainable=False: Rasa builds no training step
# for them, so the training log never names them (a test checks the list against Rasa).
UNTRAINED_BUILTINS = frozenset(
    {
        "ConveRTFeaturizer",
        "DucklingEntityExtractor",
        "FallbackClassifier",
        "LanguageModelFeaturizer",
        "MitieFeaturizer",
        "MitieNLP",
        "MitieTokenizer",
        "RegexMessageHandler",
        "SpacyEntityExtractor",
        "SpacyFeaturizer",
        "SpacyNLP",
        "SpacyTokenizer",
        "WhitespaceTokenizer",
    }
)


def _registered_trainable(root: Path, dotted: str) -> bool:
    """A project component's is_trainable, read from its registration in its source (the
    console does not import Rasa); True if the source does not say."""
    module, _, name = dotted.rpartition(".")
    source = root / (module.replace(".", "/") + ".py")
    if not source.exists():
        return True
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef) and node.name == name:
            for decorator in node.decorator_list:
                for kw in getattr(decorator, "keywords", []):
                    if kw.arg == "is_trainable" and isinstance(kw.value, ast.Constant):
                        return bool(kw.value.value)
    return True


def trained_components(root: Optional[Path] = None, config: Optional[str] = None) -> List[str]:
    """The components `rasa train` trains for a config, pipeline and policies, by the names
    its log gives them ("Starting to train component 'ShopIntentClassifier'")."""
    root = root or settings.ROOT
    data = yaml.safe_load((root / (config or settings.NLU_CONFIG)).read_text(encoding="utf-8")) or {}
    names = []
    for entry in (data.get("pipeline") or []) + (data.get("policies") or []):
        name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
        if not name:
            continue
        trainable = _registered_trainable(root, name) if "." in name else name not in UNTRAINED_BUILTINS
        if trainable:
            names.append(name.rpartition(".")[2])
    return names


_STARTED = re.compile(r"Starting to train component '([^']+)'")
_FINISHED = re.compile(r"Finished training component '([^']+)'")
# tqdm's bar for DIET, TED and the other neural components: "Epochs:  37%|███▋ | 37/100 [00:10<00:17, …]"
_EPOCHS = re.compile(r"^Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)\s*\[[\d:]+<([\d:]+|\?)")
# Milestones before the first component trains, and how far into that stretch each is
# (measured: the validation waits for TensorFlow's import, then the stories are read).
_PREPARING = (
    ("Training the model (", 0.05, "starting_rasa"),
    ("Started validating domain and training data", 0.15, "validating"),
    ("Validating intents", 0.55, "validating"),
    ("Story structure validation", 0.6, "validating"),
    ("No story structure conflicts found", 0.65, "reading"),
    ("Processed rules: 100%", 0.9, "reading"),
)


def _seconds(clock: str) -> Optional[int]:
    """tqdm's "01:18" or "1:02:03" in seconds; None for "?"."""
    if not re.fullmatch(r"\d+(:\d+)*", clock):
        return None
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total


class TrainingProgress:
    """How far a `xiaoer train` child has got, from its output lines (stdout and stderr, split
    at newlines and at tqdm's carriage returns). Two stretches, each with a fraction that only
    grows: preparing (start-up, validating and reading the data) and training (components
    finished of those the config trains, the current one's epochs when it has any); training
    reaches 1 only when Rasa says the model is saved."""

    def __init__(self, components: Sequence[str]):
        self.components = list(components)
        self.stage = "starting"  # starting, preparing, training, saving, saved, up_to_date
        self.preparing = 0.0
        self.milestone: Optional[str] = None  # while preparing: starting_rasa, validating, reading
        self.finished: List[str] = []
        self.component: Optional[str] = None  # the one training now
        self.epoch: Optional[Tuple[int, int]] = None  # (done, of) for the current component
        self.epoch_remaining: Optional[int] = None  # tqdm's estimate, seconds

    @property
    def total(self) -> int:
        """Components to train; more if Rasa trains one the config reading missed."""
        running = 1 if self.component and self.component not in self.finished else 0
        return max(len(self.components), len(self.finished) + running, 1)

    @property
    def training(self) -> float:
        if self.stage in ("saved", "up_to_date"):
            return 1.0
        if self.stage in ("starting", "preparing"):
            return 0.0
        done = float(len(self.finished))
        if self.epoch and self.component not in self.finished:
            done += self.epoch[0] / max(self.epoch[1], 1)
        return min(done / self.total, 0.99)

    def feed(self, line: str) -> bool:
        """Reads one output line; True if it moved the progress on."""
        line = line.strip()
        if not line:
            return False
        if line.startswith("model is up to date"):
            self.stage = "up_to_date"
            return True
        if "Your Rasa model is trained and saved" in line:
            self.stage, self.component, self.epoch = "saved", None, None
            return True
        if self.stage in ("saved", "up_to_date"):
            return False
        m = _STARTED.search(line)
        if m:
            self.stage, self.component, self.epoch, self.epoch_remaining = "training", m.group(1), None, None
            return True
        m = _FINISHED.search(line)
        if m:
            if m.group(1) not in self.finished:
                self.finished.append(m.group(1))
            self.epoch = self.epoch_remaining = None
            self.stage = "saving" if len(self.finished) >= len(self.components) else "training"
            return True
        m = _EPOCHS.match(line)
        if m and self.stage == "training":
            done, of = int(m.group(1)), int(m.group(2))
            if self.epoch is None or done >= self.epoch[0]:
                self.epoch, self.epoch_remaining = (done, of), _seconds(m.group(3))
                return True
            return False
        if self.stage in ("starting", "preparing"):
            for marker, fraction, milestone in _PREPARING:
                if marker in line and fraction > self.preparing:
                    self.stage, self.preparing, self.milestone = "preparing", fraction, milestone
                    return True
        return False
