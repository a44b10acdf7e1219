#!/bin/sh
# First start of an empty PostgreSQL volume only (the image's /docker-entrypoint-initdb.d): one
# role per user of the database, neither of them a superuser.
#   temporal  creates and owns `temporal` and `temporal_visibility` (the temporal-schema job)
#   tenure    owns `tenure`, the ledger (`tenure db upgrade` migrates it)
# Later password changes: ALTER ROLE ... PASSWORD, then update .env.
set -eu
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set (see .env.example)}"
: "${TENURE_DB_PASSWORD:?TENURE_DB_PASSWORD is not set (see .env.example)}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set temporal_password="$TEMPORAL_DB_PASSWORD" --set tenure_password="$TENURE_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE tenure LOGIN PASSWORD :'tenure_password';
CREATE DATABASE tenure OWNER tenure;
SQL
