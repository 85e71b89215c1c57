"""The bridge role in the chart (off unless enabled) and in compose (the `bridge` profile)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.deploy import KUBE_VERSION, RELEASE, Rendered

Render = Callable[..., Rendered]


def test_the_chart_has_no_bridge_unless_enabled(render_chart: Render) -> None:
    names = {d["metadata"]["name"] for d in render_chart("url").of_kind("Deployment")}
    assert f"{RELEASE}-taskproc-bridge" not in names


def test_the_bridge_deployment_and_service(render_chart: Render,
                                           kubernetes_validate: Path) -> None:
    r = render_chart("bridge")
    dep = r.deployment("bridge")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["bridge"]
    assert [(p["name"], p["containerPort"]) for p in c["ports"]] == [("exapp", 23000)]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}
    assert env["TASKPROC_BRIDGE__NEXTCLOUD_URL"] == "https://cloud.example.com"
    assert env["TASKPROC_BRIDGE__APP_SECRET"] == {
        "secretKeyRef": {"name": "taskproc-exapp", "key": "app-secret"}}
    assert env["TASKPROC_BRIDGE__HOST"] == "0.0.0.0"
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "exapp"}
    mounts = {m["name"] for m in c["volumeMounts"]}
    assert "files" in mounts  # input and output files pass through the store
    svc = r.get("Service", f"{RELEASE}-taskproc-bridge")
    assert svc["spec"]["ports"][0]["port"] == 23000
    proc = subprocess.run(
        [str(kubernetes_validate), "--strict", "--quiet", "-k", KUBE_VERSION, "-"],
        input=r.text, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_enabled_bridge_needs_its_nextcloud(helm_run: Callable[..., Any]) -> None:
    proc = helm_run("--set", "redis.url=redis://r:6379/0", "--set", "bridge.enabled=true",
                    "--set", "bridge.secretName=s")
    assert proc.returncode != 0
    assert "bridge.nextcloudUrl" in proc.stderr


def test_compose_bridge_only_with_its_profile(compose_run: Callable[..., Any]) -> None:
    plain = compose_run("compose.yaml")
    assert plain.returncode == 0, plain.stderr
    assert "bridge" not in json.loads(plain.stdout)["services"]
    with_profile = compose_run("compose.yaml", COMPOSE_PROFILES="bridge",
                               TASKPROC_BRIDGE__NEXTCLOUD_URL="https://cloud.example.com")
    assert with_profile.returncode == 0, with_profile.stderr
    bridge = json.loads(with_profile.stdout)["services"]["bridge"]
    assert bridge["command"] == ["bridge"]
    assert bridge["environment"]["TASKPROC_BRIDGE__NEXTCLOUD_URL"] == "https://cloud.example.com"
    assert bridge["ports"][0]["host_ip"] == "127.0.0.1"
    assert bridge["ports"][0]["target"] == 23000
    assert any(v["target"] == "/data/files" for v in bridge["volumes"])
