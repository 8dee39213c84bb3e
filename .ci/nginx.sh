#!/usr/bin/env bash
# Install nginx from Debian's packages, for tests/test_cluster_e2e.py (two bot replicas
# behind a real reverse proxy). Only the binary is needed: the test starts its own nginx
# with the repository's docker/nginx/nginx.conf.template; the package's own service is stopped.
#
#   bash .ci/nginx.sh
#
# Runs as root on a clean Debian machine; idempotent.
set -euo pipefail

log() { echo "nginx.sh: $*" >&2; }

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    log "installing nginx from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    # The package starts its own server on port 80 after installing; on a CI machine
    # where something else holds port 80 that start fails and fails the install. Tell
    # Debian's invoke-rc.d not to start services meanwhile (101: "action forbidden").
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends nginx >&2
fi
# Debian starts a server on port 80 on install where an init system runs; the tests do
# not use it.
if command -v service >/dev/null 2>&1; then
    service nginx stop >/dev/null 2>&1 || true
fi
log "ready: $( (command -v nginx || echo /usr/sbin/nginx) )"
