"""`make run` (starter/supervisor): a broken program file stops it before anything starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from settings import Settings
from starter.supervisor.supervise import program_fault

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_supervisor(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    """Run `python -m starter.supervisor` as `make run` does, on free ports and its own data folder, with
    `variables` (TENURE_...) over those."""
    env = dict(
        os.environ,
        TENURE_TEMPORAL_ADDRESS=f"127.0.0.1:{_free_port()}",
        TENURE_UI_PORT=str(_free_port()),
        TENURE_API_PORT=str(_free_port()),
        TENURE_DATA_DIR=str(tmp_path / "data"),
        COLUMNS="200",
    )
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "starter.supervisor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def supervise(tmp_path: Path, program: Path) -> tuple[subprocess.CompletedProcess, int, Path]:
    """`run_supervisor` with this program file: the answer, the dev server's port and the data folder."""
    grpc = _free_port()
    proc = run_supervisor(tmp_path, TENURE_PROGRAM_PATH=str(program), TENURE_TEMPORAL_ADDRESS=f"127.0.0.1:{grpc}")
    return proc, grpc, tmp_path / "data"


def test_a_broken_program_file_starts_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    text = (ROOT / "program.toml").read_text()
    bad.write_text(text.replace("monthly_payment = 100", "monthly_payment = -5"))
    proc, grpc, data = supervise(tmp_path, bad)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert f"{bad} is not a valid program" in out and "earning.monthly_payment" in out, out
    assert "Nothing was started" in out
    assert "Starting the Temporal dev server" not in out and "Tenure is running" not in out, out
    assert not _port_open(grpc), "no dev server was started"
    assert not data.exists(), "not even the data folder was created"


def test_a_missing_program_file_starts_nothing(tmp_path):
    proc, grpc, data = supervise(tmp_path, tmp_path / "missing.toml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "missing.toml not found (set TENURE_PROGRAM_PATH)" in out and "Tenure is running" not in out, out
    assert not data.exists()


def test_the_repository_program_passes_the_check(tmp_path):
    assert program_fault(Settings(program_path=ROOT / "program.toml", data_dir=tmp_path)) is None


def test_the_worker_gets_the_allocator_settings_unless_the_operator_set_them():
    from starter.supervisor.supervise import WORKER_ALLOCATOR_ENV, worker_env

    assert WORKER_ALLOCATOR_ENV == {"MALLOC_ARENA_MAX": "2"}
    env = {"TENURE_TASK_QUEUE": "q"}
    assert worker_env(env) == {"TENURE_TASK_QUEUE": "q", "MALLOC_ARENA_MAX": "2"} and "MALLOC_ARENA_MAX" not in env
    assert worker_env({"MALLOC_ARENA_MAX": "4"})["MALLOC_ARENA_MAX"] == "4"


def test_the_panel_says_how_to_sign_in_without_keys_and_how_to_use_the_cli():
    from starter.supervisor.supervise import cli_hint, sign_in_hint

    assert "dev-key" in sign_in_hint({"TENURE_ENVIRONMENT": "development"})
    assert "dev-key" not in sign_in_hint({"TENURE_API_KEYS": "k_1:marketer:ana"})
    # `make run` set development for its children only: the shell the CLI runs in needs it too
    assert "export TENURE_ENVIRONMENT=development" in cli_hint({"TENURE_ENVIRONMENT": "development"}, {})
    assert "export" not in cli_hint({"TENURE_ENVIRONMENT": "development"}, {"TENURE_ENVIRONMENT": "development"})
    # make run told where Temporal and its data are: the CLI in another terminal must be told too (it looked
    # for Temporal on 127.0.0.1:7233 and said "is `make run` up?" while it was)
    moved = {"TENURE_TEMPORAL_ADDRESS": "127.0.0.1:27233", "TENURE_DATA_DIR": "/srv/my data"}
    assert cli_hint({"TENURE_ENVIRONMENT": "development"}, moved) == (
        "export TENURE_ENVIRONMENT=development TENURE_TEMPORAL_ADDRESS=127.0.0.1:27233 TENURE_DATA_DIR='/srv/my data'"
        ", then .venv/bin/tenure --help"
    )
    secret = {"TENURE_ENVIRONMENT": "development", "TENURE_DATABASE_URL": "postgresql://tenure:sekrit@db/tenure"}
    hint = cli_hint({"TENURE_ENVIRONMENT": "development"}, secret)
    assert hint == "set the same TENURE_DATABASE_URL as here, then .venv/bin/tenure --help" and "sekrit" not in hint


def test_a_second_make_run_starts_nothing_when_the_api_port_is_taken(tmp_path):
    """The API's port taken (another `make run`, most likely): said at once, before a dev server starts or a
    worker joins the other one's Temporal."""
    grpc = _free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        api = taken.getsockname()[1]
        proc = run_supervisor(tmp_path, TENURE_TEMPORAL_ADDRESS=f"127.0.0.1:{grpc}", TENURE_API_PORT=str(api))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"Port {api} (HTTP API) is already in use: is `make run` already running?" in out, out
    assert "Nothing was started." in out, out
    assert "Starting the Temporal dev server" not in out and "Stopping worker" not in out, out
    assert not _port_open(grpc), "no dev server was started"


def test_a_data_folder_that_cannot_be_made_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run_supervisor(tmp_path, TENURE_DATA_DIR=str(blocker / "data"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"cannot use the data folder {blocker / 'data'} (TENURE_DATA_DIR): Not a directory" in out, out
    assert "Traceback" not in out, out
