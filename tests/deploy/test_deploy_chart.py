"""The Helm chart, rendered offline with several values sets and checked object by object."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy import KUBE_VERSION, RELEASE, Manifest, Rendered

ROLES = {"api": 8080, "dispatcher": 9100, "fileproxy": 8081}
VALUE_SETS = ["url", "secret", "sentinel", "keda", "bundled"]
Render = Callable[..., Rendered]


def container(dep: Manifest) -> Manifest:
    containers: list[Manifest] = dep["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(dep: Manifest) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(dep)["env"]}


def name(role: str) -> str:
    return f"{RELEASE}-taskproc-{role}"


@pytest.mark.parametrize("values", VALUE_SETS)
def test_rendered_manifests_pass_strict_schema_validation(
    values: str, render_chart: Render, kubernetes_validate: Path
) -> None:
    proc = subprocess.run(
        [str(kubernetes_validate), "--strict", "--quiet", "-k", KUBE_VERSION, "-"],
        input=render_chart(values).text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_chart_refuses_to_render_without_redis(helm_run: Callable[..., Any]) -> None:
    proc = helm_run()
    assert proc.returncode != 0
    assert "redis.existingSecret" in proc.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("api.replica=3", "additional properties 'replica' not allowed"),
        ("redis.sentinel.enabled=true", "minItems"),
        ("redis.url=http://redis:6379", "redis/url"),
        ("podSecurityContext.runAsNonRoot=false", "runAsNonRoot"),
        ("redis.bundled.enabled=true", "passwordSecret"),
        ("redis.bundled.maxmemory=0", "maxmemory"),
        ("config.trustedProxies[0]=router.example", "trustedProxies"),
    ],
)
def test_values_schema_rejects_bad_values(
    setting: str, message: str, helm_run: Callable[..., Any]
) -> None:
    proc = helm_run("--set", "redis.existingSecret=s", "--set", setting)
    assert proc.returncode != 0
    assert message in proc.stderr


@pytest.mark.parametrize("values", VALUE_SETS)
def test_one_deployment_per_role_running_that_role(values: str, render_chart: Render) -> None:
    r = render_chart(values)
    assert {d["metadata"]["name"] for d in r.of_kind("Deployment")} == {name(x) for x in ROLES}
    for role, port in ROLES.items():
        dep = r.deployment(role)
        c = container(dep)
        assert c["args"] == [role]
        assert "command" not in c, "the image's ENTRYPOINT (taskproc) must stay"
        assert c["image"] == "taskproc:0.1.0"
        assert [p["containerPort"] for p in c["ports"]] == [port]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize("values", VALUE_SETS)
def test_probes_use_healthz_and_readyz_on_the_role_port(values: str, render_chart: Render) -> None:
    r = render_chart(values)
    for role in ROLES:
        c = container(r.deployment(role))
        port_name = c["ports"][0]["name"]
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port_name}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port_name}
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_common_settings_reach_every_role(render_chart: Render) -> None:
    r = render_chart("url")
    data = r.get("ConfigMap", f"{RELEASE}-taskproc")["data"]
    assert data["TASKPROC_HOST"] == "0.0.0.0"
    assert data["TASKPROC_LOG_JSON"] == "true"
    assert data["TASKPROC_API_PORT"] == "8080"
    assert data["TASKPROC_FILEPROXY_PORT"] == "8081"
    assert data["TASKPROC_DISPATCHER_METRICS_PORT"] == "9100"
    assert data["TASKPROC_FILES_DIR"] == "/data/files"
    assert "TASKPROC_REDIS_SENTINELS" not in data
    for role in ROLES:
        c = container(r.deployment(role))
        assert c["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-taskproc"}}]


@pytest.mark.parametrize(
    ("values", "secret", "key"),
    [
        ("url", f"{RELEASE}-taskproc-redis", "redis-url"),
        ("secret", "my-redis", "url"),
        ("sentinel", "taskproc-redis", "redis-url"),
    ],
)
def test_redis_url_comes_from_a_secret(
    values: str, secret: str, key: str, render_chart: Render
) -> None:
    r = render_chart(values)
    for role in ROLES:
        ref = env_of(r.deployment(role))["TASKPROC_REDIS_URL"]
        assert ref == {"secretKeyRef": {"name": secret, "key": key}}
    made = [s["metadata"]["name"] for s in r.of_kind("Secret")]
    assert made == ([secret] if values == "url" else [])
    if values == "url":
        assert r.get("Secret", secret)["stringData"][key].startswith("redis://")


def test_sentinel_settings(render_chart: Render) -> None:
    r = render_chart("sentinel")
    data = r.get("ConfigMap", f"{RELEASE}-taskproc")["data"]
    assert json.loads(data["TASKPROC_REDIS_SENTINELS"]) == [
        "redis-node-0.redis-headless:26379",
        "redis-node-1.redis-headless:26379",
        "redis-node-2.redis-headless:26379",
    ]
    assert data["TASKPROC_REDIS_SENTINEL_MASTER"] == "mymaster"
    for role in ROLES:
        env = env_of(r.deployment(role))
        assert env["TASKPROC_REDIS_SENTINEL_PASSWORD"] == {
            "secretKeyRef": {"name": "taskproc-redis", "key": "sentinel-password"}
        }
    assert "TASKPROC_REDIS_SENTINEL_PASSWORD" not in env_of(render_chart("url").deployment("api"))


@pytest.mark.parametrize("values", VALUE_SETS)
def test_pods_run_as_non_root_with_a_read_only_root(values: str, render_chart: Render) -> None:
    for role in ROLES:
        dep = render_chart(values).deployment(role)
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        sc = container(dep)["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert pod["automountServiceAccountToken"] is False
        assert container(dep)["resources"]["requests"]


def test_dispatcher_grace_period_exceeds_its_shutdown_grace(render_chart: Render) -> None:
    for sets in [(), ("dispatcher.shutdownGraceSeconds=120",)]:
        dep = render_chart("url", sets=sets).deployment("dispatcher")
        grace = float(env_of(dep)["TASKPROC_SHUTDOWN_GRACE_SECONDS"])
        assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace


def test_hpas_target_api_and_dispatcher(render_chart: Render) -> None:
    r = render_chart("url")
    targets = {h["spec"]["scaleTargetRef"]["name"]: h for h in r.of_kind("HorizontalPodAutoscaler")}
    assert set(targets) == {name("api"), name("dispatcher")}
    for target, hpa in targets.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["spec"]["minReplicas"] >= 2
        # The HPA owns the replica count; a fixed one would fight it on every upgrade.
        assert "replicas" not in r.get("Deployment", target)["spec"]
    assert r.deployment("fileproxy")["spec"]["replicas"] == 2
    assert r.of_kind("ScaledObject") == []


def test_without_autoscaling_deployments_carry_replicas(render_chart: Render) -> None:
    r = render_chart("secret")
    assert r.of_kind("HorizontalPodAutoscaler") == []
    assert {role: r.deployment(role)["spec"]["replicas"] for role in ROLES} == {
        "api": 2,
        "dispatcher": 2,
        "fileproxy": 2,
    }


def test_keda_scales_dispatchers_on_queue_depth_instead_of_the_hpa(render_chart: Render) -> None:
    r = render_chart("keda")
    hpa_targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in r.of_kind("HorizontalPodAutoscaler")
    }
    assert hpa_targets == {name("api")}
    (so,) = r.of_kind("ScaledObject")
    assert so["apiVersion"] == "keda.sh/v1alpha1"
    assert so["spec"]["scaleTargetRef"] == {"name": name("dispatcher")}
    assert so["spec"]["minReplicaCount"] == 0
    (trigger,) = so["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    assert "taskproc_queue_depth" in trigger["metadata"]["query"]
    assert 'namespace="default"' in trigger["metadata"]["query"]
    assert float(trigger["metadata"]["threshold"]) > 0
    assert "replicas" not in r.deployment("dispatcher")["spec"]


@pytest.mark.parametrize("values", VALUE_SETS)
def test_pdb_per_role_selects_its_pods(values: str, render_chart: Render) -> None:
    r = render_chart(values)
    pdbs = {p["metadata"]["name"]: p for p in r.of_kind("PodDisruptionBudget")}
    assert set(pdbs) == {name(x) for x in ROLES}
    for role in ROLES:
        labels = r.deployment(role)["spec"]["template"]["metadata"]["labels"]
        assert pdbs[name(role)]["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_services_select_their_role_and_port(render_chart: Render) -> None:
    r = render_chart("url")
    for role, port in ROLES.items():
        svc = r.get("Service", name(role))
        dep = r.deployment(role)
        assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
        (svc_port,) = svc["spec"]["ports"]
        assert svc_port["port"] == port
        assert svc_port["targetPort"] == container(dep)["ports"][0]["name"]


def files_claim(dep: Manifest) -> tuple[str | None, str | None]:
    """(claimName, mountPath) of the files volume of a Deployment, or (None, None)."""
    pod = dep["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container(dep).get("volumeMounts", [])}
    if "files" not in vols:
        return None, None
    return vols["files"]["persistentVolumeClaim"]["claimName"], mounts["files"]


@pytest.mark.parametrize(
    ("values", "claim"), [("url", f"{RELEASE}-taskproc-files"), ("secret", "shared-files")]
)
def test_files_claim_is_mounted_in_fileproxy_and_dispatcher(
    values: str, claim: str, render_chart: Render
) -> None:
    r = render_chart(values)
    for role in ("fileproxy", "dispatcher"):
        assert files_claim(r.deployment(role)) == (claim, "/data/files")
    assert files_claim(r.deployment("api")) == (None, None)
    pvcs = r.of_kind("PersistentVolumeClaim")
    if values == "secret":
        assert pvcs == []
    else:
        (pvc,) = pvcs
        assert pvc["metadata"]["name"] == claim
        assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def ingress_routes(r: Rendered) -> list[tuple[str, str, Manifest]]:
    """(path, backend service, ingress) of every rule."""
    out = []
    for ing in r.of_kind("Ingress"):
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                out.append((p["path"], p["backend"]["service"]["name"], ing))
    return out


def route(r: Rendered, path: str) -> str:
    """The service ingress-nginx picks with use-regex: longest matching expression first."""
    matches = [(p, svc) for p, svc, _ in ingress_routes(r) if re.match(p, path)]
    assert matches, f"no ingress path matches {path}"
    return max(matches, key=lambda m: len(m[0]))[1]


@pytest.mark.parametrize("values", ["url", "sentinel"])
def test_ingress_sends_file_routes_to_the_fileproxy(
    values: str, render_chart: Render, route_cases: list[tuple[str, str]]
) -> None:
    r = render_chart(values)
    for path, role in route_cases:
        assert route(r, path) == name(role), path
    for _path, svc, ing in ingress_routes(r):
        ann = ing["metadata"]["annotations"]
        assert ann["nginx.ingress.kubernetes.io/use-regex"] == "true"
        if DENY in ann:
            continue
        if svc == name("fileproxy"):
            assert ann["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
            assert ann["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
            assert ann["nginx.ingress.kubernetes.io/proxy-body-size"] == "2049m"
        else:
            assert int(ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > 30


DENY = "nginx.ingress.kubernetes.io/denylist-source-range"


@pytest.mark.parametrize("values", ["url", "sentinel"])
@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/ocs/v2.php/taskprocessing/schedule"])
def test_ingress_refuses_metrics_to_everyone(values: str, path: str, render_chart: Render) -> None:
    """/metrics matches only the Ingress that denies every address; other paths never do."""
    r = render_chart(values)
    matches = [(p, ing) for p, _, ing in ingress_routes(r) if re.match(p, path)]
    best, ing = max(matches, key=lambda m: len(m[0]))
    denied = ing["metadata"]["annotations"].get(DENY)
    if path.startswith("/metrics"):
        assert denied == "0.0.0.0/0,::/0", best
    else:
        assert denied is None, best


def test_ingress_hosts_and_tls(render_chart: Render) -> None:
    for ing in render_chart("sentinel").of_kind("Ingress"):
        assert [rule["host"] for rule in ing["spec"]["rules"]] == ["ai.example.com"]
        assert ing["spec"]["tls"] == [
            {"secretName": "ai-example-com-tls", "hosts": ["ai.example.com"]}
        ]
        assert ing["spec"]["ingressClassName"] == "nginx"
    assert render_chart("secret").of_kind("Ingress") == []


def test_bundled_redis_is_bounded_persistent_and_not_root(render_chart: Render) -> None:
    r = render_chart("bundled")
    sts = r.get("StatefulSet", f"{RELEASE}-taskproc-redis")
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    args = c["args"]
    assert args[0] == "redis-server"
    pairs = dict(zip(args[1::2], args[2::2], strict=True))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--maxmemory"] == "512mb"
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert pairs["--requirepass"] == "$(REDIS_PASSWORD)"
    pod = sts["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["resources"]["limits"]["memory"] == "2Gi"  # well above maxmemory (fork headroom)
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert r.get("Service", f"{RELEASE}-taskproc-redis")["spec"]["ports"][0]["port"] == 6379


def test_roles_reach_the_bundled_redis_with_its_password(render_chart: Render) -> None:
    r = render_chart("bundled")
    for role in ("api", "dispatcher", "fileproxy"):
        (c,) = r.deployment(role)["spec"]["template"]["spec"]["containers"]
        names = [e["name"] for e in c["env"]]
        env = {e["name"]: e for e in c["env"]}
        assert names.index("BUNDLED_REDIS_PASSWORD") < names.index("TASKPROC_REDIS_URL")
        assert env["BUNDLED_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "taskproc-redis-password", "key": "redis-password"}
        assert env["TASKPROC_REDIS_URL"]["value"] == (
            f"redis://:$(BUNDLED_REDIS_PASSWORD)@{RELEASE}-taskproc-redis:6379/0")
    assert r.of_kind("Secret") == []
    assert render_chart("url").of_kind("StatefulSet") == []


def test_trusted_proxies_reach_every_role_only_when_set(render_chart: Render) -> None:
    cm = render_chart("bundled").get("ConfigMap", f"{RELEASE}-taskproc")["data"]
    assert json.loads(cm["TASKPROC_TRUSTED_PROXIES"]) == ["10.244.0.0/16", "192.0.2.10"]
    default = render_chart("url").get("ConfigMap", f"{RELEASE}-taskproc")["data"]
    assert "TASKPROC_TRUSTED_PROXIES" not in default  # empty: trust nobody


@pytest.mark.parametrize("values", VALUE_SETS)
def test_no_service_links_reach_the_settings(values: str, render_chart: Render) -> None:
    """Kubernetes' service links would set TASKPROC_<SERVICE>_PORT=tcp://…, which the settings
    refuse as unknown names: every taskproc pod turns them off."""
    r = render_chart(values)
    for role in ROLES:
        assert r.deployment(role)["spec"]["template"]["spec"]["enableServiceLinks"] is False
