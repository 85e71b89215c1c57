"""The taskproc side of `make chaos`: 2 api, a fileproxy and 3 dispatchers as real processes.

Dispatchers the run SIGKILLs are replaced (as a process manager replaces a crashed node); a
dispatcher that exits on its own is recorded and NOT restarted, so the figures show it.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.procs import ROOT, stop, wait_http
from services.embedded import free_port

LEASE_SECONDS = 3.0
DISPATCHER_READY = "ready with providers"


class Cluster:
    def __init__(self, root: Path, redis_env: dict[str, str], seed: int) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), **redis_env,
                        TASKPROC_FILES_DIR=str(root / "files"),
                        CHAOS_RUNS_DIR=str(root / "runs"),
                        TASKPROC_LEASE_SECONDS=str(LEASE_SECONDS),
                        TASKPROC_PROVIDER_HEARTBEAT_SECONDS="1",
                        TASKPROC_TASKTYPES_CACHE_SECONDS="0",
                        TASKPROC_ORPHAN_AFTER_SECONDS="5",
                        TASKPROC_DISPATCHER_CONCURRENCY="4",
                        TASKPROC_SHUTDOWN_GRACE_SECONDS="3",
                        TASKPROC_DISPATCHER_METRICS_PORT="-1",
                        TASKPROC_RATE_LIMITS__SCHEDULE_USER="")
        self.api_ports = [free_port(), free_port()]
        self.fileproxy_port = free_port()
        self.servers: list[subprocess.Popen[bytes]] = []
        self.dispatchers: list[subprocess.Popen[bytes]] = []
        self.deaths: dict[int, float] = {}
        """pid -> time.time() when it died (killed by the run, or exited on its own)."""
        self.self_exits: list[tuple[int, int | None]] = []
        self.kills = 0
        self.rng = random.Random(seed)

    def _spawn(self, name: str, args: list[str], **extra: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")
        try:
            return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT,
                                    env=self.env | extra, stdout=log, stderr=log)
        finally:
            log.close()

    def start(self) -> None:
        for i, port in enumerate(self.api_ports):
            self.servers.append(self._spawn(f"api{i}", ["services.cli", "api"],
                                            TASKPROC_API_PORT=str(port)))
        self.servers.append(self._spawn("fileproxy", ["services.cli", "fileproxy"],
                                        TASKPROC_FILEPROXY_PORT=str(self.fileproxy_port)))
        for port in (*self.api_ports, self.fileproxy_port):
            wait_http(port, "/healthz")
        for _ in range(3):
            self.dispatchers.append(self._dispatcher())
        deadline = time.monotonic() + 60
        logs = list(self.logs.glob("dispatcher-*.log"))
        while sum(DISPATCHER_READY in p.read_text() for p in logs) < 3:
            if time.monotonic() > deadline:
                raise RuntimeError("the dispatchers did not start")
            time.sleep(0.1)  # readiness poll of processes this run started

    def _dispatcher(self) -> subprocess.Popen[bytes]:
        return self._spawn(f"dispatcher-{len(self.deaths) + len(self.dispatchers)}",
                           ["bench.chaos_worker"])

    def api_base(self, i: int) -> str:
        return f"http://127.0.0.1:{self.api_ports[i % 2]}/ocs/v2.php/taskprocessing"

    def file_base(self) -> str:
        return f"http://127.0.0.1:{self.fileproxy_port}/ocs/v2.php/taskprocessing"

    def reap(self) -> None:
        """Note dispatchers that exited without being killed (they are not replaced)."""
        for proc in list(self.dispatchers):
            if proc.poll() is not None:
                self.dispatchers.remove(proc)
                self.deaths[proc.pid] = time.time()
                self.self_exits.append((proc.pid, proc.returncode))

    def kill_random(self) -> int | None:
        """SIGKILL one live dispatcher, chosen at random; returns its pid."""
        self.reap()
        if not self.dispatchers:
            return None
        victim = self.rng.choice(self.dispatchers)
        victim.kill()
        victim.wait()
        self.deaths[victim.pid] = time.time()
        self.dispatchers.remove(victim)
        self.kills += 1
        return victim.pid

    def replace(self) -> None:
        self.dispatchers.append(self._dispatcher())

    def stop(self) -> None:
        self.reap()
        stop(*self.dispatchers, *self.servers)
