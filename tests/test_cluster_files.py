"""docker-compose.cluster.yml and docker/nginx/nginx.conf.template, checked without an
engine: the Compose Specification schema, ``docker compose config`` where a Compose CLI
is available, and ``nginx -t`` on the shipped proxy config (as the e2e test runs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cluster import NGINX, nginx_config
from tests.test_deploy_files import compose_command, load_compose, schema_errors, without_tags

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "docker-compose.cluster.yml"


def cluster() -> dict:  # type: ignore[type-arg]
    return without_tags(load_compose(CLUSTER))  # type: ignore[no-any-return]


def test_the_cluster_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(cluster()) == []


def test_replicas_sit_behind_nginx_on_postgresql_with_webhooks() -> None:
    services = cluster()["services"]
    assert set(services) >= {"db", "bot", "nginx"}
    bot = services["bot"]
    assert bot["deploy"]["replicas"] >= 2
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    environment = bot["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in environment["DATABASE_URL"]
    # nginx's upstream names the service and the port the replicas listen on.
    conf = (ROOT / "docker" / "nginx" / "nginx.conf.template").read_text()
    assert f"server bot:{environment['WEBHOOK_PORT']} " in conf
    nginx = services["nginx"]
    # The image renders the template into nginx.conf with the path of .env's WEBHOOK_URL,
    # substituting that variable alone (nginx's own $host etc. stay).
    assert (
        "./docker/nginx/nginx.conf.template:/etc/nginx/templates/nginx.conf.template:ro"
        in nginx["volumes"]
    )
    assert (
        "./docker/nginx/19-webhook-path.envsh:/docker-entrypoint.d/19-webhook-path.envsh:ro"
        in nginx["volumes"]
    )
    assert nginx["environment"]["WEBHOOK_URL"] == "${WEBHOOK_URL}"
    assert nginx["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    assert nginx["environment"]["NGINX_ENVSUBST_FILTER"] == "^WEBHOOK_PATH$$"
    assert "env_file" not in nginx  # the token is none of nginx's business
    assert nginx["depends_on"]["bot"]["condition"] == "service_healthy"
    # The secret is not nginx's business: it must reach the replicas untouched.
    assert "X-Telegram-Bot-Api-Secret-Token" not in conf.replace("# ", "").split("http {")[1]


def test_trainers_are_healthy_without_a_webhook_port() -> None:
    """The image's healthcheck waits for the webhook port when WEBHOOK_URL is set, and
    the trainer shares the replicas' .env but never listens."""
    trainer = cluster()["services"]["trainer"]
    assert trainer["env_file"] == ".env" or ".env" in trainer["env_file"]
    assert trainer["environment"]["WEBHOOK_URL"] == ""
    assert "healthcheck" not in trainer  # the image's: the database only, for a trainer


def test_docker_compose_config_accepts_the_cluster_file(tmp_path: Path) -> None:
    compose = compose_command()
    if compose is None:
        pytest.skip("no Compose v2 CLI (set COMPOSE_BIN, or install docker compose)")
    # A copy with a .env, which `env_file: .env` requires (as tests/test_deploy_files.py).
    shutil.copy(CLUSTER, tmp_path / CLUSTER.name)
    (tmp_path / "docker" / "nginx").mkdir(parents=True)
    for name in ("nginx.conf.template", "19-webhook-path.envsh"):
        shutil.copy(ROOT / "docker" / "nginx" / name, tmp_path / "docker" / "nginx")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    done = subprocess.run(
        [*compose, "--project-directory", str(tmp_path), "-f", CLUSTER.name,
         "config", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    assert sorted(model["services"]) >= ["bot", "db", "nginx"]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (bash .ci/nginx.sh)")
def test_nginx_accepts_the_shipped_config(tmp_path: Path) -> None:
    assert NGINX is not None
    (tmp_path / "prefix").mkdir()
    config = nginx_config(tmp_path, 18080, [18443, 18444])
    done = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path / "prefix"), "-c", str(config),
         "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
