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
    {p}:queue                          ZSET    the dispatchers' job queue (dispatcher/jobs.py)
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


class Keys:
    """Key builders bound to one prefix."""

    def __init__(self, prefix: str = "tp") -> None:
        self.p = prefix
        self.task_seq = f"{prefix}:task:seq"
        self.tasks_updated = f"{prefix}:tasks:updated"
        self.leases = f"{prefix}:leases"
        self.leases_swept = f"{prefix}:leases:swept"
        self.queue = f"{prefix}:queue"
        self.hooks_queue = f"{prefix}:hooks"
        self.chan_wake = f"{prefix}:chan:wake"
        self.chan_ready = f"{prefix}:chan:ready"
        self.chan_task = f"{prefix}:chan:task"
        self.providers = f"{prefix}:providers"
        self.providers_alive = f"{prefix}:providers:alive"
        self.providers_gen = f"{prefix}:providers:gen"
        self.tasktypes_custom = f"{prefix}:tasktypes:custom"
        self.preferences = f"{prefix}:config:preferences"
        self.users = f"{prefix}:users"
        self.exapps = f"{prefix}:exapps"
        self.file_seq = f"{prefix}:file:seq"
        self.files_unreferenced = f"{prefix}:files:unreferenced"
        self.files_doomed = f"{prefix}:files:doomed"
        self.rate_limit_prefix = f"{prefix}:rl"
        self.bridge_leases = f"{prefix}:bridge:leases"
        self.bridge_instances = f"{prefix}:bridge:instances"
        self.bridge_enabled = f"{prefix}:bridge:enabled"

    def task(self, task_id: int | str) -> str:
        return f"{self.p}:task:{{{task_id}}}"

    def task_files(self, task_id: int | str) -> str:
        return f"{self.p}:task:{{{task_id}}}:files"

    def user_tasks(self, user_id: str) -> str:
        return f"{self.p}:tasks:user:{user_id}"

    def user_live(self, user_id: str) -> str:
        return f"{self.p}:user:{user_id}:live"

    def user_bytes(self, user_id: str) -> str:
        return f"{self.p}:user:{user_id}:bytes"

    def scheduled(self, task_type: str) -> str:
        return f"{self.p}:tasks:scheduled:{task_type}"

    def running(self, task_type: str) -> str:
        return f"{self.p}:tasks:running:{task_type}"

    def user(self, user_id: str) -> str:
        return f"{self.p}:user:{user_id}"

    def user_apppw(self, user_id: str) -> str:
        return f"{self.p}:user:{user_id}:apppw"

    def apppw(self, digest: str) -> str:
        return f"{self.p}:apppw:{digest}"

    def exapp(self, app_id: str) -> str:
        return f"{self.p}:exapp:{app_id}"

    def file(self, file_id: int | str) -> str:
        return f"{self.p}:file:{file_id}"

    def bridge_task(self, nc_task_id: int | str) -> str:
        return f"{self.p}:bridge:nc:{nc_task_id}"
