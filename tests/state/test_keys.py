"""The Lua prelude and shared/keys.py name every key the same way (issue: one Redis model)."""

from __future__ import annotations

import itertools
import re

from redis.asyncio import Redis

from shared.keys import Keys
from shared.scripts import NAMES, PRELUDE, Scripts, source
from shared.store import TaskStore, migrate_task_keys
from shared.tasks import Status


async def test_lua_key_helpers_match_keys_py(redis: Redis, keys: Keys) -> None:
    probe = redis.register_script(
        "\n".join(source(n) for n in PRELUDE) + "\nreturn {K.task('7'), K.files('7'), "
        "K.scheduled('core:x'), K.running('core:x'), K.user_tasks('u'), K.file('3'), LEASES, "
        "UPDATED, QUEUE, HOOKS, UNREFERENCED, K.chan_task, K.chan_ready, K.chan_wake}")
    fixed = Scripts(redis, keys).fixed
    names = [b.decode() for b in await probe(keys=fixed, args=[keys.p])]
    assert names == [keys.task(7), keys.task_files(7), keys.scheduled("core:x"),
                     keys.running("core:x"), keys.user_tasks("u"), keys.file(3), keys.leases,
                     keys.tasks_updated, keys.queue, fixed[3], keys.files_unreferenced,
                     keys.chan_task, keys.chan_ready, keys.chan_wake]


def test_a_tasks_keys_share_a_cluster_slot(keys: Keys) -> None:
    """The task's hash and files set carry the id as a hash tag."""
    assert keys.task(42).endswith(":task:{42}") and keys.task_files(42).endswith("{42}:files")


def test_every_script_names_its_arguments_first() -> None:
    """Each script opens with comment lines naming every KEYS[n] and ARGV[n] it uses."""
    for name in NAMES:
        lines = source(name).splitlines()
        head = list(itertools.takewhile(lambda line: line.startswith("--"), lines))
        body = "\n".join(lines[len(head):])
        named = {m.group(1, 2) for m in re.finditer(r"^-- (KEYS|ARGV)\[(\d+)", "\n".join(head),
                                                   re.M)}
        ranges = {m.group(1): int(m.group(2)) for m in re.finditer(
            r"^-- (KEYS|ARGV)\[(\d+)\.\.", "\n".join(head), re.M)}
        for m in re.finditer(r"(KEYS|ARGV)\[(\d+)\]", body):
            kind, n = m.group(1, 2)
            assert (kind, n) in named or int(n) >= ranges.get(kind, 10**9) or (
                kind == "KEYS" and int(n) <= 5), f"{name}.lua uses {kind}[{n}] unnamed"
        assert any(line.startswith("-- KEYS[1..5]") for line in head), name


async def test_tasks_of_the_older_layout_are_renamed(redis: Redis, keys: Keys) -> None:
    await redis.hset(f"{keys.p}:task:41", mapping={"id": "41", "type": "t",  # type: ignore[misc]
                                                  "status": "STATUS_SCHEDULED"})
    await redis.sadd(f"{keys.p}:task:41:files", "7")  # type: ignore[misc]
    await redis.set(keys.task_seq, 41)
    assert await migrate_task_keys(redis, keys) == 2
    task = await TaskStore(redis, keys).get(41)
    assert task is not None and task.status is Status.SCHEDULED
    assert await redis.smembers(keys.task_files(41)) == {b"7"}  # type: ignore[misc]
    assert await migrate_task_keys(redis, keys) == 0 and await redis.get(keys.task_seq) == b"41"
