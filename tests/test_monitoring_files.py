"""The monitoring that ships: nginx keeps the probes private, the Prometheus configuration
and alert rules are valid (Debian's promtool), the dashboard and the alerts only name
metrics the bot exports, and the Compose files' ``monitoring`` profile runs both."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from prometheus_client import REGISTRY

import bot.metrics.engine  # noqa: F401  (registers the engine's collector)
from bot.metrics.http import routes
from tests.cluster import NGINX, free_port, nginx_config

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "docker" / "monitoring"
PROMTOOL = shutil.which("promtool")
DASHBOARD = MONITORING / "grafana" / "dashboards" / "bot.json"


@asynccontextmanager
async def replica(port: int) -> AsyncIterator[None]:
    """The bot's own probe routes and a webhook path, as a replica serves them, and an
    answer to a POST on any other path (which nginx must not pass)."""

    async def problems() -> list[str]:
        return []

    async def webhook(request: web.Request) -> web.Response:
        return web.Response(text="recorded")

    app = web.Application()
    app.add_routes([*routes(problems), web.post("/tg", webhook), web.post("/{tail:.*}", webhook)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (bash .ci/nginx.sh)")
async def test_nginx_passes_the_webhook_and_never_the_probes_or_metrics(tmp_path: Path) -> None:
    assert NGINX is not None
    replica_port, proxy_port = free_port(), free_port()
    (tmp_path / "nginx").mkdir()
    config = nginx_config(tmp_path, proxy_port, [replica_port])
    async with replica(replica_port), aiohttp.ClientSession() as session:
        nginx = await asyncio.create_subprocess_exec(
            NGINX, "-p", str(tmp_path / "nginx"), "-c", str(config),
            "-g", f"daemon off; pid {tmp_path / 'nginx.pid'};",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            proxy = f"http://127.0.0.1:{proxy_port}"
            for _ in range(100):  # until nginx listens
                try:
                    async with session.post(f"{proxy}/tg", data=b"{}") as response:
                        assert (response.status, await response.text()) == (200, "recorded")
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("nginx never listened")
            # Only the webhook path passes: the probes, metrics, another path the replica
            # serves, and look-alikes of the webhook path get 404 from nginx itself.
            paths = ("/metrics", "/healthz", "/readyz", "//metrics", "/metrics/", "/other")
            for path in (*paths, "/tg2", "/tg/x", "//tg", "/"):
                for method in ("GET", "POST", "HEAD"):
                    async with session.request(method, f"{proxy}{path}") as response:
                        assert response.status == 404, (method, path, response.status)
            async with session.get(f"{proxy}/tg") as response:
                assert response.status == 403  # only POSTs pass
            # The replica itself answers them all, on the operator's network.
            direct = f"http://127.0.0.1:{replica_port}"
            async with session.get(f"{direct}/metrics") as response:
                assert response.status == 200 and "process_cpu_seconds_total" in (
                    await response.text()
                )
        finally:
            nginx.send_signal(signal.SIGQUIT)
            await nginx.wait()


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (bash .ci/prometheus.sh)")
def test_prometheus_config_and_alert_rules_are_valid() -> None:
    assert PROMTOOL is not None
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"]):
        done = subprocess.run(
            [PROMTOOL, *args], cwd=MONITORING, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def exported_names() -> set[str]:
    """Every series name the bot and trainers export (the engine's from its source)."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    names = {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in suffixes.get(family.type, [""])
    }
    engine = (ROOT / "bot" / "metrics" / "engine.py").read_text()
    for kind, name in re.findall(r'(Counter|Gauge)MetricFamily\(\s*"(\w+)"', engine):
        names.add(name + "_total" if kind == "Counter" else name)
    return names


def test_the_dashboard_and_alerts_name_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = {name for e in exprs for name in re.findall(r"\b(bot_\w+)", e)}
    assert used and used <= exported_names(), used - exported_names()
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for panel in ("texts per minute", "latency", "refusals", "429", "queue", "training",
                  "version"):  # fmt: skip
        assert panel in titles, panel


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_the_monitoring_profile_runs_prometheus_and_grafana(compose: str) -> None:
    services = yaml.safe_load((ROOT / compose).read_text())["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        for port in services[name]["ports"]:
            assert port.startswith("127.0.0.1:"), port  # the host's loopback only
    mounts = " ".join(services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    for path in ("prometheus.yml", "alerts.yml", "grafana/provisioning", "grafana/dashboards"):
        assert f"./docker/monitoring/{path}" in mounts
    scraped = [s for s in ("bot", "trainer") if s in services]
    for name in scraped:
        environment = services[name]["environment"]
        assert environment["HEALTH_PORT"] == "8081" and environment["HEALTH_LISTEN"] == "0.0.0.0"
        assert "ports" not in services[name]  # never published
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j["dns_sd_configs"][0] for j in config["scrape_configs"]}
    for name in scraped:
        assert jobs[name]["names"] == [name] and jobs[name]["port"] == 8081
