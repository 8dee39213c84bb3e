"""The one rule of the layout: ``model/`` never imports ``bot/``."""

import ast
from pathlib import Path

MODEL = Path(__file__).resolve().parents[1] / "model"


def test_the_model_package_never_imports_the_bot() -> None:
    offenders = []
    for path in MODEL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in ("bot", "telegram", "sqlalchemy")
            ]
    assert offenders == []
