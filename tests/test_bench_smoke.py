"""`make bench` must not rot: its smallest configuration runs end to end (not timed, nothing judged).

Every phase runs with a handful of events against the session's dev server: the raw engine's
worker, Tenure's worker and API as subprocesses, signed webhooks, the memory phase, and the
busy customer-year on a time-skipping server; then the report renders.
"""

from __future__ import annotations

import io
import shutil

import pytest
from rich.console import Console


@pytest.mark.timeout(300)  # five processes and two servers on shared cores; ~20 s alone
async def test_bench_smallest_configuration_runs(dev_env):
    from bench import report
    from bench.__main__ import run
    from bench.config import TINY

    address = dev_env.client.service_client.config.target_host
    results = await run(TINY, address=address, console_=Console(file=io.StringIO()))
    try:
        assert results["raw"]["events"] == TINY.events and results["raw"]["errors"] == 0
        tenure = results["tenure"]
        for phase in ("http_full", "http_half", "client_full"):
            assert tenure[phase]["per_second"] > 0 and tenure[phase]["errors"] == 0, phase
            assert tenure[phase]["latency"]["p50"] > 0, phase
        assert results["memory"]["samples"][-1]["journeys"] == TINY.memory_large
        year = results["year"]
        assert year["incoming_events_per_customer"] > 0 and year["longest_run"] > 0
        table = report.markdown(results)
        assert "raw engine" in table and "| target | value | met |" in table
        assert len(results["targets"]) >= 7
    finally:
        shutil.rmtree(results["workdir"], ignore_errors=True)
