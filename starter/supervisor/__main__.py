"""`python -m starter.supervisor` (what `make run` runs)."""

import os
import sys

from .supervise import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
# Skip interpreter finalization: the Temporal client's Rust threads can abort a finalizing
# interpreter ("PyGILState_Release ... must be current", temporalio/sdk-python#300), which
# would turn a clean stop into exit status 134.
os._exit(code)
