"""Every Redis key taskproc uses, named once, under one configurable prefix.

`redis-cli --scan --pattern 'tp:*'` shows the whole data model (see docs/redis.md). A task's
own keys carry its id as a hash tag (`{42}`), so they share a Redis Cluster slot. The Lua
scripts get their keys through KEYS; the prelude shared/lua/common.lua builds the same names
for keys that depend on what a script reads (tests/state/test_keys.py holds both to one
format). The dispatcher's job queue is described in services/dispatcher/jobs.py.

    {p}:task:seq                       STRING  last task id (INCR)
    {p}:task:{<id>}                    HASH    one task (fields: shared.tasks.TaskField)
    {p}:tasks:user:{uid}               ZSET    task ids of a user, score = id (schedule order)
    {p}:user:{uid}:live                SET     ids of a user's tasks counted as live (admission)
    {p}:user:{uid}:bytes               STRING  bytes of the files a user owns (upload quota)
    {p}:tasks:updated                  ZSET    every task id, score = lastUpdated (cleanup)
    {p}:tasks:scheduled:{type}         ZSET    scheduled tasks of a type, score = order (ms)
    {p}:tasks:running:{type}           ZSET    running tasks of a type, score = lease expiry (ms)
    {p}:leases                         ZSET    every running task, score = lease expiry (ms)
    {p}:leases:swept                   STRING  when the lease sweep last ran (ms; stall check)
    {p}:queue                          ZSET    the job queue (services/dispatcher/jobs.py)
    {p}:idle:{type}                    ZSET    free dispatcher slots for a type, score = lapse
                                               ms (services/dispatcher/handoff.py)
    {p}:handoff:{type}                 LIST    tasks claimed for those slots (JSON), popped
    {p}:hooks                          ZSET    the job queue of webhook deliveries
    {p}:chan:wake                      PUBSUB  dispatchers wake on it after an enqueue
    {p}:chan:ready                     PUBSUB  a task became claimable by an external provider
    {p}:chan:task                      PUBSUB  task events (cancel, finished): "{id} {status}"
    {p}:providers                      HASH    provider id -> ProviderSpec JSON
    {p}:providers:alive                ZSET    provider id -> heartbeat expiry ms (+inf: ExApp)
    {p}:providers:gen                  STRING  bumped by every registry change (cache check)
    {p}:tasktypes:custom               HASH    custom task type id -> JSON (ExApps)
    {p}:config:preferences             HASH    task type id -> preferred provider id
    {p}:user:{uid}                     HASH    a user account
    {p}:users                          SET     all user ids
    {p}:user:{uid}:apppw               SET     digests of the user's app passwords
    {p}:apppw:{sha256}                 STRING  app password / token digest -> user id
    {p}:exapp:{appid}                  HASH    an ExApp account (secret digest, version)
    {p}:exapps                         SET     all ExApp ids
    {p}:file:seq                       STRING  last file id (INCR)
    {p}:file:{id}                      HASH    file metadata (owner, size, sha256, mime, name…)
    {p}:files:unreferenced             ZSET    upload file ids no task references, score = expiry
    {p}:files:doomed                   SET     deleted file ids whose bytes a dispatcher removes
    {p}:task:{<id>}:files              SET     file ids referenced by a task (input and output)
    {p}:rl:*                           (limits) rate-limit windows
    {p}:bridge:nc:{id}                 HASH    a Nextcloud task the bridge holds (task JSON,
                                               provider, owner instance, local task id)
    {p}:bridge:leases                  ZSET    Nextcloud task id -> holder's lease expiry (ms)
    {p}:bridge:instances               HASH    bridge instance -> status JSON (taskproc stats)
    {p}:bridge:enabled                 STRING  "1" while AppAPI has the ExApp enabled
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload


class Key:
    """One key: on `Keys`, `leases = Key("leases")` makes `keys.leases` give `tp:leases`."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, keys: None, owner: type) -> Key: ...
    @overload
    def __get__(self, keys: Keys, owner: type | None = None) -> str: ...
    def __get__(self, keys: Keys | None, owner: type | None = None) -> Any:
        if keys is None:
            return self
        key = keys.__dict__[self.name] = f"{keys.p}:{self.suffix}"  # later lookups find it
        return key


class Family:
    """Keys told apart by one part, written `<like_this>` (braces are Redis hash tags): on
    `Keys`, `user_tasks = Family("tasks:user:<uid>")` makes `keys.user_tasks("alice")` give
    `tp:tasks:user:alice`."""

    def __init__(self, template: str) -> None:
        self.head, rest = template.split("<", 1)
        self.tail = rest.split(">", 1)[1]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, keys: None, owner: type) -> Family: ...
    @overload
    def __get__(self, keys: Keys, owner: type | None = None) -> Callable[[int | str], str]: ...
    def __get__(self, keys: Keys | None, owner: type | None = None) -> Any:
        if keys is None:
            return self
        head, tail = f"{keys.p}:{self.head}", self.tail

        def build(part: int | str) -> str:
            return f"{head}{part}{tail}"
        keys.__dict__[self.name] = build  # built once per Keys: later lookups find it
        return build


class Keys:
    """Every key under one prefix, in the order of the table above."""

    task_seq = Key("task:seq")
    task = Family("task:{<id>}")
    user_tasks = Family("tasks:user:<uid>")
    user_live = Family("user:<uid>:live")
    user_bytes = Family("user:<uid>:bytes")
    tasks_updated = Key("tasks:updated")
    scheduled = Family("tasks:scheduled:<type>")
    running = Family("tasks:running:<type>")
    leases = Key("leases")
    leases_swept = Key("leases:swept")
    queue = Key("queue")
    idle = Family("idle:<type>")
    handoff = Family("handoff:<type>")
    hooks_queue = Key("hooks")
    chan_wake = Key("chan:wake")
    chan_ready = Key("chan:ready")
    chan_task = Key("chan:task")
    providers = Key("providers")
    providers_alive = Key("providers:alive")
    providers_gen = Key("providers:gen")
    tasktypes_custom = Key("tasktypes:custom")
    preferences = Key("config:preferences")
    user = Family("user:<uid>")
    users = Key("users")
    user_apppw = Family("user:<uid>:apppw")
    apppw = Family("apppw:<sha256>")
    exapp = Family("exapp:<appid>")
    exapps = Key("exapps")
    file_seq = Key("file:seq")
    file = Family("file:<id>")
    files_unreferenced = Key("files:unreferenced")
    files_doomed = Key("files:doomed")
    task_files = Family("task:{<id>}:files")
    rate_limit_prefix = Key("rl")
    bridge_task = Family("bridge:nc:<id>")
    bridge_leases = Key("bridge:leases")
    bridge_instances = Key("bridge:instances")
    bridge_enabled = Key("bridge:enabled")

    def __init__(self, prefix: str = "tp") -> None:
        self.p = prefix
