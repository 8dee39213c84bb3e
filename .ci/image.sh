#!/usr/bin/env bash
# Build the container image from the Dockerfile and smoke-test it with `docker run`, as an
# operator would (.ci/image_smoke.py says what the smoke test proves). Runs as root on a
# clean Debian machine; idempotent: a second run reuses the base image, the wheel and the
# build cache, and only rebuilds the layers whose inputs changed.
#
#   bash .ci/image.sh           # after `make test` (the smoke test runs on .venv's Python)
#
# How, on a CI machine with no route to a container registry:
# - engines from Debian's packages: podman builds (Debian's docker.io has no BuildKit, so
#   it cannot build `RUN --mount=type=cache`), docker runs (`podman run` fails on rlimits
#   in CI's sandbox), the image passes from one to the other by `podman save | docker load`;
# - FROM python:3.11-slim cannot be pulled, so a stand-in is built once with debootstrap
#   (Debian bookworm's Python 3.11, pip, venv) and tagged with that name in podman's store.
#   It carries this machine's CA bundle (PIP_CERT, SSL_CERT_FILE): outbound TLS may go
#   through an intercepting proxy. Real builds keep the real base image; only CI swaps it;
#   an existing local python:3.11-slim (the real one, or the stand-in) is used as it is;
# - torch: this machine's CPU wheel (`pip download`, so whatever find-links / index pip is
#   configured with), served on loopback for the build as TORCH_SPEC="torch @ http://...";
#   everything else comes from PyPI, as in a real build;
# - Compose (with a Compose v2 CLI, .ci/compose.sh): the shipped files with the CPU override
#   and the postgres profile are brought up; `postgres:16` cannot be pulled either, so a
#   stand-in from Debian's PostgreSQL is built (.ci/postgres-standin).
#
# Where no engine can be installed or started (not root, no apt, a sandbox where dockerd
# cannot run), it prints one line starting "image: skipped:" and exits 0. A failing build
# or smoke test exits 1. It stops dockerd at the end if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/podman_build.sh
source .ci/podman_build.sh

IMAGE="${CI_IMAGE:-localhost/charlstm-bot:ci}"
PG_IMAGE="localhost/charlstm-postgres:ci"  # stand-in for postgres:16 (.ci/postgres-standin)
BASE="docker.io/library/python:3.11-slim"
TORCH_VERSION="${CI_TORCH_VERSION:-2.13.0}"
# Fixed: the port is part of TORCH_SPEC, a build argument, so it is part of the layer cache key.
WHEEL_PORT="${CI_WHEEL_PORT:-18731}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/charlstm-ci"
CA_BUNDLE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
PYTHON="${PYTHON:-.venv/bin/python}"

log() { echo "image.sh: $*" >&2; }
skip() {
    echo "image: skipped: $*"
    exit 0
}
fail() {
    echo "image: FAILED: $*" >&2
    exit 1
}

WORK="$(mktemp -d)"
HTTP_PID=""
DOCKERD_PID=""
cleanup() {
    if [ -n "$HTTP_PID" ]; then
        kill "$HTTP_PID" 2>/dev/null || true
        wait "$HTTP_PID" 2>/dev/null || true
    fi
    if [ -n "$DOCKERD_PID" ]; then
        log "stopping the dockerd it started (pid $DOCKERD_PID)"
        kill "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        wait "$DOCKERD_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

started=$SECONDS
elapsed() { echo $((SECONDS - $1)); }

# ------------------------------------------------------------------------------- engines
[ "$(id -u)" -eq 0 ] || skip "needs root to install and run a container engine"
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || skip "no apt-get to install ${missing[*]}"
    log "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && nice -n 10 apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >"$WORK/apt.log" 2>&1; then
        skip "could not install ${missing[*]}: $(tail -n 1 "$WORK/apt.log")"
    fi
fi

if docker info >/dev/null 2>&1; then
    log "using the dockerd already running"
else
    log "starting dockerd"
    nice -n 10 dockerd >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        skip "dockerd does not start on this machine: $(tail -n 1 "$WORK/dockerd.log")"
    fi
fi

# ---------------------------------------------------------------------------- base image
t=$SECONDS
if podman image exists "$BASE"; then
    log "base image $BASE: present, reused"
else
    log "base image $BASE: not present and not pullable here; building a stand-in (debootstrap)"
    rootfs="$WORK/rootfs"
    nice -n 10 debootstrap --variant=minbase \
        --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates \
        bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
    # What python:3.11-slim leaves out too: package caches, documentation.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ci-ca-bundle.crt"
    tar -C "$rootfs" -c . | nice -n 10 podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ci-ca-bundle.crt' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ci-ca-bundle.crt' \
        --change 'LABEL org.charlstm.ci.stand-in="debootstrap bookworm minbase"' \
        --change 'CMD ["python3"]' \
        - "$BASE" >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; fail "podman import"; }
    rm -rf "$rootfs"
fi
base_s=$(elapsed $t)

# --------------------------------------------------------------------------------- torch
t=$SECONDS
mkdir -p "$CACHE/wheels"
python3 -m pip download --quiet --no-deps --only-binary :all: --implementation cp \
    --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$CACHE/wheels" \
    "torch==$TORCH_VERSION" >"$WORK/pip.log" 2>&1 || { cat "$WORK/pip.log" >&2; fail "pip download torch"; }
wheel="$(cd "$CACHE/wheels" && ls torch-"$TORCH_VERSION"+cpu-cp311-*.whl 2>/dev/null | head -n 1 || true)"
if [ -n "$wheel" ]; then
    python3 -m http.server --bind 127.0.0.1 --directory "$CACHE/wheels" "$WHEEL_PORT" \
        >"$WORK/http.log" 2>&1 &
    HTTP_PID=$!
    url="http://127.0.0.1:$WHEEL_PORT/${wheel//+/%2B}"
    for _ in $(seq 30); do
        curl -sfI "$url" >/dev/null 2>&1 && break
        kill -0 "$HTTP_PID" 2>/dev/null || break
        sleep 0.2
    done
    curl -sfI "$url" >/dev/null 2>&1 \
        || { cat "$WORK/http.log" >&2; fail "cannot serve the wheel on 127.0.0.1:$WHEEL_PORT (CI_WHEEL_PORT)"; }
    build_args=(--build-arg "TORCH_SPEC=torch @ $url")
    log "torch: $wheel, served on loopback"
else
    # No local CPU wheel: PyTorch's CPU index (needs a route to download.pytorch.org).
    build_args=(--build-arg "TORCH_SPEC=torch==$TORCH_VERSION"
        --build-arg "TORCH_INDEX=https://download.pytorch.org/whl/cpu")
    log "torch: no local CPU wheel, using https://download.pytorch.org/whl/cpu"
fi

# --------------------------------------------------------------------------------- build
old_id="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
log "building $IMAGE with podman (log: podman build, last lines on failure)"
# --format docker: the OCI format has no HEALTHCHECK, and the smoke test checks it.
podman_build "$WORK/build.log" --format docker --network host --pull=never --layers \
    "${build_args[@]}" -t "$IMAGE" . \
    || { tail -n 30 "$WORK/build.log" >&2; fail "podman build"; }
build_s=$(elapsed $t)
new_id="$(podman image inspect --format '{{.Id}}' "$IMAGE")"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    podman rmi "$old_id" >/dev/null 2>&1 || true  # its layers stay as cache where shared
fi
cached="$(grep -c '^--> Using cache' "$WORK/build.log" || true)"

# --------------------------------------------------------------------- podman -> docker
# The image podman built, into docker, unless docker has it already (same id).
to_docker() {
    local id old
    id="$(podman image inspect --format '{{.Id}}' "$1")"
    old="$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)"
    if [ "$old" = "sha256:$id" ]; then
        log "docker already has $1"
        return
    fi
    podman save --format docker-archive "$1" | nice -n 10 docker load >/dev/null \
        || fail "podman save $1 | docker load"
    if [ -n "$old" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
}
t=$SECONDS
to_docker "$IMAGE"
load_s=$(elapsed $t)
size_mb=$(($(docker image inspect --format '{{.Size}}' "$IMAGE") / 1000000))

# ------------------------------------------------- Compose: the PostgreSQL profile's parts
t=$SECONDS
compose_args=()
COMPOSE_BIN="${COMPOSE_BIN:-$(bash .ci/compose.sh 2>/dev/null || true)}"
if [ -z "$COMPOSE_BIN" ]; then
    log "no Compose v2 CLI (.ci/compose.sh failed): the Compose part of the smoke test is left out"
else
    podman_build "$WORK/pg-build.log" --format docker --network host --pull=never --layers \
        -t "$PG_IMAGE" .ci/postgres-standin \
        || { tail -n 30 "$WORK/pg-build.log" >&2; fail "podman build .ci/postgres-standin"; }
    to_docker "$PG_IMAGE"
    compose_args=(--compose "$COMPOSE_BIN")
fi
compose_s=$(elapsed $t)

# --------------------------------------------------------------------------------- smoke
t=$SECONDS
PYTHONPATH="$PWD" "$PYTHON" .ci/image_smoke.py "$IMAGE" "${compose_args[@]}"
smoke_s=$(elapsed $t)

echo "image: ok: $IMAGE ${size_mb} MB; $(elapsed $started)s in all (base ${base_s}s," \
    "torch wheel + build ${build_s}s with $cached cached steps, load ${load_s}s," \
    "PostgreSQL stand-in ${compose_s}s, smoke ${smoke_s}s)"
