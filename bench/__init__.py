"""`make bench`: Tenure against the raw Temporal engine, side by side, in one run.

    .venv/bin/python -m bench                 # default sizes (a few minutes on 2 cores)
    BENCH_QUICK=1 .venv/bin/python -m bench   # a one-minute smoke run
    .venv/bin/python -m bench publish         # the latest run into bench/RESULTS.md (`make bench-publish`)

A run writes bench/results/latest.json and latest.md only (ignored by git, see bench/results.py);
publishing a run into bench/RESULTS.md (committed) is the deliberate second step.
See bench/RESULTS.md for what every number means and how it is measured.
"""
