"""The worker's collector tuning (starter/gc_tuning.py): start-up objects frozen, thresholds raised."""

from __future__ import annotations

import gc
from pathlib import Path

from starter.gc_tuning import THRESHOLDS, tune_collector


def test_tune_collector_freezes_and_raises_thresholds() -> None:
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        tune_collector()
        assert gc.get_freeze_count() > 0  # the objects alive at start are never walked again
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] > before[0]  # young collections less often than Python's default
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_worker_tunes_its_collector_after_start_up() -> None:
    source = (Path(__file__).resolve().parents[1] / "worker.py").read_text()
    main = source[source.index("async def main()") :]
    assert main.index("tune_collector()") > main.index("build_worker(client, settings, program, engine)")
