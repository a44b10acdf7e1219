"""Production refuses to start insecurely (starter/startup_checks.py): the worker and the API name every
missing secret at once; development (`make run`, the tests) starts with its local stand-ins."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from starter.api.settings import ApiSettings
from starter.startup_checks import production_faults, require_safe_start
from tests.api_kit import app_client

ROOT = Path(__file__).resolve().parent.parent
REAL_KEY = "k_" + "9f3c" * 8
PAYLOAD_KEYS = "k1:" + "A" * 43 + "="  # presence is checked here; the codec validates the content

MISSING_API_KEYS = "TENURE_API_KEYS is not set"
MISSING_BILLING = "no billing webhook secret"
MISSING_PAYLOAD = "TENURE_PAYLOAD_KEYS (or TENURE_PAYLOAD_KEYS_FILE) is not set"


def production(**values) -> ApiSettings:
    """Production settings from `values` alone: nothing from this process's environment but the defaults."""
    base = dict(
        environment="production",
        api_keys="",
        stripe_webhook_secret=None,
        billing_webhook_secret=None,
        sendgrid_api_key=None,
        sendgrid_webhook_public_key=None,
        payload_keys=None,
        payload_keys_file=None,
        billing="local",
        stripe_api_key=None,
    )
    return ApiSettings(**(base | values))


def complete(**values) -> ApiSettings:
    return production(
        **(
            dict(api_keys=f"{REAL_KEY}:app:billing", stripe_webhook_secret="whsec_real", payload_keys=PAYLOAD_KEYS)
            | values
        )
    )


def test_development_starts_with_the_local_stand_ins():
    assert production_faults(production(environment="development")) == []


def test_production_names_every_missing_secret_at_once():
    faults = production_faults(production())
    assert len(faults) == 3, faults
    assert faults[0].startswith(MISSING_API_KEYS) and "'dev-key'" in faults[0]
    assert faults[1].startswith(MISSING_BILLING)
    assert "TENURE_STRIPE_WEBHOOK_SECRET" in faults[1] and "TENURE_BILLING_WEBHOOK_SECRET" in faults[1]
    assert faults[2].startswith(MISSING_PAYLOAD)


def test_complete_production_settings_start():
    assert production_faults(complete()) == []
    require_safe_start(complete(), "worker")  # does not raise


@pytest.mark.parametrize(
    "billing",
    [dict(stripe_webhook_secret="whsec_a"), dict(stripe_webhook_secret=None, billing_webhook_secret="hmac-secret")],
)
def test_one_billing_source_is_enough(billing):
    assert production_faults(complete(**billing)) == []


@pytest.mark.parametrize(
    "keys, fault",
    [
        ("dev-key", "TENURE_API_KEYS entry 1 is the development key 'dev-key'"),
        (f"{REAL_KEY}:app,dev-key:admin", "TENURE_API_KEYS entry 2 is the development key 'dev-key'"),
        (f"{REAL_KEY}:app,short:support:maria", "TENURE_API_KEYS entry 2 (maria) is shorter than 16 characters"),
        (f"{REAL_KEY}:owner", "TENURE_API_KEYS entry 1: unknown role 'owner'"),
        ("  ,  ", MISSING_API_KEYS),
    ],
)
def test_production_refuses_api_keys_that_are_not_real(keys, fault):
    faults = production_faults(complete(api_keys=keys))
    assert len(faults) == 1 and faults[0].startswith(fault), faults


def test_sendgrid_mail_needs_its_event_webhook_key():
    faults = production_faults(complete(sendgrid_api_key="SG.real"))
    assert len(faults) == 1 and "TENURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not" in faults[0], faults
    assert production_faults(complete(sendgrid_api_key="SG.real", sendgrid_webhook_public_key="MFkw")) == []
    assert production_faults(complete(sendgrid_webhook_public_key="MFkw")) == []  # no mail sent: optional


def test_stripe_billing_needs_its_api_key():
    faults = production_faults(complete(billing="stripe"))
    assert faults == ["TENURE_BILLING=stripe needs TENURE_STRIPE_API_KEY"]
    assert production_faults(complete(billing="stripe", stripe_api_key="sk_live_x")) == []


def test_payload_keys_may_come_from_a_file(tmp_path: Path):
    keys = tmp_path / "payload_keys"
    faults = production_faults(complete(payload_keys=None, payload_keys_file=keys))
    assert faults == [f"TENURE_PAYLOAD_KEYS_FILE {keys} is not a readable file"]
    keys.write_text(PAYLOAD_KEYS)
    assert production_faults(complete(payload_keys=None, payload_keys_file=keys)) == []


def test_stripes_own_variable_name_counts(monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_stripe_cli")
    s = ApiSettings(environment="production", api_keys=REAL_KEY, payload_keys=PAYLOAD_KEYS)
    assert production_faults(s) == []


def test_require_safe_start_stops_the_process_naming_it_and_every_fault():
    with pytest.raises(SystemExit) as stopped:
        require_safe_start(production(), "API")
    message = str(stopped.value)
    assert message.startswith("Tenure refuses to start the API in production"), message
    for fault in (MISSING_API_KEYS, MISSING_BILLING, MISSING_PAYLOAD):
        assert f"  - {fault}" in message, message


# --- the processes themselves ------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bare_production_env(tmp_path: Path) -> dict[str, str]:
    """This environment without any TENURE_ setting (and Stripe's alias), in production, Temporal unreachable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_") and k != "STRIPE_WEBHOOK_SECRET"}
    env.update(
        TENURE_ENVIRONMENT="production",
        TENURE_DATA_DIR=str(tmp_path),
        TENURE_TEMPORAL_ADDRESS=f"127.0.0.1:{_closed_port()}",
    )
    return env


def _refused(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return proc, time.monotonic() - t0


def test_the_worker_process_refuses_production_without_secrets(tmp_path: Path):
    proc, seconds = _refused([sys.executable, "worker.py"], _bare_production_env(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Tenure refuses to start the worker in production" in out, out
    for fault in (MISSING_API_KEYS, MISSING_BILLING, MISSING_PAYLOAD):
        assert fault in out, out
    assert "Traceback" not in out, "a refusal is a message, not a crash"
    assert not (tmp_path / "tenure.db").exists(), "refused before it opened the database"
    assert seconds < 30, "refused before it tried to reach Temporal"


def test_the_api_process_refuses_production_without_secrets(tmp_path: Path):
    port = _closed_port()
    argv = [sys.executable, "-m", "uvicorn", "starter.api:app", "--host", "127.0.0.1", "--port", str(port)]
    env = _bare_production_env(tmp_path) | {"TENURE_BILLING_WEBHOOK_SECRET": "hmac-secret"}
    proc, _ = _refused(argv, env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Tenure refuses to start the API in production" in out, out
    assert MISSING_API_KEYS in out and MISSING_PAYLOAD in out, out
    assert MISSING_BILLING not in out, "the generic billing secret is a billing source"
    assert "Application startup failed" in out, out
    assert "Traceback" not in out, "uvicorn shows the refusal, not starlette's traceback of the lifespan"
    assert not (tmp_path / "tenure.db").exists()


async def test_the_api_starts_in_production_with_its_secrets(program, tmp_path: Path):
    s = complete(data_dir=tmp_path, temporal_address=f"127.0.0.1:{_closed_port()}", api_temporal_timeout=1.0)
    async with app_client(s, program=program) as http:
        r = await http.get("/rewards", headers={"X-Api-Key": REAL_KEY})
        assert r.status_code == 200, r.text
        r = await http.get("/rewards", headers={"X-Api-Key": "dev-key"})
        assert r.status_code == 401, "no development key in production"


def test_make_run_told_production_names_every_missing_secret_before_it_starts_anything(tmp_path: Path):
    """`make run` with TENURE_ENVIRONMENT=production: the same list at once, before a dev server starts or
    the panel says "Tenure is running" (it used to start everything, offer `dev-key`, then lose the worker)."""
    proc, seconds = _refused([sys.executable, "-m", "starter.supervisor"], _bare_production_env(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Tenure refuses to start the worker and the API in production" in out, out
    for fault in (MISSING_API_KEYS, MISSING_BILLING, MISSING_PAYLOAD):
        assert fault in out, out
    assert "Nothing was started." in out and "Tenure is running" not in out and "Traceback" not in out, out
    assert not any(tmp_path.iterdir()), "no dev server, no database, no development key"
    assert seconds < 30
