"""Production refuses to start without a payload key of its own: the worker, the API and `make run` say
which setting is missing, before anything connects to Temporal; the start-up checks read the keys
with the codec's loader."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from starter.api import ApiSettings
from starter.payload_codec import generate_key
from starter.startup_checks import production_faults
from tests.api_kit import api_settings, app_client
from tests.codec_kit import free_port
from tests.payload_key_for_tests import TEST_ONLY_PAYLOAD_KEYS

ROOT = Path(__file__).resolve().parent.parent


def production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_PAYLOAD_KEYS")}
    return env | {
        "TENURE_ENVIRONMENT": "production",
        "TENURE_DATA_DIR": str(tmp_path / "data"),
        "TENURE_PROGRAM_PATH": str(ROOT / "program.toml"),
        "TENURE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # nothing listens: it must not get that far
        "TENURE_API_PORT": str(free_port()),
        "TENURE_UI_PORT": str(free_port()),
    }


@pytest.mark.parametrize("command", [["worker.py"], ["-m", "starter.supervisor"]], ids=["worker", "make run"])
def test_production_without_a_key_starts_nothing_and_names_the_setting(tmp_path, command: list[str]):
    proc = subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=production_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "TENURE_PAYLOAD_KEYS" in out and "TENURE_PAYLOAD_KEYS_FILE" in out, out
    assert "Starting the Temporal dev server" not in out and "Tenure is running" not in out, out
    assert not (tmp_path / "data" / "payload-keys").exists()


async def test_the_api_refuses_to_start_in_production_without_a_key(tmp_path, program):
    s = api_settings(data_dir=tmp_path, environment="production", payload_keys=None, payload_keys_file=None)
    with pytest.raises(SystemExit, match="TENURE_PAYLOAD_KEYS"):
        async with app_client(s, client=object(), program=program):
            pass


@pytest.mark.parametrize(
    "keys, fault",
    [
        (TEST_ONLY_PAYLOAD_KEYS, "'test-only-1': development and test-only keys cannot protect production data"),
        ("k1:c2hvcnQ=", r"entry 1 \(key id 'k1'\): the key must be 32 random bytes"),
    ],
)
def test_production_start_up_checks_read_the_keys_with_the_codecs_loader(keys: str, fault: str):
    settings = ApiSettings(
        environment="production",
        api_keys="k_0123456789abcdef:app:billing",
        billing_webhook_secret="a-real-secret",
        payload_keys=keys,
        payload_keys_file=None,
    )
    [found] = production_faults(settings)
    assert re.search(fault, found), found
    assert production_faults(settings.model_copy(update={"payload_keys": generate_key("2027-01")})) == []
