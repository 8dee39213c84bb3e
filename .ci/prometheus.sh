#!/usr/bin/env bash
# Prometheus for tests/test_prometheus_e2e.py (a real Prometheus scraping a running bot
# and its trainer): the test starts its own with a scrape configuration of its own.
set -euo pipefail
exec bash "$(dirname "$0")/debian_server.sh" prometheus /usr/bin/prometheus
