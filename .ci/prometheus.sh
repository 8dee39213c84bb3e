#!/usr/bin/env bash
# Install Prometheus from Debian's packages, for tests/test_prometheus_e2e.py (a real
# Prometheus scraping a running bot and its trainer). Only the binary is needed: the
# test starts its own prometheus with a scrape configuration of its own; the package's
# own service is stopped.
#
#   bash .ci/prometheus.sh
#
# Runs as root on a clean Debian machine; idempotent.
set -euo pipefail

log() { echo "prometheus.sh: $*" >&2; }

if ! command -v prometheus >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus ]; then
    log "installing prometheus from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    # The package starts its own server on port 9090 after installing; where something
    # else holds that port the start fails and fails the install. Tell Debian's
    # invoke-rc.d not to start services meanwhile (101: "action forbidden").
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq >&2
    # Without recommends: the node exporter and the web console libraries are not needed.
    apt-get install -y -qq --no-install-recommends prometheus >&2
fi
# Debian starts a server on port 9090 on install where an init system runs; the tests do
# not use it.
if command -v service >/dev/null 2>&1; then
    service prometheus stop >/dev/null 2>&1 || true
fi
log "ready: $( (command -v prometheus || echo /usr/bin/prometheus) )"
