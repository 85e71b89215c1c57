"""The compose files, merged by the pinned compose binary, and the nginx router's routes."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy import COMPOSE_DIR, ROOT

TASKPROC = {"api": 8080, "dispatcher": 9100, "fileproxy": 8081}
Model = Callable[..., dict[str, Any]]


@pytest.fixture
def prod(compose_model: Model) -> dict[str, Any]:
    services: dict[str, Any] = compose_model("compose.yaml")["services"]
    return services


@pytest.fixture
def dev(compose_model: Model) -> dict[str, Any]:
    services: dict[str, Any] = compose_model(
        "compose.yaml", "compose.dev.yaml", env_file="dev.env"
    )["services"]
    return services


def test_services_and_replicas(prod: dict[str, Any]) -> None:
    assert set(prod) == {"redis", "api", "dispatcher", "fileproxy", "router"}
    assert prod["api"]["deploy"]["replicas"] == 2
    assert prod["dispatcher"]["deploy"]["replicas"] == 2
    for role in TASKPROC:
        svc = prod[role]
        assert svc["command"] == [role]
        assert svc["image"] == "taskproc:ci"
        assert svc["entrypoint"] is None, "the image's ENTRYPOINT (taskproc) must stay"
        assert svc["read_only"] is True


def test_redis_persists_with_aof_and_requires_a_password(prod: dict[str, Any]) -> None:
    redis = prod["redis"]
    cmd = " ".join(redis["command"])
    assert "--appendonly yes" in cmd
    assert "--requirepass" in cmd
    assert "--maxmemory-policy noeviction" in cmd
    assert '--maxmemory "$$REDIS_MAXMEMORY"' in cmd
    assert redis["environment"]["REDIS_MAXMEMORY"] == "1gb"
    # The image's entrypoint drops root before it starts the server; a bare redis-server
    # would run as root.
    assert re.search(r"\bexec docker-entrypoint\.sh redis-server\b", cmd)
    assert redis["entrypoint"] is None
    assert [(v["source"], v["target"]) for v in redis["volumes"]] == [("redis-data", "/data")]
    for role in TASKPROC:
        url = prod[role]["environment"]["TASKPROC_REDIS_URL"]
        assert url == "redis://:ci-only-password@redis:6379/0"


@pytest.mark.parametrize("missing", ["REDIS_PASSWORD", "TASKPROC_IMAGE"])
def test_required_settings_fail_loudly(missing: str, compose_run: Callable[..., Any]) -> None:
    proc = compose_run("compose.yaml", **{missing: None})
    assert proc.returncode != 0
    assert f"required variable {missing} is missing a value" in proc.stderr


def test_startup_order_waits_for_health(prod: dict[str, Any]) -> None:
    for role in TASKPROC:
        assert prod[role]["depends_on"]["redis"]["condition"] == "service_healthy"
    router = prod["router"]["depends_on"]
    assert {k: v["condition"] for k, v in router.items()} == {
        "api": "service_healthy",
        "fileproxy": "service_healthy",
    }


def test_every_service_has_a_health_check(prod: dict[str, Any]) -> None:
    for svc_name, svc in prod.items():
        assert svc.get("healthcheck", {}).get("test"), svc_name
    for role, port in TASKPROC.items():
        probe = " ".join(prod[role]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in probe


def test_containers_listen_on_all_interfaces_with_json_logs(prod: dict[str, Any]) -> None:
    for role in TASKPROC:
        env = prod[role]["environment"]
        assert env["TASKPROC_HOST"] == "0.0.0.0"
        assert env["TASKPROC_LOG_JSON"] == "true"
        assert env["TASKPROC_API_PORT"] == "8080"
        assert env["TASKPROC_FILEPROXY_PORT"] == "8081"
        assert env["TASKPROC_DISPATCHER_METRICS_PORT"] == "9100"


def test_files_volume_is_shared_by_fileproxy_and_dispatchers(prod: dict[str, Any]) -> None:
    for role in ("fileproxy", "dispatcher"):
        mounts = [(v["type"], v["source"], v["target"]) for v in prod[role]["volumes"]]
        files_dir = prod[role]["environment"]["TASKPROC_FILES_DIR"]
        assert mounts == [("volume", "files", files_dir)]
        assert files_dir == "/data/files"
    assert "volumes" not in prod["api"]


def test_dispatcher_stop_grace_exceeds_shutdown_grace(prod: dict[str, Any]) -> None:
    d = prod["dispatcher"]
    assert d["stop_grace_period"].endswith("s")
    assert float(d["stop_grace_period"][:-1]) > float(
        d["environment"]["TASKPROC_SHUTDOWN_GRACE_SECONDS"]
    )


def test_router_publishes_one_port_and_mounts_its_config(prod: dict[str, Any]) -> None:
    router = prod["router"]
    assert [(p["published"], p["target"]) for p in router["ports"]] == [("8080", 8080)]
    # Loopback unless TASKPROC_HTTP_BIND says otherwise: a TLS proxy in front publishes it.
    assert router["ports"][0]["host_ip"] == "127.0.0.1"
    (mount,) = router["volumes"]
    assert mount["target"] == "/etc/nginx/nginx.conf"
    assert mount["read_only"] is True
    assert Path(mount["source"]) == COMPOSE_DIR / "nginx.conf"
    for role in TASKPROC:
        assert "ports" not in prod[role], "only the router is published in production"


def test_dev_layer_builds_from_this_checkout(dev: dict[str, Any]) -> None:
    for role in TASKPROC:
        build = dev[role]["build"]
        context = Path(build["context"])
        assert context == ROOT
        assert (context / build["dockerfile"]).is_file()
        assert dev[role]["environment"]["TASKPROC_LOG_LEVEL"] == "DEBUG"
        assert dev[role]["environment"]["TASKPROC_LOG_JSON"] == "false"
        assert all(p["host_ip"] == "127.0.0.1" for p in dev[role]["ports"])
    assert dev["router"]["ports"][0]["host_ip"] == "127.0.0.1"
    assert dev["api"]["deploy"]["replicas"] == 1


def nginx_locations() -> list[tuple[str, str, str]]:
    """(modifier, pattern, body) of each location block in nginx.conf (no nested blocks)."""
    text = (COMPOSE_DIR / "nginx.conf").read_text()
    return re.findall(r"location\s+(~\*?|=)?\s*(\S+)\s*\{(.*?)\n\s*\}", text, re.S)


def nginx_route(path: str) -> str:
    """nginx's choice for a path: exact match, then the first matching regex, then prefix."""
    locations = nginx_locations()
    for mod, pat, body in locations:
        if mod == "=" and pat == path:
            return body
    for mod, pat, body in locations:
        if mod.startswith("~") and re.search(pat, path):
            return body
    prefixes = [(pat, body) for mod, pat, body in locations if not mod and path.startswith(pat)]
    return max(prefixes, key=lambda p: len(p[0]))[1]


def test_nginx_sends_file_routes_to_the_fileproxy(route_cases: list[tuple[str, str]]) -> None:
    for path, role in route_cases:
        assert f"proxy_pass http://taskproc_{role};" in nginx_route(path), path


def directive(body: str, name: str) -> str:
    m = re.search(rf"^\s*{name}\s+([^;]+);", body, re.M)
    assert m, name
    return m.group(1)


def test_nginx_streams_large_files_and_allows_long_polls() -> None:
    files = nginx_route("/ocs/v2.php/taskprocessing/files")
    assert directive(files, "proxy_request_buffering") == "off"
    assert directive(files, "proxy_buffering") == "off"
    size = directive(files, "client_max_body_size")
    assert size.endswith("m") and int(size[:-1]) >= 2048
    api = nginx_route("/ocs/v2.php/taskprocessing/tasks_provider/next")
    assert int(directive(api, "proxy_read_timeout").rstrip("s")) > 30


def test_nginx_upstreams_name_the_compose_services() -> None:
    text = (COMPOSE_DIR / "nginx.conf").read_text()
    for role, port in (("api", 8080), ("fileproxy", 8081)):
        assert re.search(rf"upstream taskproc_{role} \{{[^}}]*server {role}:{port} resolve;", text)


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics/x"])
def test_nginx_never_serves_metrics(path: str) -> None:
    body = nginx_route(path)
    assert "return 404;" in body and "proxy_pass" not in body, path
    assert "proxy_pass http://taskproc_api;" in nginx_route("/metricsfoo")


def test_nginx_sends_the_address_it_saw_not_the_clients_header() -> None:
    """The api believes X-Forwarded-For from the router only, so the router must write it
    itself (not append to a client's) and drop a client's RFC 7239 Forwarded header."""
    text = (COMPOSE_DIR / "nginx.conf").read_text()
    assert re.search(r"proxy_set_header X-Forwarded-For \$remote_addr;", text)
    assert "$proxy_add_x_forwarded_for" not in text
    assert re.search(r'proxy_set_header Forwarded "";', text)


def test_router_has_a_fixed_address_outside_the_dynamic_range(prod: dict[str, Any],
                                                              compose_model: Model) -> None:
    (pool,) = compose_model("compose.yaml")["networks"]["default"]["ipam"]["config"]
    subnet, dynamic = ipaddress.ip_network(pool["subnet"]), ipaddress.ip_network(pool["ip_range"])
    router = ipaddress.ip_address(prod["router"]["networks"]["default"]["ipv4_address"])
    assert dynamic.subnet_of(subnet)  # type: ignore[arg-type]
    assert router in subnet and router not in dynamic
    for role in TASKPROC:  # the services trust the router's X-Forwarded-For, and only its
        assert prod[role]["environment"]["TASKPROC_TRUSTED_PROXIES"] == str(router)
