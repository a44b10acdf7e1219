"""The worker cache's default (starter/worker_cache.py): a share of the memory the worker may use,
read from cgroup v2 or v1 when a limit is set, else the machine's; an explicit setting always wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import Settings
from starter import worker_cache
from starter.worker_cache import BYTES_PER_JOURNEY, MAXIMUM, MEMORY_SHARE, MINIMUM, cache_size, cgroup_limit
from worker import cache_line, tuning

GiB = 1024**3


def cgroups(tmp_path: Path, limits: dict[str, str], own: str = "/") -> tuple[Path, Path]:
    """A cgroup v2 tree under tmp_path with `memory.max` files, and a /proc/self/cgroup naming `own`."""
    root = tmp_path / "cgroup"
    root.mkdir()
    for where, text in limits.items():
        directory = root / where.strip("/")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "memory.max").write_text(text + "\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"0::{own}\n")
    return root, proc


def test_cache_size_is_a_share_of_memory_within_bounds() -> None:
    assert cache_size(1 * GiB) == int(GiB * MEMORY_SHARE) // BYTES_PER_JOURNEY
    assert cache_size(int(1.5 * GiB)) == int(1.5 * GiB * MEMORY_SHARE) // BYTES_PER_JOURNEY
    # a big host caches no more than a full garbage collection walks well inside the SDK's 2-s deadlock
    # limit (~0.14 ms per cached journey, bench/RESULTS.md fan-out step 12): 24 GiB would give ~57,000
    assert cache_size(24 * GiB) == MAXIMUM == 5_000
    assert cache_size(128 * 1024**2) == MINIMUM  # a small container still caches the old default
    assert cache_size(None) == MINIMUM  # unknown memory
    assert cache_size(0) == MINIMUM
    assert cache_size(1024 * GiB) == MAXIMUM


def test_cgroup_limit_present(tmp_path: Path) -> None:
    root, proc = cgroups(tmp_path, {"/": str(2 * GiB)})
    assert cgroup_limit(root, proc) == 2 * GiB


def test_cgroup_limit_max_means_none(tmp_path: Path) -> None:
    root, proc = cgroups(tmp_path, {"/": "max"})
    assert cgroup_limit(root, proc) is None


def test_cgroup_limit_absent(tmp_path: Path) -> None:
    root, proc = cgroups(tmp_path, {})
    assert cgroup_limit(root, proc) is None
    assert cgroup_limit(tmp_path / "nowhere", tmp_path / "no-proc-file") is None


def test_cgroup_limit_is_the_lowest_from_own_group_up(tmp_path: Path) -> None:
    # a service's own group says max, its slice limits it: the slice's limit holds
    root, proc = cgroups(
        tmp_path,
        {"/": "max", "/system.slice": str(3 * GiB), "/system.slice/tenure.service": "max"},
        own="/system.slice/tenure.service",
    )
    assert cgroup_limit(root, proc) == 3 * GiB


def test_cgroup_limit_own_group_below_its_parent(tmp_path: Path) -> None:
    root, proc = cgroups(tmp_path, {"/a": str(4 * GiB), "/a/b": str(1 * GiB)}, own="/a/b")
    assert cgroup_limit(root, proc) == 1 * GiB


def test_default_follows_the_cgroup_limit_below_the_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = cgroups(tmp_path, {"/": str(2 * GiB)})
    monkeypatch.setattr(worker_cache, "CGROUP_ROOT", root)
    monkeypatch.setattr(worker_cache, "PROC_CGROUP", proc)
    monkeypatch.setattr(worker_cache, "physical_memory", lambda: 24 * GiB)
    assert worker_cache.default_cache_size() == cache_size(2 * GiB)
    (root / "memory.max").write_text("max\n")  # no limit: the machine's memory
    assert worker_cache.default_cache_size() == cache_size(24 * GiB)
    (root / "memory.max").write_text(str(64 * GiB))  # a limit above the machine: the machine's
    assert worker_cache.default_cache_size() == cache_size(24 * GiB)


def test_settings_default_and_explicit_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENURE_WORKER_MAX_CACHED_WORKFLOWS", raising=False)
    monkeypatch.setattr(worker_cache, "default_cache_size", lambda: 4321)
    assert Settings().worker_max_cached_workflows == 4321
    assert tuning(Settings())["max_cached_workflows"] == 4321
    monkeypatch.setenv("TENURE_WORKER_MAX_CACHED_WORKFLOWS", "1000")  # an explicit value wins
    assert Settings().worker_max_cached_workflows == 1000
    assert tuning(Settings())["max_cached_workflows"] == 1000
    assert Settings(worker_max_cached_workflows=0).worker_max_cached_workflows == 0  # 0: no cache, as the SDK


def test_cgroup_limit_a_parent_below_its_child(tmp_path: Path) -> None:
    # the own group's limit is not the answer when a parent holds less: the lowest on the way up
    root, proc = cgroups(tmp_path, {"/a": str(1 * GiB), "/a/b": str(4 * GiB)}, own="/a/b")
    assert cgroup_limit(root, proc) == 1 * GiB


V1_UNLIMITED = "9223372036854771712"  # what cgroup v1 reads for "no limit" (2**63 - 1, page-rounded)


def cgroups_v1(tmp_path: Path, limits: dict[str, str], own: str) -> tuple[Path, Path]:
    """A cgroup v1 memory hierarchy under tmp_path/cgroup/memory, and a /proc/self/cgroup as v1 writes it."""
    root = tmp_path / "cgroup"
    for where, text in limits.items():
        directory = root / "memory" / where.strip("/")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "memory.limit_in_bytes").write_text(text + "\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"12:pids:{own}\n9:memory:{own}\n4:cpu,cpuacct:{own}\n1:name=systemd:{own}\n")
    return root, proc


def test_cgroup_v1_limit_of_a_docker_container(tmp_path: Path) -> None:
    # Docker on a v1 host mounts the container's own memory cgroup at /sys/fs/cgroup/memory, while
    # /proc/self/cgroup names its path on the host: the walk up finds the limit at the mount
    root, proc = cgroups_v1(tmp_path, {"/": str(1 * GiB)}, own="/docker/0123abcd")
    assert cgroup_limit(root, proc) == 1 * GiB
    host = {"/": V1_UNLIMITED, "/system.slice": str(3 * GiB)}
    root, proc = cgroups_v1(tmp_path / "host", host, own="/system.slice")
    assert cgroup_limit(root, proc) == 3 * GiB  # a service's slice on the host
    root, proc = cgroups_v1(tmp_path / "unlimited", {"/": V1_UNLIMITED}, own="/")
    assert cgroup_limit(root, proc) is None  # v1's "unlimited"


def test_unreadable_cgroup_files_mean_no_limit(tmp_path: Path) -> None:
    root, proc = cgroups(tmp_path, {"/": str(2 * GiB)})
    (root / "memory.max").unlink()
    (root / "memory.max").mkdir()  # reading it fails (IsADirectoryError), as an unreadable file would
    proc.write_text("garbage without colons\n")
    assert cgroup_limit(root, proc) is None


def test_the_worker_log_says_the_cache_size_and_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENURE_WORKER_MAX_CACHED_WORKFLOWS", raising=False)
    monkeypatch.setattr(worker_cache, "default_cache_size", lambda: 56207)
    assert cache_line(Settings()) == (
        "sticky cache: 56,207 journeys (unset: a quarter of this worker's memory, starter/worker_cache.py)"
    )
    monkeypatch.setenv("TENURE_WORKER_MAX_CACHED_WORKFLOWS", "1000")
    assert cache_line(Settings()) == "sticky cache: 1,000 journeys (TENURE_WORKER_MAX_CACHED_WORKFLOWS)"
