"""The Grafana dashboard and the Prometheus alert rules in deploy/monitoring/ ask only for
metrics the code exports, with labels it sets; promtool checks and unit-tests the rules."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from shared.metrics import Metrics
from tests.support.deploy import DEPLOY

MONITORING = DEPLOY / "monitoring"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",), "summary": ("_sum", "_count", "")}
# PromQL words and functions that look like metric names to the regex below.
NOT_METRICS = {"by", "on", "le", "and", "or", "unless", "group_left", "group_right", "without",
               "ignoring", "bool", "offset"}


def exported() -> dict[str, set[str]]:
    """Sample name -> label names, over every role's registry."""
    out: dict[str, set[str]] = {}
    for role in ("api", "fileproxy", "dispatcher"):
        registry = Metrics(role).registry
        # Label names of families with no sample yet come from the metric objects themselves.
        declared = {getattr(c, "_name", ""): set(getattr(c, "_labelnames", ()))
                    for c in registry._collector_to_names}
        for family in registry.collect():
            labels = set(declared.get(family.name, ()))
            for sample in family.samples:
                labels |= set(sample.labels)
            for suffix in SUFFIXES[family.type]:
                out.setdefault(family.name + suffix, set()).update(
                    labels | ({"le"} if suffix == "_bucket" else set()))
    return out


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard target and alert rule."""
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    out = [(f"panel {p['title']!r}", t["expr"]) for p in dash["panels"]
           for t in p.get("targets", [])]
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    out += [(f"alert {r['alert']}", r["expr"]) for g in rules["groups"] for r in g["rules"]]
    return out


def metric_names(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", expr))
    grouped = {w for g in re.findall(r"\b(?:by|on|without|group_left|ignoring)\s*\(([^)]*)\)",
                                     expr) for w in re.findall(r"\w+", g)}
    selectors = {w for s in re.findall(r"\{([^}]*)\}", expr)
                 for w in re.findall(r"(\w+)\s*[=!~]", s)}
    return {w for w in words - NOT_METRICS - grouped - selectors
            if w.startswith(("taskproc_", "process_"))}


def test_there_is_something_to_check() -> None:
    exprs = expressions()
    assert len(exprs) >= 20
    names = set().union(*(metric_names(e) for _, e in exprs))
    for wanted in ("taskproc_queue_depth", "taskproc_queue_oldest_waiting_seconds",
                   "taskproc_task_pickup_seconds_bucket", "taskproc_task_outcomes_total",
                   "taskproc_lease_expiries_total", "taskproc_rate_limit_refusals_total",
                   "taskproc_http_requests_total", "taskproc_http_request_duration_seconds_bucket",
                   "taskproc_redis_up", "taskproc_role_info"):
        assert wanted in names, wanted


@pytest.mark.parametrize(("where", "expr"), expressions())
def test_queries_name_exported_metrics_and_their_labels(where: str, expr: str) -> None:
    metrics = exported()
    for name in metric_names(expr):
        assert name in metrics, f"{where}: {name} is not exported by shared/metrics.py"
    for sel_name, body in re.findall(r"\b(taskproc_\w+)\{([^}]*)\}", expr):
        for label in re.findall(r"(\w+)\s*[=!~]", body):
            assert label in metrics[sel_name], f"{where}: {sel_name} has no label {label}"
    for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
        for label in re.findall(r"\w+", group):
            known = set().union(*(metrics[n] for n in metric_names(expr))) | {"job", "instance"}
            assert label in known, f"{where}: no metric here carries label {label}"


def test_dashboard_is_portable() -> None:
    dash: dict[str, Any] = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dash["uid"] and dash["title"]
    assert [v["name"] for v in dash["templating"]["list"]] == ["datasource"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}", p["title"]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    reason = "promtool is missing (Debian's prometheus package; `make deploy-tools` as root)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.mark.parametrize("args", [("check", "rules", "alerts.yaml"),
                                  ("test", "rules", "alerts-test.yaml")])
def test_promtool_accepts_and_unit_tests_the_rules(args: tuple[str, ...]) -> None:
    proc = subprocess.run([_promtool(), *args], cwd=MONITORING, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
