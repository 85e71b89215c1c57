"""Claims: atomic and oldest first, only for the preferred provider, long polls that answer
the instant a task arrives (issue items 3 and 4)."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from services.admin import provider_prefer
from shared.settings import Settings
from tests.support.ocs import V2, next_task, register, scheduled


async def test_parallel_claims_take_each_task_once_oldest_first(
        api: Any, make_user: Any, make_exapp: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app)
    ids = [(await scheduled(api, alice, text=str(i)))["id"] for i in range(8)]
    answers = await asyncio.gather(*(next_task(api, app) for _ in range(12)))
    got = [(await r.json())["ocs"]["data"]["task"]["id"] for r in answers if r.status == 200]
    assert sorted(got) == ids and sum(r.status == 204 for r in answers) == 4
    assert (await next_task(api, app)).status == 204


async def test_oldest_first_across_types(api: Any, make_user: Any, make_exapp: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app)
    await register(api, app, pid="llm2:summary", task_type="core:text2text:summary")
    a = await scheduled(api, alice, task_type="core:text2text:summary")
    b = await scheduled(api, alice)
    both = ["llm2:text2text", "llm2:summary"]
    types = ["core:text2text", "core:text2text:summary"]
    resp = await api.get(f"{V2}/tasks_provider/next_batch?format=json", headers=app,
                         json={"providerIds": both, "taskTypeIds": types, "numberOfTasks": 1})
    data = (await resp.json())["ocs"]["data"]
    assert [t["task"]["id"] for t in data["tasks"]] == [a["id"]] and data["has_more"] is True
    assert data["tasks"][0]["provider"] == "llm2:summary"
    resp = await api.get(f"{V2}/tasks_provider/next_batch?format=json", headers=app,
                         json={"providerIds": both, "taskTypeIds": types, "numberOfTasks": 5})
    data = (await resp.json())["ocs"]["data"]
    assert [t["task"]["id"] for t in data["tasks"]] == [b["id"]] and data["has_more"] is False
    resp = await api.get(f"{V2}/tasks_provider/next_batch?format=json", headers=app,
                         json={"providerIds": both, "taskTypeIds": types})
    assert resp.status == 200 and (await resp.json())["ocs"]["data"] == {"tasks": [],
                                                                         "has_more": False}


async def test_only_the_preferred_provider_claims(api: Any, make_user: Any, make_exapp: Any,
                                                  settings: Settings,
                                                  capsys: Any) -> None:
    first, second, alice = await make_exapp("one"), await make_exapp("two"), \
        await make_user("alice")
    await register(api, first, pid="one:llm")
    await register(api, second, pid="two:llm")
    await scheduled(api, alice)
    assert (await next_task(api, second, providers=["two:llm"])).status == 204
    args = type("Args", (), {"task_type": "core:text2text", "provider_id": "two:llm"})()
    assert await provider_prefer(settings, args) == 0  # `taskproc provider prefer`
    assert (await next_task(api, first, providers=["one:llm"])).status == 204
    assert (await next_task(api, second, providers=["two:llm"])).status == 200


async def test_wait_answers_the_instant_a_task_arrives(api: Any, make_user: Any,
                                                       make_exapp: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app)
    latencies = []
    for _ in range(20):
        poll = asyncio.create_task(next_task(api, app, wait="10"))
        await asyncio.sleep(0.05)
        assert not poll.done()
        started = time.perf_counter()
        task = await scheduled(api, alice)
        resp = await poll
        latencies.append(time.perf_counter() - started)
        assert (await resp.json())["ocs"]["data"]["task"]["id"] == task["id"]
    p95 = sorted(latencies)[18]
    print(f"next?wait pickup after schedule: median {statistics.median(latencies) * 1000:.1f}"
          f" ms, p95 {p95 * 1000:.1f} ms")
    assert p95 < 0.5


async def test_wait_times_out_with_204_and_is_capped(api: Any, make_exapp: Any) -> None:
    app = await make_exapp()
    await register(api, app)
    started = time.perf_counter()
    assert (await next_task(api, app, wait="0.3")).status == 204
    assert 0.25 < time.perf_counter() - started < 2
    resp = await next_task(api, app, wait="31")
    assert resp.status == 400
    assert "wait" in (await resp.json())["ocs"]["data"]["message"]
