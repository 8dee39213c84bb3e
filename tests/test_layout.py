"""The layout's rules: ``model/`` never imports ``bot/``, and inside ``bot/`` each folder
imports only the folders below it, with no import cycle anywhere.

The layers, lowest first (folders on one line are independent of each other)::

    settings, texts      configuration, logging, redaction; what the bot says
      metrics            what every layer counts for Prometheus
    storage              the database
    telegram, training   Bot API plumbing; one training run, end to end
    rules                who may use the bot, how much, how a text is written
    cluster, retrain     replicas sharing a database; the admin's /retrain
    ops, trainer         start-up and the operations CLI; the trainer process
    handlers             what the bot does on each update
    (top level)          app.py, runner.py, __main__.py: the wiring
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "model"
BOT = ROOT / "bot"

LAYERS: tuple[tuple[str, ...], ...] = (
    # metrics: what every layer counts for Prometheus, so it sits below them all
    ("settings", "texts", "metrics"),
    ("storage",),
    ("telegram", "training"),
    ("rules",),
    ("cluster", "retrain"),
    ("ops", "trainer"),
    ("handlers",),
)
RANK = {folder: rank for rank, folder_set in enumerate(LAYERS) for folder in folder_set}
# Imports made for type annotations only (under ``if TYPE_CHECKING``) that name a higher
# layer. Each is a deliberate exception: it creates no dependency at run time.
TYPE_ONLY_EXCEPTIONS = {
    # The services handed to handlers carry the retrain manager the wiring builds.
    ("bot.telegram.services", "bot.retrain.manager"),
}
MAX_MODULES_PER_FOLDER = 13  # "about 12": a folder past that wants splitting


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """Every module ``path`` imports, with whether the import is for type checking only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from bot import x" may name a module: count it as that module.
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        found += [(name, id(node) in type_only) for name in names]
    return found


def _bot_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in BOT.rglob("*.py")}


def _folder(module: str) -> str:
    """The layer folder of a ``bot`` module, or "top" for the wiring at ``bot/``'s top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else "top"


def test_the_model_package_never_imports_the_bot() -> None:
    offenders = [
        f"{path.name}: {name}"
        for path in MODEL.rglob("*.py")
        for name, _ in _imports(path)
        if name.split(".")[0] in ("bot", "telegram", "sqlalchemy")
    ]
    assert offenders == []


def test_every_bot_folder_is_a_known_layer() -> None:
    folders = {p.name for p in BOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(RANK)


def test_bot_folders_import_only_the_layers_below_them() -> None:
    modules = _bot_modules()
    offenders = []
    for module, path in modules.items():
        here = _folder(module)
        if here == "top":
            continue  # the wiring may import everything
        for name, type_only in _imports(path):
            if not name.startswith("bot.") or name not in modules:
                continue
            there = _folder(name)
            if there == here:
                continue
            if there != "top" and RANK[there] < RANK[here]:
                continue
            if type_only and (module, name) in TYPE_ONLY_EXCEPTIONS:
                continue
            offenders.append(f"{module} ({here}) imports {name} ({there})")
    assert offenders == []


def test_no_import_cycle_between_bot_modules() -> None:
    modules = _bot_modules()
    graph = {
        module: {
            name
            for name, type_only in _imports(path)
            if name in modules
            and name != module
            and not type_only
            # a package's __init__ importing its own modules is how packages re-export
            and not name.startswith(module + ".")
        }
        for module, path in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_bot_folder_holds_more_than_about_twelve_modules() -> None:
    crowded = {
        str(folder.relative_to(ROOT)): count
        for folder in [BOT, *(p for p in BOT.rglob("*") if p.is_dir())]
        if (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}
