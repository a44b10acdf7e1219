#!/usr/bin/env bash
# Install (Debian package `postgresql`, only if missing) and start a local PostgreSQL on
# 127.0.0.1:5432 with role and database `tenure` (password `tenure`). Idempotent.
#   URL: postgresql+psycopg://tenure:tenure@127.0.0.1:5432/tenure
set -euo pipefail

PGPORT="${PGPORT:-5432}"
ROLE=tenure
DB=tenure
PASSWORD=tenure

log() { printf '[postgres] %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo -n "$@"
    else echo "[postgres] need root (or sudo) to run: $*" >&2; exit 1
    fi
}

as_postgres() {
    # cd / so psql does not complain that it cannot read the caller's working directory
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@")
    else (cd / && sudo -n -u postgres "$@")
    fi
}

server_binary() { ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1; }

# 1. install when missing
if ! command -v pg_ctlcluster >/dev/null || [ -z "$(server_binary)" ]; then
    command -v apt-get >/dev/null || { echo "[postgres] PostgreSQL is not installed and apt-get is not available; install PostgreSQL yourself and set TENURE_TEST_POSTGRES_URL" >&2; exit 1; }
    log "installing the Debian package postgresql"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

BIN="$(server_binary)"
VERSION="$(basename "$(dirname "$(dirname "$BIN")")")"
log "PostgreSQL $VERSION ($BIN)"

# 2. a cluster `main` on our port (the package normally creates it; containers sometimes do not)
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {found=1} END {exit !found}'; then
    log "creating cluster $VERSION/main on port $PGPORT"
    as_root pg_createcluster --port "$PGPORT" "$VERSION" main >/dev/null
fi
CLUSTER_PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')"
if [ "$CLUSTER_PORT" != "$PGPORT" ]; then
    echo "[postgres] cluster $VERSION/main is configured for port $CLUSTER_PORT, not $PGPORT; fix /etc/postgresql/$VERSION/main/postgresql.conf" >&2
    exit 1
fi

# 3. start it unless it is already online
if pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" && $4 ~ /online/ {found=1} END {exit !found}'; then
    log "cluster $VERSION/main already running"
else
    log "starting cluster $VERSION/main"
    as_root pg_ctlcluster "$VERSION" main start
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PGPORT"; then break; fi
    sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$PGPORT" >/dev/null || { echo "[postgres] server did not answer on 127.0.0.1:$PGPORT" >&2; exit 1; }

# 4. role and database (idempotent)
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT" -d postgres "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
    log "creating role $ROLE"
    psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
else
    psql_admin -c "ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    log "creating database $DB"
    psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
fi

# 5. prove a password login over TCP works
PGPASSWORD="$PASSWORD" psql -X -q -h 127.0.0.1 -p "$PGPORT" -U "$ROLE" -d "$DB" -tAc "SELECT 1" >/dev/null
log "ready: postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PGPORT/$DB"
