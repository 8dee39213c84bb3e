#!/usr/bin/env bash
# nginx for tests/test_cluster_e2e.py (two bot replicas behind a real reverse proxy): the
# test starts its own nginx with the repository's docker/nginx/nginx.conf.template.
set -euo pipefail
exec bash "$(dirname "$0")/debian_server.sh" nginx /usr/sbin/nginx
