"""`make bench`: Tenure against the raw Temporal engine, side by side, in one run.

    .venv/bin/python -m bench                 # default sizes (a few minutes on 2 cores)
    BENCH_QUICK=1 .venv/bin/python -m bench   # a one-minute smoke run

Writes bench/results/latest.json (not committed) and bench/RESULTS.md (committed).
See bench/RESULTS.md for what every number means and how it is measured.
"""
