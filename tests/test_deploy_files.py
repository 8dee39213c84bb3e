"""The deployment files, checked without a Docker engine.

- docker-compose.yml and docker-compose.cpu.yml against the Compose Specification's JSON
  schema (vendored in tests/data, see tests/data/README.md), each file alone and merged;
- the properties the deployment relies on (GPU reservation, healthcheck, volume, grace
  period, the opt-in PostgreSQL service, the CPU override removing only the GPU);
- the Dockerfile: non-root, healthcheck, executable entry point, dependencies installed
  in layers before the source is copied, nothing it copies excluded by .dockerignore;
- the entry point script itself, run for real on a SQLite file;
- and, where a Compose v2 binary is available (``COMPOSE_BIN``, set by .ci/run, or
  ``docker compose``), ``docker compose config`` on the real files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.settings.config import Settings
from tests.faults import skip_unless_readable_by

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_CPU = ROOT / "docker-compose.cpu.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
APP_DIR = "/app"  # the image's WORKDIR, where the source is copied

# ------------------------------------------------------------------- compose files


@dataclass(frozen=True)
class Reset:
    """``!reset``: the key is removed from the merged model (Compose 2.24+)."""


@dataclass(frozen=True)
class Override:
    """``!override``: the value replaces the base value instead of merging with it."""

    value: Any


class ComposeLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus the two merge tags of the Compose Specification."""


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    return Reset()


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    assert isinstance(node, yaml.ScalarNode)
    return Override(loader.construct_scalar(node))


ComposeLoader.add_constructor("!reset", _reset)
ComposeLoader.add_constructor("!override", _override)


def load_compose(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        document = yaml.load(f, Loader=ComposeLoader)  # a SafeLoader subclass
    assert isinstance(document, dict), f"{path.name} is not a mapping"
    return document


def without_tags(value: Any) -> Any:
    """One file as Compose validates it: ``!reset`` keys dropped, ``!override`` unwrapped."""
    if isinstance(value, Override):
        return without_tags(value.value)
    if isinstance(value, dict):
        return {k: without_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [without_tags(v) for v in value if not isinstance(v, Reset)]
    return value


def merge(base: Any, override: Any) -> Any:
    """Compose's merge, as far as these files need it: mappings merge key by key,
    ``!reset`` removes, ``!override`` and anything else replaces."""
    if isinstance(override, Override):
        return without_tags(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if isinstance(value, Reset):
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge(merged[key], value)
            else:
                merged[key] = without_tags(value)
        return merged
    return without_tags(override)


@cache
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"].startswith("https://json-schema.org/draft-07/")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def base() -> dict[str, Any]:
    return without_tags(load_compose(COMPOSE))  # type: ignore[no-any-return]


def with_cpu_override() -> dict[str, Any]:
    return merge(load_compose(COMPOSE), load_compose(COMPOSE_CPU))  # type: ignore[no-any-return]


def seconds(duration: str) -> float:
    """A Compose duration such as ``30s``, ``1m30s`` or ``1h``."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


@pytest.mark.parametrize(
    "name,document",
    [
        ("docker-compose.yml", lambda: without_tags(load_compose(COMPOSE))),
        ("docker-compose.cpu.yml", lambda: without_tags(load_compose(COMPOSE_CPU))),
        ("both, merged", with_cpu_override),
    ],
)
def test_compose_files_follow_the_compose_specification(name: str, document: Any) -> None:
    assert schema_errors(document()) == [], name


def test_the_schema_is_strict_enough_to_catch_mistakes() -> None:
    broken = base()
    broken["services"]["bot"]["restart_policy"] = "always"  # not a service key
    broken["services"]["bot"]["deploy"]["resources"]["reservations"]["devices"][0][
        "capabilities"
    ] = "gpu"  # must be a list
    errors = schema_errors(broken)
    assert any("restart_policy" in e for e in errors), errors
    assert any(e.startswith("services/bot/deploy/resources/reservations/devices/0") for e in errors)


def test_bot_service_builds_here_keeps_its_data_and_restarts() -> None:
    compose = base()
    bot = compose["services"]["bot"]
    build = bot["build"]
    assert (build if isinstance(build, str) else build["context"]) == "."
    assert bot["env_file"] in (".env", [".env"])
    assert bot["restart"] == "unless-stopped"
    [volume] = bot["volumes"]
    name, target = volume.split(":")[:2]
    assert target == f"{APP_DIR}/var"
    assert name in compose["volumes"], "the data volume must be a named volume"


def test_bot_service_reserves_an_nvidia_gpu() -> None:
    devices = base()["services"]["bot"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(
        d["driver"] == "nvidia" and "gpu" in d["capabilities"] and ("count" in d) for d in devices
    ), devices


def test_stop_grace_period_outlasts_the_shutdown_grace() -> None:
    bot = base()["services"]["bot"]
    assert bot.get("stop_signal", "SIGTERM") == "SIGTERM"
    grace = Settings.model_fields["shutdown_grace_s"].default
    assert seconds(bot["stop_grace_period"]) >= grace + 5, "Docker would SIGKILL mid-drain"


def test_compose_and_image_share_the_healthcheck() -> None:
    compose_test = base()["services"]["bot"]["healthcheck"]["test"]
    [healthcheck] = dockerfile().all("HEALTHCHECK")
    assert compose_test[0] == "CMD"
    assert compose_test[1:] == json.loads(healthcheck.split("CMD", 1)[1])
    assert compose_test[1:] == ["python", "-m", "bot.ops", "healthcheck"]


def test_postgres_is_opt_in_with_a_healthcheck_and_its_own_volume() -> None:
    compose = base()
    db = compose["services"]["db"]
    assert db["profiles"] == ["postgres"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    [volume] = db["volumes"]
    assert volume.split(":")[0] in compose["volumes"]
    # The bot waits for it when it runs, and starts without it when the profile is off.
    dependency = compose["services"]["bot"]["depends_on"]["db"]
    assert dependency == {"condition": "service_healthy", "required": False}


def test_cpu_override_removes_only_the_gpu_reservation() -> None:
    gpu, cpu = base()["services"]["bot"], with_cpu_override()["services"]["bot"]
    assert "devices" not in cpu.get("deploy", {}).get("resources", {}).get("reservations", {})
    assert cpu.get("environment", {}).get("DEVICE") == "cpu"
    for key in set(gpu) - {"deploy", "environment"}:
        assert cpu[key] == gpu[key], key


def test_cpu_override_uses_the_reset_tag() -> None:
    # A plain empty value would merge with (not replace) the GPU reservation.
    text = COMPOSE_CPU.read_text(encoding="utf-8")
    assert re.search(r"^\s+devices: !reset \[\]\s*$", text, re.MULTILINE), text


# ---------------------------------------------------------------- the real compose


def compose_command() -> list[str] | None:
    """A Compose v2 CLI: ``COMPOSE_BIN`` (.ci/run fetches one) or ``docker compose``."""
    if binary := os.environ.get("COMPOSE_BIN"):
        return [binary]
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    return [docker, "compose"] if probe.returncode == 0 else None


@pytest.mark.parametrize(
    "args,services",
    [
        (["-f", "docker-compose.yml"], ["bot"]),
        (["-f", "docker-compose.yml", "--profile", "postgres"], ["bot", "db"]),
        (["-f", "docker-compose.yml", "-f", "docker-compose.cpu.yml"], ["bot"]),
        # every file and profile, so also PostgreSQL on a host without a GPU.
        (
            ["-f", "docker-compose.yml", "-f", "docker-compose.cpu.yml", "--profile", "postgres"],
            ["bot", "db"],
        ),
    ],
)
def test_docker_compose_config_accepts_the_files(
    tmp_path: Path, args: list[str], services: list[str]
) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no Compose v2 CLI (set COMPOSE_BIN, or install docker compose)")
    # A copy of the project with a .env, which `env_file: .env` requires.
    for name in ("docker-compose.yml", "docker-compose.cpu.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    run = subprocess.run(
        [*command, "--project-directory", str(tmp_path), *args, "config", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    model = json.loads(run.stdout)
    assert sorted(model["services"]) == services
    bot = model["services"]["bot"]
    reservations = bot.get("deploy", {}).get("resources", {}).get("reservations", {})
    assert ("devices" in reservations) == ("docker-compose.cpu.yml" not in args)


# ------------------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass(frozen=True)
class Dockerfile:
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def index(self, keyword: str, pattern: str) -> int:
        for n, i in enumerate(self.instructions):
            if i.keyword == keyword and re.search(pattern, i.args):
                return n
        raise AssertionError(f"no {keyword} matching {pattern!r}")


@cache
def dockerfile() -> Dockerfile:
    """Instructions with line continuations joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return Dockerfile(instructions)


def build_args() -> dict[str, str]:
    args = {}
    for value in dockerfile().all("ARG"):
        name, _, default = value.partition("=")
        args[name] = default.strip('"')
    return args


def test_dockerfile_uses_python_311_slim() -> None:
    [base_image] = dockerfile().all("FROM")
    assert base_image == "python:3.11-slim"


def test_torch_build_args_default_to_pypi_with_the_project_range() -> None:
    args = build_args()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"{args["TORCH_SPEC"]}"' in pyproject, "TORCH_SPEC must match pyproject's torch"
    assert args["TORCH_SPEC"] == "torch>=2.2,<3"
    assert args["TORCH_INDEX"] == ""


def test_dockerfile_runs_as_a_non_root_user() -> None:
    d = dockerfile()
    users = d.all("USER")
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(n for n, i in enumerate(d.instructions) if i.keyword == "USER")
    assert last_user < d.index("ENTRYPOINT", "."), "USER must come before the entry point"
    assert last_user < d.index("HEALTHCHECK", ".")


def test_dockerfile_has_a_real_healthcheck() -> None:
    [healthcheck] = dockerfile().all("HEALTHCHECK")
    assert not healthcheck.upper().startswith("NONE")
    options, _, command = healthcheck.partition("CMD")
    assert "--interval=" in options and "--timeout=" in options
    assert json.loads(command) == ["python", "-m", "bot.ops", "healthcheck"]


def test_entrypoint_script_exists_and_is_executable() -> None:
    [entrypoint] = dockerfile().all("ENTRYPOINT")
    [path] = json.loads(entrypoint)
    assert path.startswith(f"{APP_DIR}/")
    script = ROOT / path.removeprefix(f"{APP_DIR}/")
    assert script == ENTRYPOINT and script.is_file()
    assert script.stat().st_mode & stat.S_IXUSR, "chmod +x docker/entrypoint.sh"
    assert script.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
    assert json.loads(dockerfile().all("CMD")[-1]) == ["python", "-m", "bot"]


def test_dependencies_are_installed_before_the_source_is_copied() -> None:
    d = dockerfile()
    copy_pyproject = d.index("COPY", r"\bpyproject\.toml\b")
    install_torch = d.index("RUN", r"install\.sh torch\b")
    install_deps = d.index("RUN", r"install\.sh deps\b")
    copy_source = d.index("COPY", r"^(--\S+\s+)*\.\s")
    assert install_torch < copy_pyproject < install_deps < copy_source
    # Nothing after the source copy installs packages: editing code reuses the layers.
    after = [i.args for i in d.instructions[copy_source:] if i.keyword == "RUN"]
    assert not any(re.search(r"\bpip\b|install\.sh", args) for args in after), after


def test_data_lives_in_a_volume_owned_by_the_bot_user() -> None:
    d = dockerfile()
    assert any(f"{APP_DIR}/var" in v for v in d.all("VOLUME"))
    assert any(re.search(rf"chown\b.*\s{APP_DIR}/var(\s|$)", r) for r in d.all("RUN"))
    assert d.all("WORKDIR")[-1] == APP_DIR


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(.dockerignore rule, include?) in order; the last matching rule wins."""
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.removeprefix("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        rules.append((include, re.compile(regex)))
    return rules


def ignored(path: str) -> bool:
    """Whether Docker leaves ``path`` (or a folder above it) out of the build context."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for include, regex in dockerignore_patterns():
        if any(regex.fullmatch(c) for c in candidates):
            result = not include
    return result


@pytest.mark.parametrize(
    "path",
    [".venv/bin/python", "var/bot.db", ".git/HEAD", ".env", "bot/__pycache__/app.cpython-311.pyc",
     ".mypy_cache/x", ".pytest_cache/x", ".hypothesis/x", "var/checkpoints/default.pt"],
)  # fmt: skip
def test_dockerignore_keeps_state_secrets_and_caches_out(path: str) -> None:
    assert ignored(path)


def test_dockerignore_keeps_everything_the_image_needs() -> None:
    needed = ["pyproject.toml", "alembic.ini", "bot/__main__.py", "bot/ops/cli.py",
              "model/__init__.py", "migrations/env.py", "data/arabic_text.txt",
              "docker/entrypoint.sh", "docker/install.sh", "docker/requirements.py",
              ".env.example"]  # fmt: skip
    for path in needed:
        assert (ROOT / path).exists(), path
        assert not ignored(path), path
    for args in dockerfile().all("COPY"):
        *sources, _dest = shlex.split(args)
        for source in (s for s in sources if not s.startswith("--") and s != "."):
            assert (ROOT / source).exists() and not ignored(source), source


# --------------------------------------------------------------------- the scripts


def test_requirements_script_lists_everything_but_torch() -> None:
    run = subprocess.run(
        [sys.executable, "docker/requirements.py", "pyproject.toml", "--extra", "postgres"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = run.stdout.splitlines()
    names = {re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0].lower() for line in lines}
    assert "torch" not in names
    assert {"python-telegram-bot", "sqlalchemy", "alembic", "aiosqlite", "asyncpg"} <= names
    assert not {"pytest", "ruff", "mypy"} & names, "dev tools do not belong in the image"


def test_entrypoint_migrates_then_execs_the_command(tmp_path: Path) -> None:
    db = tmp_path / "var" / "bot.db"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SKIP_MIGRATIONS"}},
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "PYTHONPATH": str(ROOT),
        # `python` in the script must be this interpreter (the image's is /opt/venv).
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [str(ENTRYPOINT), "python", "-c", "import os; print('ran as', os.getpid())"]
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("migrated: ") and lines[1].startswith("ran as "), lines
    assert db.is_file()
    healthy = subprocess.run(
        [sys.executable, "-m", "bot.ops", "healthcheck"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stdout.startswith("healthy: ")

    skip = subprocess.run(
        [str(ENTRYPOINT), "true"],
        cwd=tmp_path,
        env={
            **env,
            "SKIP_MIGRATIONS": "1",
            "DATABASE_URL": "sqlite+aiosqlite:////nonexistent/x.db",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert skip.returncode == 0 and skip.stdout == "", skip.stdout + skip.stderr


def test_entrypoint_stops_when_migrations_fail(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql+asyncpg://bot:secret@127.0.0.1:1/bot",
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("SKIP_MIGRATIONS", None)
    run = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", "print('must not run')"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "must not run" not in run.stdout
    assert run.stdout.startswith("error: migrating postgresql+asyncpg://bot:***@")
    assert "secret" not in run.stdout + run.stderr


# ----------------------------------------------------- a bad setting in the container


def _entrypoint_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The host's environment minus every bot setting, plus ``settings``."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k not in names | {"SKIP_MIGRATIONS"}}
    env.update(
        PYTHONPATH=str(ROOT),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'var' / 'bot.db'}",
        **settings,
    )
    return env


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": ""}, "BOT_TOKEN is not set"),
        (
            {"BOT_TOKEN": "123456789:" + "x" * 35, "DEFAULT_TEMPERATURE": "warm"},
            "DEFAULT_TEMPERATURE",
        ),
    ],
)
def test_the_default_command_with_a_bad_setting_prints_one_line_and_migrates_nothing(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    # `docker run` of the image without a token: the operator sees the one line that says
    # what to fix, not the migrations' log first, and no database is created for nothing.
    run = subprocess.run(
        [str(ENTRYPOINT)],  # no arguments: the image's CMD, `python -m bot`
        cwd=tmp_path, env=_entrypoint_env(tmp_path, **settings),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = (run.stdout + run.stderr).splitlines()
    assert run.returncode == 2, output
    assert len(output) == 1 and output[0].startswith("error: ") and named in output[0], output
    assert not (tmp_path / "var" / "bot.db").exists()
    assert "x" * 35 not in run.stdout + run.stderr


def test_other_commands_need_no_token(tmp_path: Path) -> None:
    # `docker compose run --rm bot python -m model eval ...` is not the bot: no token needed.
    run = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", "print('ran')"],
        cwd=tmp_path, env=_entrypoint_env(tmp_path),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "ran"


# ---------------------------------------------------- the image is built and run in CI

IMAGE_SCRIPT = ROOT / ".ci" / "image.sh"


def test_ci_builds_and_smoke_tests_the_image_after_the_test_suite() -> None:
    steps = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "echo"))
    ]
    assert "bash .ci/image.sh" in steps
    assert steps.index("bash .ci/image.sh") > steps.index("make test")


def test_the_image_step_skips_with_one_line_where_no_engine_can_run(tmp_path: Path) -> None:
    # Not root: no engine can be installed or started. CI must say so in one line and go on.
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the script as another user")
    skip_unless_readable_by(65534, IMAGE_SCRIPT)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "bash", str(IMAGE_SCRIPT)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == [
        "image: skipped: needs root to install and run a container engine"
    ]


def test_ci_compose_override_swaps_only_images_and_networking() -> None:
    # CI's Compose smoke test must run the shipped files, not a rewrite of them: its
    # override may only swap the images (no registry in CI) and let the bot reach the
    # loopback Bot API (host network, the database published on loopback).
    override = load_compose(ROOT / ".ci" / "compose.postgres-smoke.yml")
    assert set(override) == {"services"}
    assert set(override["services"]) == {"bot", "db"}
    assert set(override["services"]["bot"]) == {"image", "network_mode"}
    assert set(override["services"]["db"]) == {"image", "ports"}
    assert all(p.startswith("127.0.0.1:") for p in override["services"]["db"]["ports"])
