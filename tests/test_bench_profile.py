"""py-spy's collapsed stacks as both profile summaries read them (bench/profile.py `tally`): pure, no servers."""

from __future__ import annotations

from bench.profile import tally


def test_samples_are_counted_by_leaf_by_every_frame_once_and_in_all(tmp_path):
    collapsed = tmp_path / "worker.txt"
    collapsed.write_text(
        "run (w.py:1);step (w.py:2);step (w.py:2) 3\n"  # recursion: `step` counts once inclusively
        " 1\n"  # no stack: skipped
        "run (w.py:1); encode (c.py:9) 2\n"
    )
    areas, own, inclusive, total = tally(collapsed)
    assert total == 5 and sum(areas.values()) == 5
    assert own == {"step (w.py:2)": 3, "encode (c.py:9)": 2}
    assert inclusive == {"run (w.py:1)": 5, "step (w.py:2)": 3, "encode (c.py:9)": 2}
