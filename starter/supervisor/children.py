"""The supervised processes: each in its own process group, stopped in order."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE = 10.0  # seconds a child gets to stop before it is killed

console = Console(highlight=False)


@dataclass
class Child:
    """One process: the dev server (its output to a log file), the worker or the API (to the terminal)."""

    name: str
    argv: list[str]
    stop_signal: int
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        out: int | IO[bytes] | None = None
        if self.log_path is not None:
            self._log = open(self.log_path, "ab")
            self._log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(self.argv)}\n".encode())
            self._log.flush()
            out = self._log
        # Own process group: the terminal's Ctrl-C reaches only the supervisor, which then stops
        # the children in order (worker before server).
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            stdin=subprocess.DEVNULL,
            process_group=0,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float | None = None) -> None:
        if self.proc is not None:
            self.proc.wait(timeout=timeout)

    def close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_all(children: list[Child]) -> None:
    """Worker and API first (they drain against a live server), the server last."""
    for group in ([c for c in children if c.name != "temporal"], [c for c in children if c.name == "temporal"]):
        running = [c for c in group if c.alive()]
        for c in running:
            c.signal(c.stop_signal)
        deadline = time.monotonic() + STOP_GRACE
        for c in running:
            try:
                c.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                console.print(f"[yellow]{c.name} did not stop within {STOP_GRACE:.0f}s; killing it[/]")
                c.signal(signal.SIGKILL)
                c.wait()
    for c in children:
        c.close_log()
