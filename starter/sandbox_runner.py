"""The workflow sandbox with its snippets compiled once per process instead of at every call.

Profiled (bench/RESULTS.md, the campaign fan-out): the SDK's sandbox runs each activation, and each
payload's serialization context, by `exec` of a short source text, so Python compiled those few
fixed texts again for every activation and every payload, some tenth of the worker's CPU. `exec`
runs a code object exactly as it runs the text it was compiled from: the same snippets, the same
globals, the same sandbox and restrictions, only without compiling them each time. Tied to the
SDK's `_Instance` (a private class): every workflow test runs through it, so an SDK that changed
it would fail them all at once.
"""

from __future__ import annotations

from functools import lru_cache
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance


@lru_cache(maxsize=256)
def compiled(code: str) -> CodeType:
    """A snippet compiled as `exec` compiles text (it is one of a handful, fixed by the SDK)."""
    return compile(code, "<string>", "exec")


class CompiledSnippetInstance(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() takes a code object as it takes text: the SDK's own body runs, compiled once
        super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]  # see the line above


class CompiledSandboxRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` whose instances run precompiled snippets (see the module docstring)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return CompiledSnippetInstance(det, self.runner_class, self.restrictions)
