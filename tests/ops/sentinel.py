"""A primary, a replica and three sentinels on free loopback ports, for failover tests."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from services.embedded import find_server, free_port

MASTER = "mymaster"


class SentinelGroup:
    """Start everything with `start()`; `failover()` promotes the replica; `stop()` ends all."""

    def __init__(self, root: Path, appendonly: bool = False, down_after_ms: int = 1000) -> None:
        self.root = root
        self.appendonly = appendonly
        self.down_after_ms = down_after_ms
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.clients: dict[int, redis.Redis] = {}

    def _spawn(self, args: list[str]) -> None:
        binary = find_server()
        assert binary is not None, "redis-server is needed for the Sentinel tests"
        self.procs.append(subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))

    def start(self) -> SentinelGroup:
        primary, replica = self.ports["primary"], self.ports["replica"]
        self._spawn(self.server_args("primary"))
        self._spawn([*self.server_args("replica"),
                     "--replicaof", "127.0.0.1", str(primary)])
        self._wait(lambda: self.client(replica).info("replication")
                   .get("master_link_status") == "up")
        for port in self.sentinel_ports:  # after the link is up: the first INFO lists the replica
            conf = self.root / f"sentinel-{port}.conf"
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {self.root}\n"
                            f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
                            f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
                            f"sentinel failover-timeout {MASTER} 10000\n")
            self._spawn([str(conf), "--sentinel"])
        self._wait(lambda: all(self._sees_replica(p) for p in self.sentinel_ports))
        return self

    def server_args(self, role: str) -> list[str]:
        """Arguments of the primary's or the replica's server (a directory per port)."""
        path = self.root / f"redis-{self.ports[role]}"
        path.mkdir(exist_ok=True)
        return ["--port", str(self.ports[role]), "--dir", str(path), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes" if self.appendonly else "no"]

    def _sees_replica(self, port: int) -> bool:
        replicas = self.client(port).sentinel_slaves(MASTER)
        return any(r["port"] == self.ports["replica"] and not r["is_sdown"] for r in replicas)

    @property
    def sentinels(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.sentinel_ports]

    def client(self, port: int) -> redis.Redis:
        if port not in self.clients:
            self.clients[port] = redis.Redis(port=port, socket_connect_timeout=0.5,
                                             socket_timeout=2)
        return self.clients[port]

    def primary_port(self) -> int:
        """The primary every sentinel names (they agree once a failover is over)."""
        ports = {int(self.client(p).sentinel_get_master_addr_by_name(MASTER)[1])
                 for p in self.sentinel_ports}
        assert len(ports) == 1, ports
        return ports.pop()

    def failover(self) -> int:
        """Promote the replica; return once it is primary and the old primary follows it."""
        old, new = self.ports["primary"], self.ports["replica"]
        self.client(self.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", MASTER)
        self._wait(lambda: self._agreed(new) and self.client(new).info(
            "replication")["role"] == "master" and self.client(old).info(
            "replication")["role"] == "slave", timeout=20)
        return new

    def _agreed(self, port: int) -> bool:
        try:
            return self.primary_port() == port
        except AssertionError:
            return False

    @staticmethod
    def _wait(check: object, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except redis.RedisError:
                pass
            assert time.monotonic() < deadline, "sentinel group did not reach the state"
            time.sleep(0.1)  # bounded readiness poll of servers we started

    def stop(self) -> None:
        for client in self.clients.values():
            client.close()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
