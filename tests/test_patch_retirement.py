"""Which recorded runs still need the `workflow.patched` branches (README "Operating Tenure", Retiring old code).

Every history of a run at rules version 1 or later replays with `workflow.patched` made to fail: those runs never
ask a patch, so the four patches are needed only by runs at rules version 0. Once no run at version 0 is open
(each moves to the newest rules at its next continue-as-new; pinned to its worker version until then), the
patched branches can be deleted and the version-0 histories retired from tests/histories. The histories of
version 0 do ask, which is what gives this test its teeth; and a new `workflow.patched` call on a newer path
fails here, since newer code branches on the run's rules version instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

import worker
from domain.journey import JourneyInput
from tests.payload_key_for_tests import data_converter_for_tests
from tests.test_replay import FILES, started_input, workflow_id_of

# customer journeys only: the patches are the journey's (a campaign workflow's history has no rules version)
JOURNEYS = [f for f in FILES if workflow_id_of(f).startswith("customer-")]


class AskedAPatch(Exception):
    pass


def _refuse(patch_id: str) -> bool:
    raise AskedAPatch(patch_id)


async def _rules_version(path: Path) -> int:
    [journey] = await data_converter_for_tests().decode([started_input(path)], [JourneyInput])
    return journey.rules_version


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    return Replayer(
        workflows=worker.WORKFLOWS, workflow_runner=worker.RUNNER, data_converter=data_converter_for_tests()
    )


# a replay that fails inside a signal handler leaves that handler's coroutine unawaited
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_only_runs_at_rules_version_0_ask_the_patches(replayer, monkeypatch):
    monkeypatch.setattr(workflow, "patched", _refuse)
    by_version: dict[int, list[str]] = {}
    asked: set[str] = set()
    for path in JOURNEYS:
        version = await _rules_version(path)
        by_version.setdefault(version, []).append(path.name)
        history = WorkflowHistory.from_json(workflow_id_of(path), path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            assert version == 0, f"{path.name} (rules version {version}) asks a patch: {result.replay_failure}"
            asked.add(path.name)
    assert by_version.get(0) and any(v >= 1 for v in by_version), sorted(by_version)
    assert asked == set(by_version[0]), "every version-0 run asks the patches; none of the later ones"
