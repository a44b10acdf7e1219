"""Registering the journeys' custom search attributes (domain/journey_attributes.py) with a namespace.

A journey at rules version 4 sets them; on a namespace that lacks one, its workflow task would fail
until it is added. So `make run` starts the dev server with them (`--search-attribute`), the worker
adds what is missing at start-up (a self-hosted cluster allows it), and refuses to start when it
cannot, naming the command for the namespace's operator (Temporal Cloud: the same names in its UI
or `tcld`).
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.journey_attributes import SEARCH_ATTRIBUTES

_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


class SearchAttributesMissing(RuntimeError):
    """The namespace lacks some of the journeys' search attributes and they cannot be added from here."""


class NamespaceMissing(SearchAttributesMissing):
    """The namespace itself does not exist: the message says to create it, or to name the right one."""


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` flags that register every attribute."""
    flags: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        flags += ["--search-attribute", f"{name}={kind}"]
    return flags


def create_commands(namespace: str) -> list[str]:
    return [
        f"temporal operator search-attribute create --namespace {namespace} --name {name} --type {kind}"
        for name, kind in SEARCH_ATTRIBUTES.items()
    ]


async def missing(client: Client, namespace: str) -> dict[str, str]:
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    return {name: kind for name, kind in SEARCH_ATTRIBUTES.items() if name not in listed.custom_attributes}


async def ensure(client: Client, namespace: str) -> list[str]:
    """Add the attributes the namespace lacks; returns their names. SearchAttributesMissing, naming the
    commands to run, when the namespace cannot be read or changed from here."""
    try:
        try:
            absent = await missing(client, namespace)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:  # no such namespace: creating attributes in it cannot help
                raise NamespaceMissing(
                    f"namespace {namespace!r} does not exist on this Temporal ({e.message}): create it "
                    f"(`temporal operator namespace create --namespace {namespace} --retention 7d`; on Temporal Cloud, "
                    "in its console) or set TENURE_TEMPORAL_NAMESPACE to the namespace Tenure runs in"
                ) from None
            if e.status != RPCStatusCode.UNIMPLEMENTED:
                raise
            absent = dict(SEARCH_ATTRIBUTES)  # the time-skipping test server cannot list them: add them all
        if absent:
            try:
                await client.operator_service.add_search_attributes(
                    AddSearchAttributesRequest(
                        namespace=namespace, search_attributes={name: _TYPES[kind] for name, kind in absent.items()}
                    )
                )
            except RPCError as e:
                if e.status != RPCStatusCode.ALREADY_EXISTS:  # another worker added them first
                    raise
    except NamespaceMissing:
        raise
    except Exception as e:  # permission, an old server, Temporal Cloud: the operator must do it
        commands = "\n  ".join(create_commands(namespace))
        raise SearchAttributesMissing(
            f"cannot register the journeys' search attributes in namespace {namespace!r} ({e}); "
            f"journeys at rules version 4 need them. Run:\n  {commands}"
        ) from None
    return sorted(absent)
