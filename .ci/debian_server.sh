#!/usr/bin/env bash
# Install a server from Debian's packages for the tests that start their own instance of
# it (with their own configuration and ports): only the binary is needed, so the
# package's own service must neither start on install nor keep running.
#
#   bash .ci/debian_server.sh PACKAGE BINARY
#
# e.g. `bash .ci/debian_server.sh nginx /usr/sbin/nginx`. Runs as root on a clean Debian
# machine; idempotent (installs only when BINARY is missing).
set -euo pipefail

package="$1"
binary="$2"
log() { echo "$package: $*" >&2; }

if ! command -v "$package" >/dev/null 2>&1 && [ ! -x "$binary" ]; then
    log "installing $package from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    # The package starts its own server after installing; where something else holds
    # its port that start fails and fails the install. Tell Debian's invoke-rc.d not to
    # start services meanwhile (101: "action forbidden").
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq >&2
    # Without recommends: exporters, consoles and the like are not needed.
    apt-get install -y -qq --no-install-recommends "$package" >&2
fi
# Where an init system runs, Debian started the server anyway; the tests do not use it.
if command -v service >/dev/null 2>&1; then
    service "$package" stop >/dev/null 2>&1 || true
fi
log "ready: $( (command -v "$package" || echo "$binary") )"
