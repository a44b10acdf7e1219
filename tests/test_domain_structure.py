"""domain/ stays a package of pure rules whose modules import one another one way only.

Read from the source, so an import needed only by the type checker (`if TYPE_CHECKING:`) counts
too: a cycle there is still two modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parent.parent / "domain"
MODULES = sorted(p.stem for p in DOMAIN.glob("*.py") if p.stem != "__init__")

# The workflow runs domain/ outside the sandbox: no I/O, no clock or randomness, no Temporal.
FORBIDDEN = {
    "temporalio",
    "sqlalchemy",
    "psycopg",
    "sendgrid",
    "stripe",
    "httpx",
    "fastapi",
    "requests",
    "urllib",
    "http",
    "socket",
    "subprocess",
    "os",
    "pathlib",
    "io",
    "shutil",
    "logging",
    "asyncio",
    "threading",
    "time",
    "random",
    "uuid",
    "activities",
    "workflows",
    "starter",
    "storage",
    "settings",
    "worker",
}


def imports_of(source: str) -> tuple[set[str], set[str]]:
    """(domain modules, top-level outside packages) that a module's source imports, anywhere in it."""
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                head, _, rest = alias.name.partition(".")
                if head == "domain":
                    inside.add(rest.split(".")[0])
                else:
                    outside.add(head)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and not module.startswith("domain"):
                outside.add(module.split(".")[0])
                continue
            within = module.removeprefix("domain").lstrip(".") if node.level == 0 else module
            if within:
                inside.add(within.split(".")[0])
            else:  # `from . import tiers, lots`
                inside.update(alias.name for alias in node.names)
    return inside & set(MODULES), outside - {"__future__"}


def graph() -> dict[str, set[str]]:
    return {name: imports_of((DOMAIN / f"{name}.py").read_text())[0] for name in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, …, a], or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = "open", path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = "done", path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    inside, _ = imports_of("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .rules import AccountRules\n")
    assert inside == {"rules"}, "an import for the type checker only counts too"


def test_domain_imports_form_no_cycle():
    assert find_cycle(graph()) is None


def test_only_the_facade_imports_the_facade():
    assert [name for name, deps in graph().items() if "rules" in deps] == []


def test_lifecycle_journeys_see_the_rules_only_through_their_interface():
    edges = graph()
    journeys = ["badges", "churn", "comms", "dunning", "engagement", "onboarding", "referrals"]
    assert {name: edges[name] & {"account", "rules"} for name in journeys} == {name: set() for name in journeys}
    assert all("rules_port" in edges[name] for name in journeys if name != "comms")


@pytest.mark.parametrize("name", MODULES)
def test_domain_module_is_pure(name):
    _, outside = imports_of((DOMAIN / f"{name}.py").read_text())
    assert not outside & FORBIDDEN, f"domain/{name}.py imports {sorted(outside & FORBIDDEN)}"
