"""Container health checks: `python -m starter.healthcheck worker|api`, exit 0 when healthy, 1 otherwise.

- worker: the heartbeat file (TENURE_WORKER_HEALTH_FILE) was touched recently (starter/heartbeat.py).
- api: `GET /healthz` on this container's API (port TENURE_API_PORT, default 8000) answers 200,
  i.e. the API serves and Temporal answers it: what a load balancer checks too.
Standard library and settings only, so a probe costs a fraction of a second of CPU.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from settings import Settings, settings_from_environment
from starter.heartbeat import is_fresh

API_TIMEOUT = 5.0


def worker_healthy(settings: Settings) -> tuple[bool, str]:
    path = settings.worker_health_file
    if path is None:
        return False, "TENURE_WORKER_HEALTH_FILE is not set: the worker writes no heartbeat"
    if is_fresh(path):
        return True, f"heartbeat {path} is fresh"
    return False, f"heartbeat {path} is missing or stale"


def api_healthy(port: int) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=API_TIMEOUT) as answer:
            return answer.status == 200, f"{url}: {answer.status}"
    except urllib.error.HTTPError as e:
        return False, f"{url}: {e.code} {e.read().decode(errors='replace')[:200]}"
    except OSError as e:
        return False, f"{url}: {e}"


def main(argv: list[str]) -> int:
    if argv not in (["worker"], ["api"]):
        print("usage: python -m starter.healthcheck worker|api", file=sys.stderr)
        return 2
    if argv == ["worker"]:
        healthy, why = worker_healthy(settings_from_environment(Settings))
    else:
        port = os.environ.get("TENURE_API_PORT") or "8000"
        if not port.isdigit():
            print(f"TENURE_API_PORT must be a port number, got {port!r}", file=sys.stderr)
            return 2
        healthy, why = api_healthy(int(port))
    print(why, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
