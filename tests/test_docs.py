"""The documentation says only what exists: links resolve, every command it shows names a
real module, subcommand, flag and make target, every setting it names is one, and every
setting is documented in ``.env.example``.

Flags are checked against the source of the module they belong to rather than by running
``--help`` (which would import torch once per command): a flag that exists is a string
literal in its package.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from bot.settings.config import Settings

ROOT = Path(__file__).resolve().parents[1]
TOP_DOCS = ("README.md", "CONTRIBUTING.md", "CHANGELOG.md", "data/README.md")
DOCS = sorted([*(ROOT / name for name in TOP_DOCS), *(ROOT / "docs").glob("*.md")])
# Environment variables the docs may name that are not the bot's settings.
OTHER_VARIABLES = {
    "TEST_POSTGRES_URL",  # the tests' PostgreSQL
    "COMPOSE_BIN",  # the tests' Compose CLI
    "PYTHONPATH",
    "CI",
    "TORCH_SPEC",  # a make variable: which torch wheel to install
    "CUDA_VISIBLE_DEVICES",
    "POSTGRES_PASSWORD",  # the Compose files' database container
    "POSTGRES_USER",
    "POSTGRES_DB",
    "OMP_NUM_THREADS",  # torch's threads
}
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
COMMAND = re.compile(r"python -m ((?:bot|model|benchmarks)[a-z_.]*)((?: [a-z][a-z_-]*)?)([^`\n]*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]+)")
MAKE = re.compile(r"`make ([a-z][a-z-]+)")
SETTING = re.compile(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`")


def _doc_ids() -> list[str]:
    return [str(p.relative_to(ROOT)) for p in DOCS]


@cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _package_source(module: str) -> str:
    top = ROOT / module.split(".")[0]
    return "\n".join(_text(p) for p in sorted(top.rglob("*.py")))


@pytest.mark.parametrize("doc", DOCS, ids=_doc_ids())
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = [
        target
        for target in LINK.findall(_text(doc))
        if not target.startswith(("http://", "https://", "mailto:"))
        and not (doc.parent / target).exists()
    ]
    assert broken == []


@pytest.mark.parametrize("doc", DOCS, ids=_doc_ids())
def test_every_command_shown_names_a_real_module_and_real_flags(doc: Path) -> None:
    problems = []
    for module, sub, rest in COMMAND.findall(_text(doc)):
        path = ROOT / module.replace(".", "/")
        if not (path.with_suffix(".py").exists() or (path / "__main__.py").exists()):
            problems.append(f"no module {module}")
            continue
        source = _package_source(module)
        sub = sub.strip()
        if sub and f'"{sub}"' not in source:
            problems.append(f"{module}: no subcommand {sub!r}")
        problems += [
            f"{module}: no flag {flag}" for flag in FLAG.findall(rest) if f'"{flag}' not in source
        ]
    assert problems == []


@pytest.mark.parametrize("doc", DOCS, ids=_doc_ids())
def test_every_make_target_shown_exists(doc: Path) -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", _text(ROOT / "Makefile"), re.M))
    assert set(MAKE.findall(_text(doc))) - targets == set()


@pytest.mark.parametrize("doc", DOCS, ids=_doc_ids())
def test_every_setting_named_is_a_setting(doc: Path) -> None:
    known = {name.upper() for name in Settings.model_fields} | OTHER_VARIABLES
    known |= set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", _text(ROOT / ".env.example"), re.M))
    # the image's build arguments and its entrypoint's variables
    image = "\n".join(
        _text(p) for p in [ROOT / "Dockerfile", *sorted((ROOT / "docker").glob("*.sh"))]
    )
    known |= set(re.findall(r"(?:ARG |\$\{?)([A-Z][A-Z0-9_]+)", image))
    # what the Compose files and the nginx image's start-up script set
    deploy = "\n".join(
        _text(p) for p in [*ROOT.glob("docker-compose*.yml"), *(ROOT / "docker").rglob("*.envsh")]
    )
    known |= set(re.findall(r"^\s*(?:- )?([A-Z][A-Z0-9_]+)[:=]", deploy, re.M))
    # named constants of the code, e.g. USER_COMMANDS in bot/app.py, and for contributors
    # those of the test helpers, e.g. FAST_TRAINING in tests/harness.py
    code = _package_source("bot") + _package_source("model")
    if doc.name == "CONTRIBUTING.md":
        code += _package_source("tests")
    known |= set(re.findall(r"^([A-Z][A-Z0-9_]+)(?::[^=\n]+)? =", code, re.M))
    assert set(SETTING.findall(_text(doc))) - known == set()


def test_every_setting_is_documented_in_the_env_example() -> None:
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", _text(ROOT / ".env.example"), re.M))
    assert {name.upper() for name in Settings.model_fields} - documented == set()


def test_version_is_the_packages_and_has_a_changelog_entry() -> None:
    version = tomllib.loads(_text(ROOT / "pyproject.toml"))["project"]["version"]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"charlstm-bot {version}\n", "")
    assert f"## [{version}]" in _text(ROOT / "CHANGELOG.md")


def test_every_dependency_is_in_the_readmes_table_with_its_reason() -> None:
    project = tomllib.loads(_text(ROOT / "pyproject.toml"))["project"]
    extras = [spec for group in project["optional-dependencies"].values() for spec in group]
    wanted = [*project["dependencies"], *extras]
    names = {re.split(r"[\[<>=~! ]", spec, maxsplit=1)[0].lower() for spec in wanted}
    readme = _text(ROOT / "README.md")
    table = readme[readme.index("## Dependencies") :].lower()
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| ")]
    listed = {name.strip(" `") for row in rows for name in re.split(r",|\+", row)}
    listed = {re.sub(r" \(.*", "", name).strip() for name in listed}
    assert names - listed == set()


def test_no_file_cites_an_issue_number_instead_of_a_reason() -> None:
    """A reader of the code has no tracker: a comment says why, and git keeps the history."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    citing = re.compile(r"\bissues? \d+[a-z]?\b|\bissue-\d+", re.I)
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".pt", ".png", ".json"} or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{name}: {m.group(0)}" for m in citing.finditer(text)]
    assert offenders == []
