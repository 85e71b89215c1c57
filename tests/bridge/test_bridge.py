"""The bridge role end to end: a user of the upstream (standing in for Nextcloud) schedules
tasks with the normal OCS routes and gets the results the local cluster computed."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis

from shared.tasks import Status
from tests.support.bridge import (
    LOCAL,
    ROOT,
    UP,
    Cluster,
    final,
    nothing_held,
    schedule,
    upstream_ocs,
    upstream_task,
)
from tests.support.waits import until


async def test_registers_providers_and_runs_text_tasks(cluster: Cluster, redis: Redis) -> None:
    await cluster.bridge()
    status, body = await upstream_ocs(cluster, "GET", "/tasktypes")
    assert status == 200, body
    types = body["ocs"]["data"]["types"]
    assert {"core:text2text", "core:audio2text", "core:text2speech"} <= set(types)
    # the local echo provider's enum slot and default reached the upstream's task type
    assert types["core:text2text"]["optionalInputShapeEnumValues"]["mode"][1]["value"] == "lower"
    assert types["core:text2text"]["optionalInputShapeDefaults"] == {"mode": "upper"}
    tid = await schedule(cluster, "core:text2text", {"input": "hello", "mode": "lower"})
    task = await final(redis, tid)
    assert task["status"] == Status.SUCCESSFUL.value, task
    _, body = await upstream_ocs(cluster, "GET", f"/task/{tid}")
    assert body["ocs"]["data"]["task"]["output"] == {"output": "hello"}
    await until(lambda: nothing_held(redis))
    assert await redis.zcard(LOCAL.user_tasks("nc:alice")) == 0  # local copy removed


async def test_file_inputs_and_outputs(cluster: Cluster, redis: Redis) -> None:
    await cluster.bridge()
    form = aiohttp.FormData()
    form.add_field("file", b"words from a file", filename="talk.wav", content_type="audio/wav")
    status, body = await upstream_ocs(cluster, "POST", "/files", data=form)
    assert status == 201, body
    upload = body["ocs"]["data"]["fileId"]
    tid = await schedule(cluster, "core:audio2text", {"input": upload})
    task = await final(redis, tid)
    assert task["status"] == Status.SUCCESSFUL.value, task
    assert task["output"] == '{"output":"words from a file"}'

    tid = await schedule(cluster, "core:text2speech", {"input": "say this"})
    task = await final(redis, tid)
    assert task["status"] == Status.SUCCESSFUL.value, task
    _, body = await upstream_ocs(cluster, "GET", f"/task/{tid}")
    speech = body["ocs"]["data"]["task"]["output"]["speech"]
    async with aiohttp.ClientSession() as http, http.get(
            f"{cluster.upstream_url}/ocs/v2.php/taskprocessing/tasks/{tid}/file/{speech}",
            headers=cluster.alice) as resp:
        assert resp.status == 200
        assert await resp.read() == b"RIFF\x00\x00\x00\x00WAVEsay this"
    await until(lambda: nothing_held(redis))


async def _held_locally(c: Cluster, redis: Redis) -> tuple[int, int]:
    """Schedule a task the local hold provider keeps running: (upstream id, local id)."""
    async with redis.pubsub() as ps:
        await ps.subscribe("tp:chan:test")
        tid = await schedule(c, "core:text2text:summary", {"input": "long"})
        async with asyncio.timeout(30):
            while (msg := await ps.get_message(ignore_subscribe_messages=True, timeout=1)) \
                    is None:
                pass
    return tid, int(msg["data"].split()[1])


async def _stopped_by(c: Cluster, redis: Redis, method: str, path: str, local_id: int) -> None:
    """Send the upstream request; return once the local run was told to stop (cancel event)."""
    async with redis.pubsub() as ps:
        await ps.subscribe(LOCAL.chan_task)
        status, _ = await upstream_ocs(c, method, path)
        assert status == 200
        async with asyncio.timeout(30):
            while (msg := await ps.get_message(ignore_subscribe_messages=True, timeout=1)) \
                    is None or msg["data"] != f"{local_id} STATUS_CANCELLED".encode():
                pass
    await until(lambda: nothing_held(redis))
    assert not await redis.exists(LOCAL.task(local_id))  # the local copy is dropped too


async def test_cancel_upstream_stops_the_local_run(cluster: Cluster, redis: Redis) -> None:
    await cluster.bridge()
    tid, local_id = await _held_locally(cluster, redis)
    await _stopped_by(cluster, redis, "POST", f"/tasks/{tid}/cancel", local_id)
    assert (await upstream_task(redis, tid))["status"] == Status.CANCELLED.value


async def test_delete_upstream_stops_the_local_run(cluster: Cluster, redis: Redis) -> None:
    await cluster.bridge()
    tid, local_id = await _held_locally(cluster, redis)
    await _stopped_by(cluster, redis, "DELETE", f"/task/{tid}", local_id)
    assert not await redis.exists(UP.task(tid))


async def test_killed_bridge_is_replaced_without_a_second_run(cluster: Cluster,
                                                              redis: Redis) -> None:
    first, _ = await cluster.bridge()
    tid = await schedule(cluster, "core:text2text:headline", {"input": "once"})

    async def scheduled_locally() -> bool:
        return await redis.hexists(LOCAL.bridge_task(tid), "local")
    await until(scheduled_locally)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    await cluster.bridge(enable=False)  # AppAPI's enabled flag lives in Redis
    task = await final(redis, tid)
    assert task["status"] == Status.SUCCESSFUL.value, task
    assert task["output"] == '{"output":"ONCE"}'
    runs = await redis.hgetall("tp:test:completed")
    assert list(runs.values()) == [b"1"], runs
    await until(lambda: nothing_held(redis))


async def stats(c: Cluster) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "stats", "--json", cwd=ROOT, env=c.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return dict(orjson.loads(out.splitlines()[-1]))


async def test_two_replicas_share_the_work(cluster: Cluster, redis: Redis) -> None:
    await cluster.bridge()
    await cluster.bridge(enable=False)

    async def both_listed() -> bool:
        return len((await stats(cluster))["bridge"]["instances"]) == 2
    await until(both_listed)
    ids = [await schedule(cluster, "core:text2text:headline", {"input": f"t{i}"})
           for i in range(12)]
    for tid in ids:
        task = await final(redis, tid, timeout=60)
        assert task["status"] == Status.SUCCESSFUL.value, task
    runs = await redis.hgetall("tp:test:completed")
    assert len(runs) == 12 and set(runs.values()) == {b"1"}, runs
    await until(lambda: nothing_held(redis))


async def test_disable_unregisters(cluster: Cluster, redis: Redis) -> None:
    _, base = await cluster.bridge()
    async with aiohttp.ClientSession() as http:
        refused = await http.put(f"{base}/enabled?enabled=0")
        assert refused.status == 401  # not signed by AppAPI
        resp = await http.put(f"{base}/enabled?enabled=0", headers=cluster.nextcloud_headers)
        assert resp.status == 200
    _, body = await upstream_ocs(cluster, "GET", "/tasktypes")
    assert body["ocs"]["data"]["types"] in ([], {})
