"""What an operator sees when the worker cannot run, and what a load balancer sees of the API:
- Temporal unreachable (refused, no such host): one line naming the address and the setting, no traceback;
- a namespace that does not exist: said so, with the command that creates it (not "register the search
  attributes", which cannot help), and the worker leaves with status 1, never the interpreter's abort
  ("Fatal Python error: PyGILState_Release", status 134) that a refusal after connecting could end in;
- the API's /healthz is 503 while its namespace does not exist (every webhook would be 503 too)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api_kit import api_settings, app_client

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TENURE_TEMPORAL_NAMESPACE", "TENURE_DATABASE_URL")}
    env.update(TENURE_ENVIRONMENT="development", TENURE_DATA_DIR=str(tmp_path), **settings)
    return subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize(
    "address, reason",
    [
        (f"127.0.0.1:{_closed_port()}", "Connection refused"),
        ("no-such-host.invalid:7233", "failed to lookup address information"),
    ],
)
def test_an_unreachable_temporal_is_one_line_naming_the_address(tmp_path: Path, address: str, reason: str):
    proc = _worker(tmp_path, TENURE_TEMPORAL_ADDRESS=address)
    assert proc.returncode == 1, proc.stderr
    assert f"cannot reach Temporal at {address} (TENURE_TEMPORAL_ADDRESS, namespace 'default'): " in proc.stderr
    assert reason in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.timeout(240)
def test_a_missing_namespace_is_named_with_the_command_that_creates_it(dev_env, tmp_path: Path):
    address = dev_env.client.service_client.config.target_host
    for attempt in range(3):  # the abort at shutdown came about one time in three
        proc = _worker(tmp_path, TENURE_TEMPORAL_ADDRESS=address, TENURE_TEMPORAL_NAMESPACE="no-such-namespace")
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, (attempt, out)
        assert "namespace 'no-such-namespace' does not exist" in out, out
        assert "temporal operator namespace create --namespace no-such-namespace" in out, out
        assert "search-attribute create" not in out, "creating attributes in a missing namespace cannot help"
        assert "Fatal Python error" not in out and "Traceback" not in out, out


async def test_healthz_is_503_while_the_namespace_does_not_exist(dev_env, program, tmp_path: Path):
    address = dev_env.client.service_client.config.target_host
    for namespace, status in (("no-such-namespace", 503), ("default", 200)):
        s = api_settings(data_dir=tmp_path, temporal_address=address, temporal_namespace=namespace)
        async with app_client(s, program=program) as http:
            r = await http.get("/healthz")
            assert r.status_code == status, r.text
            if status == 503:
                assert r.json()["status"] == "degraded" and "no-such-namespace" in r.json()["detail"], r.text
                assert int(r.headers["retry-after"]) > 0


def test_stripe_billing_without_its_key_is_one_line_in_development(dev_env, tmp_path: Path):
    """Production's checks name it with the other secrets; in development the worker says it as it builds
    the billing gateway (it was a ValueError traceback)."""
    from settings import Settings
    from storage.migrate import db_upgrade

    db_upgrade(Settings(data_dir=tmp_path, database_url=""))
    address = dev_env.client.service_client.config.target_host
    proc = _worker(tmp_path, TENURE_TEMPORAL_ADDRESS=address, TENURE_BILLING="stripe", TENURE_STRIPE_API_KEY="")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "TENURE_BILLING=stripe needs TENURE_STRIPE_API_KEY" in out and "Traceback" not in out, out


def _unreachable_ledger() -> str:
    return f"postgresql+psycopg://tenure:sekrit@127.0.0.1:{_closed_port()}/tenure"


def test_an_unreachable_ledger_is_one_line_from_the_worker(dev_env, tmp_path: Path):
    url = _unreachable_ledger()
    address = dev_env.client.service_client.config.target_host
    proc = _worker(tmp_path, TENURE_TEMPORAL_ADDRESS=address, TENURE_DATABASE_URL=url)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "cannot open the ledger database postgresql+psycopg://tenure:***@127.0.0.1:" in out, out
    assert "(TENURE_DATABASE_URL): connection failed" in out and "Connection refused" in out, out
    assert "Traceback" not in out and "sekrit" not in out, out


def test_an_unreachable_ledger_is_the_apis_one_refusal(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "TENURE_DATABASE_URL"}
    env.update(
        TENURE_ENVIRONMENT="development",
        TENURE_DATA_DIR=str(tmp_path),
        TENURE_TEMPORAL_ADDRESS=f"127.0.0.1:{_closed_port()}",
        TENURE_DATABASE_URL=_unreachable_ledger(),
    )
    argv = [sys.executable, "-m", "uvicorn", "starter.api:app", "--host", "127.0.0.1", "--port", str(_closed_port())]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "ERROR:    cannot open the ledger database postgresql+psycopg://tenure:***@127.0.0.1:" in out, out
    assert "Application startup failed" in out and "Traceback" not in out and "sekrit" not in out, out
