"""The house: imports flow one way, layer by layer, with no circle (docs/architecture.md)."""

import ast
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

from bot.settings import ROOT

PACKAGES = ("bot", "actions", "connectors")
# Each module's layer; a module imports only from lower layers or from its own package.
LAYERS: List[Tuple[str, ...]] = [
    ("bot.settings", "bot.clock", "bot.formatting", "bot.privacy", "bot.signing"),
    ("bot.store",),
    ("bot.nlu",),
    ("bot.shop",),
    ("bot.service",),
    ("bot.seed",),  # the demo shop: its buyers are offered on the store page
    ("bot.console", "actions", "connectors"),
    ("bot.servers", "bot.rehearsal", "bot.cli"),
]


def _modules() -> Dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: Dict[str, Path], inside_functions: bool = False) -> Iterator[Tuple[str, int]]:
    """The project modules a file imports (with line numbers): module level, or only those
    imported inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = (
        [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)]
        if inside_functions
        else ast.walk(tree)
    )
    for node in nodes:
        names: List[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            if name in modules:
                yield name, node.lineno
                break


def _layer(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in layer):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and to docs/architecture.md")


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 2 else parts[0]


def test_every_module_imports_downward_only():
    modules = _modules()
    upward = []
    for module, path in modules.items():
        if module in PACKAGES:
            continue
        for target, line in _imports(path, modules):
            if target in PACKAGES or _package(target) == _package(module):
                continue
            if _layer(target) >= _layer(module):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not upward, "imports that do not run downward:\n" + "\n".join(upward)


def test_no_import_circle():
    modules = _modules()
    graph: Dict[str, Set[str]] = {m: {t for t, _ in _imports(p, modules)} - {m} for m, p in modules.items()}
    state: Dict[str, int] = {}  # 1: on the path being walked, 2: done
    path: List[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circle = path[path.index(target) :] + [target]
                raise AssertionError("import circle: " + " → ".join(circle))
            if target not in state:
                walk(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)


def test_no_project_import_hides_inside_a_function():
    modules = _modules()
    hidden = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in modules.items()
        for target, line in _imports(path, modules, inside_functions=True)
    ]
    assert not hidden, "imports inside functions (a circle being dodged?):\n" + "\n".join(hidden)


def test_the_architecture_guide_names_only_files_that_exist():
    guide = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = {p for p in re.findall(r"`([\w./-]+/[\w./-]*)`", guide) if "<" not in p and not p.startswith("http")}
    assert len(paths) > 20
    made_at_run_time = {"data/nlu/trainer.yml", "var/"}
    missing = sorted(p for p in paths - made_at_run_time if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
