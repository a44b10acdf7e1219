"""The ledger database going away under a running API: 503 with Retry-After and one log line, as for
Temporal, not a 500 "internal error" with a traceback."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from storage.engine import create_engine_for
from tests.api_kit import AUTH, api_settings, app_client


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_ledger_read_while_the_database_is_down_is_503(program, tmp_path: Path, caplog):
    s = api_settings(data_dir=tmp_path, temporal_address=f"127.0.0.1:{_closed_port()}", api_temporal_timeout=1.0)
    async with app_client(s, program=program) as http:
        services = http.app.state.services  # type: ignore[attr-defined]
        down = create_engine_for(f"postgresql+psycopg://tenure:sekrit@127.0.0.1:{_closed_port()}/tenure")
        services.engine, up = down, services.engine
        try:
            with caplog.at_level(logging.WARNING, logger="tenure.api"):
                r = await http.get("/members/cus_1/ledger", headers=AUTH)
        finally:
            services.engine = up
            down.dispose()
    assert r.status_code == 503, r.text
    assert r.json() == {"error": "the ledger database is unavailable: retry later"}, r.text
    assert int(r.headers["retry-after"]) > 0
    lines = [rec for rec in caplog.records if "ledger database is unavailable" in rec.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None, [rec.getMessage() for rec in caplog.records]
    assert "Connection refused" in lines[0].getMessage() and "sekrit" not in lines[0].getMessage()
