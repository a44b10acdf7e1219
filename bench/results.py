"""Where a run's results go, and how one run is published into bench/RESULTS.md.

`make bench` writes bench/results/latest.json and its rendered table latest.md, both ignored by
git: a run never changes a tracked file. `make bench-publish` (`python -m bench publish`) is the
deliberate step that puts the latest run into bench/RESULTS.md, to be committed with what it
measured. RESULTS.md is written by hand down to its "## Latest run" heading; publishing replaces
everything from that heading on.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import report

BENCH = Path(__file__).resolve().parent
RESULTS_DIR = BENCH / "results"
PAGE = BENCH / "RESULTS.md"
LATEST_RUN = "## Latest run"


def save(results: dict, folder: Path = RESULTS_DIR) -> list[Path]:
    """latest.json (every number) and latest.md (the table RESULTS.md would show)."""
    folder.mkdir(parents=True, exist_ok=True)
    raw, table = folder / "latest.json", folder / "latest.md"
    raw.write_text(json.dumps(results, indent=2))
    table.write_text(report.markdown(results))
    return [raw, table]


def with_latest_run(page: str, table: str) -> str:
    """`page` with its "## Latest run" section (to the end) replaced by `table`; added when missing."""
    lines = page.splitlines(keepends=True)
    heading = next((i for i, line in enumerate(lines) if line.rstrip() == LATEST_RUN), len(lines))
    head = "".join(lines[:heading]).rstrip()
    return f"{head}\n\n{LATEST_RUN}\n\n{table}"


def publish(folder: Path = RESULTS_DIR, page: Path = PAGE) -> Path:
    """Render `folder`/latest.json into `page`'s latest-run section."""
    latest = folder / "latest.json"
    if not latest.is_file():
        raise SystemExit(f"no run to publish: {latest} is missing (run `make bench` first)")
    results = json.loads(latest.read_text())
    page.write_text(with_latest_run(page.read_text(), report.markdown(results)))
    return page
