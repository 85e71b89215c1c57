"""Metrics, health and readiness on the api and the dispatcher, against a real Redis."""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from shared.http.metrics import METRICS
from shared.metrics import Metrics
from shared.settings import Settings
from shared.tasks import Status
from tests.support.ocs import V2, scheduled_id
from tests.support.providers import EchoProvider, GateProvider, register_alive
from tests.support.waits import wait_for_status


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


async def test_api_counts_requests_by_route_and_status(api: Any, make_user: Any) -> None:
    alice = await make_user("alice")
    assert (await api.get(f"{V2}/task/999?format=json", headers=alice)).status == 404
    assert (await api.get(f"{V2}/tasktypes?format=json", headers=alice)).status == 200
    page = samples(await (await api.get("/metrics")).text())
    key = ("taskproc_http_requests_total", (("method", "GET"),
                                            ("route", f"{V2}/task/{{id}}"), ("status", "404")))
    assert page[key] == 1
    assert page[("taskproc_http_request_duration_seconds_count",
                 (("method", "GET"), ("route", f"{V2}/tasktypes")))] == 1
    assert page[("taskproc_role_info", (("role", "api"),))] == 1


async def test_queue_depth_and_oldest_come_from_redis(api: Any, make_user: Any,
                                                      redis: Any, keys: Any) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    first = await scheduled_id(api, alice)
    await scheduled_id(api, alice)
    # the first task waits for 90 s now (scores are schedule times in ms, server clock)
    seconds, micros = await redis.time()
    await redis.zadd(keys.scheduled("core:text2text"),
                     {str(first): seconds * 1000 + micros // 1000 - 90_000})
    page = samples(await (await api.get("/metrics")).text())
    label = (("type", "core:text2text"),)
    assert page[("taskproc_queue_depth", label)] == 2
    assert 90 <= page[("taskproc_queue_oldest_waiting_seconds", label)] < 100
    assert page[("taskproc_tasks_running", label)] == 0
    assert page[("taskproc_queue_depth", (("type", "core:text2image"),))] == 0
    assert page[("taskproc_redis_up", ())] == 1


async def test_rate_limit_refusals_are_counted_on_v1_and_v2(
        aiohttp_client: Any, settings: Settings, make_user: Any, redis: Any,
        keys: Any) -> None:
    from services.api.app import create_app

    await register_alive(redis, keys)
    limited = settings.model_copy(update={"rate_limits": settings.rate_limits.model_copy(
        update={"schedule_user": "1/minute"})})
    api = await aiohttp_client(create_app(limited))
    alice = await make_user("alice")
    await scheduled_id(api, alice)
    for version in ("v2", "v1"):
        resp = await api.post(f"/ocs/{version}.php/taskprocessing/schedule?format=json",
                              headers=alice, json={"type": "core:text2text", "appId": "t",
                                                   "input": {"input": "x"}})
        assert "Retry-After" in resp.headers
    page = samples(await (await api.get("/metrics")).text())
    refused = {k[1]: v for k, v in page.items() if k[0] == "taskproc_rate_limit_refusals_total"}
    assert sorted(dict(k)["route"] for k in refused) == [
        "/ocs/v1.php/taskprocessing/schedule", "/ocs/v2.php/taskprocessing/schedule"]


async def test_api_health_and_readiness(api: Any) -> None:
    assert (await api.get("/healthz")).status == 200
    resp = await api.get("/readyz")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    assert isinstance(api.app[METRICS], Metrics)


async def test_dispatcher_serves_probes_and_task_metrics(
        api: Any, make_user: Any, dispatcher: Any, settings: Settings, redis: Any,
        keys: Any) -> None:
    gate = GateProvider(pid="test:gate")
    proc = await dispatcher(gate, EchoProvider("core:text2text:summary"),
                            settings_=settings.model_copy(update={"dispatcher_metrics_port": 0}))
    base = f"http://127.0.0.1:{proc.health.port}"
    alice = await make_user("alice")
    done = await scheduled_id(api, alice, task_type="core:text2text:summary")
    await wait_for_status(redis, keys, done, Status.SUCCESSFUL)
    held = await scheduled_id(api, alice)
    assert await gate.started.get() == held
    async with aiohttp.ClientSession() as http:
        for probe in ("/healthz", "/readyz"):
            async with http.get(base + probe) as resp:
                assert resp.status == 200
        async with http.get(f"{base}/metrics") as resp:
            page = samples(await resp.text())
    summary = (("type", "core:text2text:summary"),)
    assert page[("taskproc_task_outcomes_total", (("outcome", "successful"),
                                                  ("provider", "test:echo"),
                                                  ("type", "core:text2text:summary")))] == 1
    assert page[("taskproc_task_pickup_seconds_count", summary)] == 1
    assert page[("taskproc_tasks_running", (("type", "core:text2text"),))] == 1
    assert page[("taskproc_role_info", (("role", "dispatcher"),))] == 1
    gate.release.set()
    await wait_for_status(redis, keys, held, Status.SUCCESSFUL)


async def test_dispatcher_counts_lease_expiries(api: Any, make_user: Any, dispatcher: Any,
                                                redis: Any, keys: Any,
                                                settings: Settings) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice)
    # a claim by a worker that died at once: its lease runs out without renewals
    from shared.store import TaskStore
    await TaskStore(redis, keys).claim(tid, gen=None, owner="dead", token="t", lease_ms=1,
                                       provider_id="test:echo")
    proc = await dispatcher(EchoProvider())
    await wait_for_status(redis, keys, tid, Status.SUCCESSFUL)
    assert proc.metrics.lease_expiries.labels("requeued")._value.get() == 1
