"""Workflow activations run on the worker's event-loop thread instead of one thread hop each.

Profiled (bench/RESULTS.md, issue 14 step 14.9): the SDK hands every workflow activation to its
thread pool (`run_in_executor`) so that a workflow task blocking longer than 2 s can be detected
and interrupted while the worker goes on. The hop — `ThreadPoolExecutor.submit`, waking a pool
thread, handing the GIL over and back, waking the loop — was the largest single cost in the
worker's profile (12% of its samples), paid twice per Tenure event (the signal, then the ledger
local activity's result).

`InlineActivationExecutor` is a `workflow_task_executor` that runs the activation where it is
submitted, in a context of its own (as a pool thread would: no context variable of the worker's
leaks in), and restores the worker's running loop afterwards (the instance's own loop unsets it).

The trade-off, and the guard kept: with the pool, a stuck workflow task fails after 2 s and the
worker goes on (the stuck thread is lost); inline, a stuck task holds the worker's loop. A watchdog
thread keeps the SDK's 2 s rule for what runs Python: an activation still running after
`deadlock_seconds` gets `WorkflowTaskStuck` raised inside it (as the SDK raises its own interruption
in its pool thread), so that workflow task fails, is logged, and is retried by the server, as with
the SDK's deadlock detection. Code stuck in C without the GIL cannot be interrupted that way: after
`fatal_seconds` more the watchdog logs the stack and ends the process (exit code 70), so a
supervisor restarts it and the server hands its tasks to another worker, instead of a worker that
polls and never answers. Off by default (`TENURE_WORKER_INLINE_ACTIVATIONS=true` turns it on): it
saved 3-4% of the worker's CPU per event, while one long activation (a replay) stalls the worker.
Python 3.14 no longer lets a task step inside another task's step on one thread: there, the pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import faulthandler
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from temporalio.bridge.runtime import Runtime

log = logging.getLogger("tenure.worker")

SUPPORTED = sys.version_info < (3, 14)


class WorkflowTaskStuck(Exception):
    """Raised inside a workflow activation that ran past the deadlock timeout (the task fails, is retried)."""


class InlineActivationExecutor(ThreadPoolExecutor):
    """Runs each submitted call at once on the calling thread; a watchdog interrupts a stuck one."""

    def __init__(self, deadlock_seconds: float = 2.0, fatal_seconds: float = 30.0) -> None:
        super().__init__(max_workers=1, thread_name_prefix="tenure-unused")  # no thread is ever started
        self.deadlock_seconds = deadlock_seconds
        self.fatal_seconds = fatal_seconds
        self._lock = threading.Lock()
        self._running_since: float | None = None  # monotonic start of the activation running now
        self._thread_id = 0
        self._interrupted = False
        self._closed = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="tenure-activation-watchdog", daemon=True)
        self._watchdog.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        loop = asyncio._get_running_loop()
        # Called by the loop's run_in_executor, answer with an asyncio future already done: it
        # hands that back as it is, where a concurrent future would be chained to the loop by a
        # call_soon_threadsafe (a write to the loop's wake-up pipe) per activation.
        future: Any = loop.create_future() if loop is not None else Future()
        with self._lock:
            self._running_since = time.monotonic()
            self._thread_id = threading.get_ident()
            self._interrupted = False
        try:
            result = contextvars.Context().run(fn, *args, **kwargs)
        except Exception as error:  # handed to the awaiting task, as from a pool thread
            self._finished(loop)
            future.set_exception(error)
        except BaseException:
            self._finished(loop)
            raise
        else:
            interrupted = self._interrupted  # the watchdog raised in it, and the workflow caught that
            self._finished(loop)
            if interrupted:  # a half-done activation must not complete its task: fail it all the same
                future.set_exception(WorkflowTaskStuck(f"workflow activation ran past {self.deadlock_seconds} s"))
            else:
                future.set_result(result)
        return cast(Future[Any], future)

    def _finished(self, loop: asyncio.AbstractEventLoop | None) -> None:
        # the loop first: should the watchdog's exception land this late, the worker's loop is back
        asyncio._set_running_loop(loop)  # the workflow instance's loop set itself, then None
        with self._lock:
            self._running_since = None

    def _watch(self) -> None:
        interval = min(0.5, self.deadlock_seconds / 4)
        while not self._closed.wait(interval):
            with self._lock:
                since = self._running_since
                if since is None:
                    continue
                late = time.monotonic() - since
                if late >= self.deadlock_seconds and not self._interrupted:
                    self._interrupted = True
                    log.error("workflow activation running for %.1f s: interrupting it (WorkflowTaskStuck)", late)
                    Runtime._raise_in_thread(self._thread_id, WorkflowTaskStuck)
                    continue
            if late >= self.deadlock_seconds + self.fatal_seconds:
                log.critical("workflow activation stuck for %.0f s and not interruptible: exiting", late)
                faulthandler.dump_traceback(all_threads=True)
                logging.shutdown()
                os._exit(70)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._closed.set()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
