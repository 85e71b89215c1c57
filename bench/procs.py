"""Processes for benchmarks: a private Redis, servers and workers on free loopback ports."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from services.embedded import EmbeddedRedis, free_port, stop_processes

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def private_redis(tmp: Path) -> Iterator[str]:
    server = EmbeddedRedis(tmp / "redis", persistent=False).start()
    try:
        yield server.url
    finally:
        server.stop()


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(*procs: subprocess.Popen[bytes]) -> None:
    stop_processes(*procs, timeout=20)


def wait_http(port: int, path: str = "/", timeout: float = 30) -> None:
    """Readiness poll of a server this benchmark started."""
    import urllib.error
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def wait_key(url: str, key: str, timeout: float = 30) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    try:
        while not client.exists(key):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{key} never appeared")
            time.sleep(0.05)
    finally:
        client.close()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


__all__ = ["free_port", "median", "pct", "private_redis", "spawn", "stop", "wait_http",
           "wait_key"]
