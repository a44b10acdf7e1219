#!/usr/bin/env bash
# Validate docker-compose.yml without a Docker daemon (`make compose-check`, run by .ci/run):
# docker-compose 1.29 (Debian's package, installed when missing) checks the file against its
# Compose schema and resolves every variable, with .env.example's empty secrets filled in.
# Then the same file without them must be refused: Compose names the missing database password.
# What this does not do: pull, build or start anything (README "Operating Tenure" says what was run).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker-compose >/dev/null; then
    command -v apt-get >/dev/null || { echo "[compose] docker-compose is missing and apt-get is not available" >&2; exit 1; }
    echo "[compose] installing Debian's docker-compose (the file's validator; no daemon needed)"
    export DEBIAN_FRONTEND=noninteractive
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# every empty value of the example gets a stand-in, as an operator's .env would have
sed -E 's/^([A-Z][A-Z0-9_]*)=$/\1=stand-in-for-\1/' .env.example > "$work/filled.env"

docker-compose --env-file "$work/filled.env" -f docker-compose.yml config -q
echo "[compose] docker-compose.yml is valid ($(docker-compose version --short)), every variable resolved"

grep -v '^TENURE_DB_PASSWORD=' "$work/filled.env" > "$work/missing.env"
if out="$(docker-compose --env-file "$work/missing.env" -f docker-compose.yml config -q 2>&1)"; then
    echo "[compose] a missing TENURE_DB_PASSWORD was accepted" >&2
    exit 1
fi
grep -q "set TENURE_DB_PASSWORD in .env" <<<"$out" || { echo "[compose] unexpected refusal: $out" >&2; exit 1; }
echo "[compose] without TENURE_DB_PASSWORD it is refused, by name"
