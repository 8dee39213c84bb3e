#!/usr/bin/env bash
# Install (from Debian's packages) and start a PostgreSQL server on 127.0.0.1, with a role
# allowed to CREATE DATABASE (the tests make a fresh database per test) and to end other
# sessions in a database it drops, then print its SQLAlchemy URL on stdout; everything
# else goes to stderr.
#
#   export TEST_POSTGRES_URL="$(bash .ci/postgres.sh)"
#
# Runs as root on a clean Debian machine; idempotent (a second run finds everything in
# place and only prints the URL again).
set -euo pipefail

ROLE="${CI_PG_ROLE:-charlstm}"
PASSWORD="${CI_PG_PASSWORD:-charlstm}"
DATABASE="${CI_PG_DATABASE:-charlstm}"

log() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
fi

# The newest installed server version, and its cluster (Debian creates "main" on install;
# a machine set up with create_main_cluster=false has none yet).
VERSION="$(for bin in /usr/lib/postgresql/*/bin/postgres; do basename "$(dirname "$(dirname "$bin")")"; done | sort -V | tail -n 1)"
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
    log "creating cluster $VERSION/main"
    pg_createcluster "$VERSION" main >&2
fi
if ! pg_ctlcluster "$VERSION" main status >/dev/null 2>&1; then
    log "starting cluster $VERSION/main"
    pg_ctlcluster "$VERSION" main start >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $3 }')"

for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 1
done
pg_isready -h 127.0.0.1 -p "$PORT" >&2

psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }

# A login role with a password (Debian's pg_hba.conf checks passwords on 127.0.0.1).
psql_admin -d postgres -v role="$ROLE" -v password="$PASSWORD" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN CREATEDB PASSWORD :'password';
-- DROP DATABASE ... WITH (FORCE) must be able to end an autovacuum worker in the
-- test's database; without this grant that fails for a non-superuser role.
GRANT pg_signal_backend TO :"role";
SQL
psql_admin -d postgres -v role="$ROLE" -v database="$DATABASE" >&2 <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SQL

log "ready on 127.0.0.1:$PORT, database $DATABASE, role $ROLE"
echo "postgresql+asyncpg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
