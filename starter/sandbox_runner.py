"""The workflow sandbox, cheaper per activation and per payload, with the same behaviour.

Profiled (bench/RESULTS.md, the campaign fan-out): the SDK's sandbox runs each activation, and
finds each payload's serialization context, by `exec` of a short source text inside the sandbox.
Two costs, both cut here:

- Python compiled those few fixed texts again at every call (~12% of the worker's CPU). `exec`
  runs a code object exactly as it runs the text it was compiled from: they are compiled once.
- The serialization context (~17%) only matters to a data converter that uses one. Ours does not
  (pydantic JSON, the encryption codec): given a context, it answers with itself, so every payload
  is encoded by the same converter whatever the context. `runner_for` checks that of the worker's
  converter and then skips the sandbox call (the SDK then uses that same converter); a converter
  that does use contexts keeps the SDK's path.
- The external-storage context (~3.5% of the worker's Python time replaying journeys in the
  campaign fan-out): the same kind of sandbox call for every payload sequence a completion
  encodes, whose answer the SDK discards when the converter has no external storage (ours has
  none). `runner_for` checks that too; a converter with external storage keeps the SDK's path.

Tied to the SDK's `_Instance` (a private class): every workflow test runs through it, so an SDK
that changed it would fail them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import CodeType
from typing import Any

from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    SerializationContext,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance


@lru_cache(maxsize=256)
def compiled(code: str) -> CodeType:
    """A snippet compiled as `exec` compiles text (it is one of a handful, fixed by the SDK)."""
    return compile(code, "<string>", "exec")


def uses_context(converter: DataConverter) -> bool:
    """Whether the converter changes with the serialization context (the SDK's test: a converter
    whose parts are unchanged by `with_context` is returned as it is)."""
    probes: list[SerializationContext] = [
        WorkflowSerializationContext(namespace="probe", workflow_id="probe"),
        ActivitySerializationContext(
            namespace="probe",
            activity_id="probe",
            activity_type="probe",
            activity_task_queue="probe",
            workflow_id="probe",
            workflow_type="probe",
            is_local=False,
        ),
    ]
    return any(converter.with_context(probe) is not converter for probe in probes)


NO_STORE_CONTEXT = StorageDriverStoreContext(target=None)


class CompiledSnippetInstance(_Instance):
    def __init__(self, *args: Any, context_free: bool, storage_free: bool = False, **kwargs: Any) -> None:
        self.context_free = context_free
        self.storage_free = storage_free
        super().__init__(*args, **kwargs)

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() takes a code object as it takes text: the SDK's own body runs, compiled once
        super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]  # see the line above

    def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
        if self.context_free:
            return None  # the converter is the same under any context (see the module docstring)
        return super().get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> StorageDriverStoreContext:
        if self.storage_free:
            return NO_STORE_CONTEXT  # discarded by a converter without external storage (module docstring)
        return super().get_external_store_context(command_info)


@dataclass(frozen=True)
class CompiledSandboxRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` whose instances run precompiled snippets and, when `context_free`
    (the worker's converter uses no serialization context), skip the per-payload context call;
    when `storage_free` (it has no external storage), the per-payload store-context call."""

    context_free: bool = False
    storage_free: bool = False

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return CompiledSnippetInstance(
            det, self.runner_class, self.restrictions, context_free=self.context_free, storage_free=self.storage_free
        )


def runner_for(restrictions: SandboxRestrictions, converter: DataConverter) -> CompiledSandboxRunner:
    """The runner for a worker whose client has `converter`."""
    return CompiledSandboxRunner(
        restrictions=restrictions,
        context_free=not uses_context(converter),
        storage_free=converter.external_storage is None,
    )
