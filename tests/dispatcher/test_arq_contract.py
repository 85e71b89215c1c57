"""What services/dispatcher/jobs.py and shared/lua/arq.lua assume about arq, checked against
the installed arq: an arq upgrade that changes any of it fails here, loudly, before it loses
jobs in production."""

from __future__ import annotations

import hashlib
import inspect
import tomllib
from pathlib import Path

import arq
import orjson
from arq import constants
from arq.jobs import deserialize_job, serialize_job
from arq.worker import Worker
from redis.asyncio import Redis

from services.dispatcher import jobs
from shared.keys import Keys
from shared.scripts import PRELUDE, source
from shared.store import TaskStore

ROOT = Path(__file__).resolve().parents[2]
REPLACED = {"_poll_iteration": "f8d39d823a0a59f2", "start_jobs": "b45797cfa40bed7f",
            "finish_job": "903f09c92830d3fd"}


def test_arq_is_the_pinned_release() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"arq=={jobs.ARQ_VERSION}" in deps
    assert arq.VERSION == jobs.ARQ_VERSION


async def test_lua_writes_arqs_key_names(redis: Redis, keys: Keys) -> None:
    probe = redis.register_script("\n".join(source(n) for n in PRELUDE) + "\nreturn {"
                                  "ARQ.job_key('j'), ARQ.in_progress_key('j'), ARQ.retry_key('j')}")
    names = [b.decode() for b in await probe(keys=[""] * 5, args=[keys.p])]
    assert names == [constants.job_key_prefix + "j", constants.in_progress_key_prefix + "j",
                     constants.retry_key_prefix + "j"]
    assert [jobs.job_key("j"), jobs.in_progress_key("j"), jobs.retry_key("j")] == names


async def test_a_job_written_by_lua_is_one_arq_reads(redis: Redis, keys: Keys) -> None:
    task = await TaskStore(redis, keys).schedule(
        task_type='odd"type', user_id="alice", app_id="t", custom_id="", inputs={},
        webhook_uri=None, webhook_method=None, include_watermark=True, expected_runtime=1)
    job_id = jobs.run_job_id(keys, task.id, 1)
    payload = await redis.get(jobs.job_key(job_id))
    assert payload is not None
    job = deserialize_job(payload, deserializer=orjson.loads)
    assert (job.function, job.args, job.kwargs) == (jobs.RUN_TASK, [task.id, 1, 'odd"type'], {})
    score = await redis.zscore(keys.queue, job_id)
    assert score is not None and int(score) == int(job.enqueue_time.timestamp() * 1000)
    theirs = orjson.loads(serialize_job(jobs.RUN_TASK, (1,), {}, None, 1, serializer=orjson.dumps))
    assert set(orjson.loads(payload)) == set(theirs)


def test_the_worker_internals_jobs_py_relies_on() -> None:
    """JobWorker replaces _poll_iteration and finish_job and calls run_job, heart_beat and
    _release_sem_dec_counter_on_complete; it uses the worker's sem, job_counter, tasks,
    in_progress_timeout_s, queue_read_limit and allow_pick_jobs."""
    assert list(inspect.signature(Worker.run_job).parameters) == ["self", "job_id", "score"]
    assert list(inspect.signature(Worker.finish_job).parameters) == [
        "self", "job_id", "finish", "result_data", "result_timeout_s", "keep_result_forever",
        "incr_score", "keep_in_progress"]
    assert inspect.iscoroutinefunction(Worker.heart_beat)
    assert callable(Worker._release_sem_dec_counter_on_complete)
    source_of_init = inspect.getsource(Worker.__init__)
    for attr in ("self.sem", "self.job_counter", "self.tasks", "self.in_progress_timeout_s",
                 "self.queue_read_limit", "self.allow_pick_jobs"):
        assert attr in source_of_init, attr


def test_the_replaced_methods_are_the_ones_jobs_py_was_written_against() -> None:
    """JobWorker re-implements these three; a new arq that changes them needs a new look."""
    digests = {name: hashlib.sha256(inspect.getsource(getattr(Worker, name)).encode())
               .hexdigest()[:16] for name in REPLACED}
    assert digests == REPLACED
