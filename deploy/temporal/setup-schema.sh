#!/bin/sh
# The temporal-schema job (temporalio/admin-tools): create Temporal's two databases and bring their
# schemas to this server version, then exit. Idempotent: creating an existing database, setting up
# versioning again and updating a current schema are no-ops, so every `docker compose up` runs it,
# and an upgrade of TEMPORAL_VERSION gets its schema changes here, before the new server starts.
# Connection from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (temporal-sql-tool's own variables).
set -eu
: "${SQL_HOST:?}" "${SQL_PORT:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
SCHEMA=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL on $SQL_HOST:$SQL_PORT"
attempt=0
until nc -z -w 5 "$SQL_HOST" "$SQL_PORT"; do
    attempt=$((attempt + 1))
    [ "$attempt" -lt 60 ] || { echo "PostgreSQL did not answer" >&2; exit 1; }
    sleep 1
done

for database in temporal temporal_visibility; do
    case "$database" in temporal) versions="$SCHEMA/temporal/versioned" ;; *) versions="$SCHEMA/visibility/versioned" ;; esac
    temporal-sql-tool --db "$database" create
    temporal-sql-tool --db "$database" setup-schema -v 0.0
    temporal-sql-tool --db "$database" update-schema -d "$versions"
done
echo "Temporal schema is current"
