"""Every recorded history (tests/histories/*.json) must replay on the current workflow code.

A history that no longer replays means a change to workflow code altered the commands a
running journey already issued: that change needs `workflow.patched("some-id")`. Histories are
recorded with `python -m tests.record_histories` after each release and never deleted.

The replayer uses Tenure's data converter: histories recorded before payload encryption (plain JSON
payloads) replay as they are, newer ones are encrypted under the test-only key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

import worker
from starter.payload_codec import ENCODING
from tests.payload_key_for_tests import TEST_ONLY_KEY_ID, data_converter_for_tests

HISTORIES = Path(__file__).resolve().parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


def workflow_id_of(path: Path) -> str:
    """`{tag}__{workflow_id}__{run_id}.json` -> workflow_id."""
    parts = path.stem.split("__")
    if len(parts) != 3:
        raise ValueError(f"{path.name}: expected TAG__WORKFLOW-ID__RUN-ID.json")
    return parts[1]


def test_histories_are_recorded():
    assert FILES, f"no histories in {HISTORIES}: run `.venv/bin/python -m tests.record_histories`"
    assert any("rec_burst" in f.name for f in FILES) and len({workflow_id_of(f) for f in FILES}) >= 4


def started_input(path: Path):
    """The first payload of a history: its run's input, as recorded."""
    history = WorkflowHistory.from_json(workflow_id_of(path), path.read_text())
    return history.events[0].workflow_execution_started_event_attributes.input.payloads[0]


def test_histories_from_before_and_after_payload_encryption_are_both_kept():
    encrypted = [f for f in FILES if started_input(f).metadata.get("encoding") == ENCODING]
    plain = [f for f in FILES if f not in encrypted]
    assert plain, "the histories recorded before the codec must stay (journeys started then still run)"
    assert encrypted, "record histories with the codec: `.venv/bin/python -m tests.record_histories`"
    assert {started_input(f).metadata["encryption-key-id"].decode() for f in encrypted} == {TEST_ONLY_KEY_ID}
    assert all(b"@example.com" not in f.read_bytes() for f in encrypted), "encrypted histories show no address"


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    # debug_mode turns off the SDK's 2-second deadlock detector (the sandbox stays): this test judges the
    # commands a history replays to, not the time an activation takes, and a burst history's activation
    # (0.1 s alone) once passed 2 s of wall clock late in a full run on a 2-core VM. Workers keep it.
    return Replayer(
        workflows=worker.WORKFLOWS,
        workflow_runner=worker.RUNNER,
        data_converter=data_converter_for_tests(),
        debug_mode=True,
    )


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
async def test_recorded_history_replays(replayer: Replayer, path: Path):
    history = WorkflowHistory.from_json(workflow_id_of(path), path.read_text())
    assert history.events, f"{path.name} has no events"
    # raises (temporalio.workflow.NondeterminismError, or the workflow task's failure) when the code
    # no longer produces the commands this history recorded
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
