#!/bin/sh
# The temporal-namespace job (temporalio/admin-tools): wait until the cluster serves, then create
# Tenure's namespace unless it exists. Idempotent; a retention change is
# `temporal operator namespace update -n NAMESPACE --retention 30d`.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:?}"

attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    [ "$attempt" -lt 60 ] || { echo "Temporal at $TEMPORAL_ADDRESS did not become healthy" >&2; exit 1; }
    sleep 2
done

if temporal operator namespace describe -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE exists"
else
    temporal operator namespace create -n "$NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
    echo "namespace $NAMESPACE created (retention $RETENTION)"
fi

# The journeys' search attributes (starter/search_attributes.py, no personal data): filter journeys in the
# UI and with `temporal workflow list --query "TenureTier = 'gold' AND TenureStatus = 'past_due'"`.
# The worker also adds missing ones at start-up; creating them here keeps that a no-op.
for attribute in TenureTier=Keyword TenureStatus=Keyword TenureAtRisk=Bool TenureEngagement=Keyword \
    TenureProgramVersion=Keyword; do
    name=${attribute%%=*}
    kind=${attribute#*=}
    if temporal operator search-attribute list -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" | grep -qw "$name"; then
        echo "search attribute $name exists"
    else
        temporal operator search-attribute create -n "$NAMESPACE" --name "$name" --type "$kind" \
            --address "$TEMPORAL_ADDRESS"
        echo "search attribute $name created ($kind)"
    fi
done
