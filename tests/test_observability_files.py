"""deploy/grafana and deploy/prometheus: they parse, every metric they refer to is one Tenure exports or one
Temporal's SDK or server does, the alerts cover Temporal's worker-health signals, and the dashboard shows every
metric Tenure exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from activities import metrics as worker_metrics
from starter.api import metrics as api_metrics

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "tenure-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
SCRAPE = ROOT / "deploy" / "prometheus" / "prometheus.yml"

# Temporal's: the SDK's metrics (docs.temporal.io, "SDK metrics"; what the worker's runtime served in
# tests/test_make_run_metrics.py) and the server's task-queue metrics (seen on the dev server's /metrics).
TEMPORAL_SDK = {
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_workflow_task_execution_latency",
    "temporal_workflow_task_replay_latency",
    "temporal_workflow_task_queue_poll_succeed",
    "temporal_workflow_task_queue_poll_empty",
    "temporal_workflow_task_execution_failed",
    "temporal_activity_schedule_to_start_latency",
    "temporal_activity_execution_latency",
    "temporal_activity_execution_failed",
    "temporal_activity_poll_no_task",
    "temporal_worker_task_slots_available",
    "temporal_worker_task_slots_used",
    "temporal_sticky_cache_size",
    "temporal_sticky_cache_hit",
    "temporal_sticky_cache_miss",
    "temporal_num_pollers",
    "temporal_request",
    "temporal_request_failure",
    "temporal_long_request",
    "temporal_long_request_failure",
    "temporal_workflow_completed",
    "temporal_workflow_failed",
}
TEMPORAL_SERVER = {"poll_success", "poll_success_sync", "poll_timeouts", "pending_polls"}
PROMETHEUS = {"up"}
TENURE = set(worker_metrics.NAMES) | set(api_metrics.NAMES)
KNOWN = TEMPORAL_SDK | TEMPORAL_SERVER | PROMETHEUS | TENURE

FUNCTIONS_AND_KEYWORDS = {
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "histogram_quantile", "by", "without",
    "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "absent", "bool",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (histogram series folded to their metric)."""
    text = re.sub(r'"[^"]*"', "", expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        after = text[match.end() :].lstrip()
        if word in FUNCTIONS_AND_KEYWORDS or after.startswith("(") or word.startswith("$"):
            continue
        if text[max(0, match.start() - 1)] == "$":  # a Grafana variable
            continue
        names.add(re.sub(r"_(bucket|count|sum)$", "", word))
    return names


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def test_the_parser_finds_metrics_and_skips_the_rest():
    expr = 'histogram_quantile(0.99, sum by (le, task_queue) (rate(tenure_x_bucket{a="b"}[$__rate_interval]))) > 1'
    assert metric_names(expr) == {"tenure_x"}
    assert metric_names("sum(rate(a_total[5m])) / sum(rate(b[5m]))") == {"a_total", "b"}


def test_every_metric_the_dashboard_and_alerts_read_is_exported():
    exprs = dashboard_exprs() + [rule["expr"] for rule in alert_rules()]
    assert len(exprs) > 20
    unknown = {name for expr in exprs for name in metric_names(expr)} - KNOWN
    assert not unknown, f"neither Tenure's nor Temporal's: {unknown}"


def test_the_alerts_cover_temporals_worker_health_signals():
    rules = alert_rules()
    for rule in rules:
        assert rule["alert"].startswith("Tenure") and rule["annotations"]["summary"], rule
    read = {name for rule in rules for name in metric_names(rule["expr"])}
    assert {
        "temporal_workflow_task_schedule_to_start_latency",  # schedule-to-start p99
        "poll_success_sync",  # sync match rate
        "poll_timeouts",  # poll success rate
        "temporal_worker_task_slots_available",  # slots available
    } <= read
    quantiles = [rule for rule in rules if "schedule_to_start" in rule["expr"]]
    assert all("histogram_quantile(0.99" in rule["expr"] for rule in quantiles)
    assert "alerts.yml" in yaml.safe_load(SCRAPE.read_text())["rule_files"]


def test_the_dashboard_shows_everything_tenure_exports():
    shown = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    assert TENURE <= shown, f"not on the dashboard: {TENURE - shown}"
    assert worker_metrics.CAMPAIGN_MEMBERS in shown


def test_every_worker_and_api_replica_is_a_target_of_its_own():
    """`docker compose up --scale worker=3` (README): the service name resolves to every replica, so the
    jobs discover them by DNS; a static `worker:9464` scraped one at random each time. No worker at all
    (stopped containers leave DNS) is an alert of its own."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    jobs = {job["job_name"]: job for job in yaml.safe_load(SCRAPE.read_text())["scrape_configs"]}
    worker_port = int(compose["worker"]["environment"]["TENURE_WORKER_METRICS_ADDRESS"].rsplit(":", 1)[1].rstrip("}"))
    api_port = int(compose["api"]["command"][compose["api"]["command"].index("--port") + 1])
    for job, service, port in (("tenure-worker", "worker", worker_port), ("tenure-api", "api", api_port)):
        assert "static_configs" not in jobs[job], job
        assert jobs[job]["dns_sd_configs"] == [{"names": [service], "type": "A", "port": port}], jobs[job]
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    assert any(rule["expr"] == 'absent(up{job="tenure-worker"} == 1)' for rule in rules)
