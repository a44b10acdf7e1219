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
async def test_bench_smallest_configuration_runs(dev_env, tmp_path):
    from bench import report
    from bench import results as results_files
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
        # the memory rows' worker has an explicit cache (the default is sized from memory), the table says so
        assert results["memory"]["cache"] == TINY.memory_small
        campaign = results["campaign"]
        assert campaign["state"] == "completed" and campaign["applied"] == campaign["members"], campaign
        assert campaign["members"] >= TINY.campaign_members and campaign["raw_per_second"] > 0
        assert 0 < campaign["longest_run"] <= 4096 and campaign["worker_rss_max_mb"] > 0
        year = results["year"]
        assert year["incoming_events_per_customer"] > 0 and year["longest_run"] > 0
        table = report.markdown(results)
        assert "raw engine" in table and "| target | value | met |" in table
        assert len(results["targets"]) >= 9
        assert "campaign" in table
        assert f"open journeys (cache {TINY.memory_small:,}, set explicitly)" in table

        saved = results_files.save(results, tmp_path / "results")
        assert [p.name for p in saved] == ["latest.json", "latest.md"] and saved[1].read_text() == table
        page = tmp_path / "RESULTS.md"
        page.write_text("# Benchmark results\n\nBy hand.\n\n## Latest run\n\nan older run\n")
        results_files.publish(tmp_path / "results", page)
        assert page.read_text() == f"# Benchmark results\n\nBy hand.\n\n## Latest run\n\n{table}"
    finally:
        shutil.rmtree(results["workdir"], ignore_errors=True)


def test_publishing_replaces_only_the_latest_run_section():
    from bench.results import with_latest_run

    page = '# Results\n\nSee "## Latest run" below.\n\n## Latest run\n\nold\n| a |\n'
    assert with_latest_run(page, "new\n") == '# Results\n\nSee "## Latest run" below.\n\n## Latest run\n\nnew\n'
    assert with_latest_run("# Results\n\nBy hand.\n", "new\n") == "# Results\n\nBy hand.\n\n## Latest run\n\nnew\n"


def test_the_published_page_keeps_its_latest_run_heading():
    from bench.results import LATEST_RUN, PAGE

    assert LATEST_RUN in PAGE.read_text().splitlines(), "make bench-publish replaces from this heading on"
