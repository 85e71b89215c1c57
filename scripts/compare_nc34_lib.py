"""The two sides of scripts/compare_nc34.py: how to talk to each, what to send, how to show it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from scripts.compare_nc34_probes import PROBES, Probe

__all__ = ["PROBES", "Side", "print_table", "start_taskproc"]

FINAL = ("STATUS_SUCCESSFUL", "STATUS_FAILED", "STATUS_CANCELLED")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Resp:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Side:
    """One server: its base URL and the credentials each probe role uses."""

    name: str
    base: str
    auth: dict[str, dict[str, str]]
    vars: dict[str, Any] = field(default_factory=dict)
    occ: list[str] | None = None

    @classmethod
    def nextcloud(cls, cred: dict[str, Any]) -> Side:
        users, ex = cred["users"], cred["exapp"]
        return cls("Nextcloud 34.0.1", cred["base_url"], roles(
            {u: users[u]["app_password"] for u in ("alice", "bob")},
            ex["app_id"], ex["secret"], ex["version"], ex["aa_version"]),
            occ=["php", cred["paths"]["occ"]])

    def request(self, method: str, path: str, headers: dict[str, str],
                body: bytes | None = None) -> Resp:
        u = urlsplit(self.base)
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=60)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return Resp(r.status, r.headers, r.read())
        finally:
            conn.close()

    def send(self, probe: Probe) -> Resp:
        headers = dict(self.auth.get(probe.who, {}))
        if probe.ocs_header:
            headers.setdefault("OCS-APIRequest", "true")
        headers.update(probe.headers)
        body: bytes | None = None
        if isinstance(probe.body, dict):
            body = json.dumps(probe.body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(probe.body, str):
            body = probe.body.encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self.request(probe.method, probe.path.format(**self.vars), headers, body)

    def run(self, probe: Probe) -> str:
        try:
            for _ in range(probe.repeat - 1):
                self.send(probe)
            resp = self.send(probe)
        except (KeyError, IndexError) as exc:
            return f"(needs {exc})"
        if probe.save:
            data = resp.json()
            with contextlib.suppress(TypeError, KeyError):
                self.vars[probe.save] = data["ocs"]["data"]["task"]["id"]
        return summarise(resp, probe.show, self.vars)

    def task(self, key: str) -> dict[str, Any]:
        resp = self.request("GET", f"/ocs/v2.php/taskprocessing/task/{self.vars[key]}",
                            {**self.auth["alice"], "OCS-APIRequest": "true",
                             "Accept": "application/json"})
        data = resp.json()
        if not isinstance(data, dict) or "task" not in (data["ocs"]["data"] or {}):
            raise RuntimeError(f"{self.name}: GET task {key}: {resp.status} {resp.body[:200]!r}")
        return data["ocs"]["data"]["task"]  # type: ignore[no-any-return]

    def wait_for(self, key: str, ok: Callable[[dict[str, Any]], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if key not in self.vars or ok(self.task(key)):
                return
            time.sleep(0.3)
        raise TimeoutError(f"{self.name}: task {key} did not get there")

    def wait_running(self) -> None:
        self.wait_for("t2", lambda t: t["status"] == "STATUS_RUNNING" and t["progress"], 60)

    def wait_finished(self) -> None:
        for key in ("t1", "t2", "t4", "t6"):
            self.wait_for(key, lambda t: t["status"] in FINAL, 60)
        with contextlib.suppress(KeyError, TypeError):
            self.vars["t6_file"] = self.task("t6")["output"]["speech"]

    def prepare(self) -> None:
        """Nextcloud: forget earlier failed logins of 127.0.0.1 and lift the schedule limit,
        so repeated runs answer the same. The ExApp's provider is (re)registered on both."""
        if self.occ:
            for args in (["security:bruteforce:reset", "127.0.0.1"],
                         ["config:system:set", "ratelimit.protection.enabled",
                          "--type=boolean", "--value=false"]):
                subprocess.run([*self.occ, *args], check=True, capture_output=True)
        provider = {"id": "ncdev_exapp-reformulation", "name": "ncdev ExApp reformulation",
                    "task_type": "core:text2text:reformulation", "expected_runtime": 10,
                    "optional_input_shape": [], "optional_output_shape": [],
                    "input_shape_enum_values": {}, "input_shape_defaults": {},
                    "optional_input_shape_enum_values": {},
                    "optional_input_shape_defaults": {}, "output_shape_enum_values": {},
                    "optional_output_shape_enum_values": {}}
        self.request("POST", "/ocs/v1.php/apps/app_api/api/v1/ai_provider/task_processing",
                     {**self.auth["exapp"], "Content-Type": "application/json"},
                     json.dumps({"provider": provider, "customTaskType": None}).encode())
        self.drain()

    def drain(self) -> None:
        """Finish reformulation tasks left by earlier runs, so `next` hands out this run's."""
        ex = {**self.auth["exapp"], "OCS-APIRequest": "true", "Accept": "application/json",
              "Content-Type": "application/json"}
        for _ in range(100):
            resp = self.request("GET", "/ocs/v2.php/taskprocessing/tasks_provider/next?"
                                "providerIds[]=ncdev_exapp-reformulation"
                                "&taskTypeIds[]=core:text2text:reformulation", ex)
            if resp.status != 200:
                return
            task_id = resp.json()["ocs"]["data"]["task"]["id"]
            self.request("POST", f"/ocs/v2.php/taskprocessing/tasks_provider/{task_id}/result",
                         ex, b'{"output": {"output": "drained"}}')

    def rate_limit(self, on: bool) -> None:
        """Nextcloud's stock schedule limit (20 per 120 s) on or off; taskproc keeps its own."""
        if self.occ:
            subprocess.run([*self.occ, "config:system:set", "ratelimit.protection.enabled",
                            "--type=boolean", f"--value={str(on).lower()}"],
                           check=True, capture_output=True)


def roles(passwords: dict[str, str], app_id: str, secret: str, version: str,
          aa_version: str) -> dict[str, dict[str, str]]:
    """Request headers per probe role."""
    alice = passwords["alice"]

    def exapp(user: str, sec: str) -> dict[str, str]:
        return {"EX-APP-ID": app_id, "EX-APP-VERSION": version, "AA-VERSION": aa_version,
                "AUTHORIZATION-APP-API": base64.b64encode(f"{user}:{sec}".encode()).decode()}
    return {
        "alice": {"Authorization": _basic("alice", alice)},
        "ALICE": {"Authorization": _basic("ALICE", alice)},
        "Alice": {"Authorization": _basic("Alice", alice)},
        "bob": {"Authorization": _basic("bob", passwords["bob"])},
        "alice_wrong": {"Authorization": _basic("alice", "wrong-password")},
        "nobody": {"Authorization": _basic("nobody", "wrong-password")},
        "garbage": {"Authorization": "Basic !!!notbase64"},
        "bearer_wrong": {"Authorization": "Bearer not-a-token"},
        "exapp": exapp("", secret),
        "exapp_alice": exapp("alice", secret),
        "exapp_wrong": exapp("", "wrong-secret"),
        "none": {},
    }


def _at(data: Any, path: str) -> Any:
    for part in path.split("/"):
        if isinstance(data, list):
            data = data[int(part)]
        elif isinstance(data, dict):
            data = data[part]
        else:
            raise KeyError(part)
    return data


def _show(resp: Resp, sel: str, env: dict[str, Any]) -> str:
    kind, _, arg = sel.partition(":")
    if kind == "is":  # is:a/b=var -> whether the value is the saved task id
        arg, _, var = arg.partition("=")
        try:
            return f"{arg.rsplit('/', 1)[-1]} is {var}: {_at(resp.json(), arg) == env.get(var)}"
        except (KeyError, IndexError, ValueError, TypeError):
            return f"{arg.rsplit('/', 1)[-1]}=absent"
    if kind == "h":
        return f"{arg}={resp.headers.get(arg, '-')}"
    if kind == "x":
        m = re.search(rf"<{arg}>([^<]*)</{arg}>|<{arg}/>".encode(), resp.body)
        return f"<{arg}>={m.group(1).decode() if m and m.group(1) is not None else '(empty)'}" \
            if m else f"<{arg}>=absent"
    if kind == "body":
        return "body=" + resp.body[:int(arg or 80)].decode("utf-8", "replace").replace("\n", "⏎")
    data = resp.json()
    try:
        value = _at(data, arg)
    except (KeyError, IndexError, ValueError, TypeError):
        return f"{arg.rsplit('/', 1)[-1]}=absent"
    name = arg.rsplit("/", 1)[-1]
    if kind == "t":
        return f"{name}:{type(value).__name__}"
    if kind == "keys":
        return f"{name} keys=" + ",".join(sorted(value)) if isinstance(value, dict) else \
            f"{name}={json.dumps(value)}"
    if kind == "len":
        return f"len({name})={len(value)}"
    if kind == "nonempty":
        return f"{name} non-empty: {bool(value)}"
    return f"{name}={json.dumps(value, ensure_ascii=False)}"


def summarise(resp: Resp, show: tuple[str, ...], env: dict[str, Any]) -> str:
    parts = [str(resp.status)]
    data = resp.json()
    if isinstance(data, dict) and "ocs" in data:
        meta = data["ocs"].get("meta", {})
        parts.append(f"ocs {meta.get('statuscode')}")
        if meta.get("message"):
            parts.append(f"meta.message={json.dumps(meta['message'])[:70]}")
        d = data["ocs"].get("data")
        if isinstance(d, dict) and "message" in d:
            parts.append(f"data.message={json.dumps(d['message'])}")
    elif data is not None and resp.body[:1] == b"{":
        parts.append(resp.body[:60].decode())
    elif resp.body.startswith(b"<?xml"):
        m = re.search(rb"<statuscode>(\d+)</statuscode>", resp.body)
        parts.append(f"xml ocs {m.group(1).decode() if m else '?'}")
    parts.extend(_show(resp, s, env) for s in show)
    return "; ".join(parts)


def print_table(rows: list[tuple[str, list[str]]]) -> None:
    print("| request | Nextcloud 34.0.1 | taskproc | same |")
    print("|---|---|---|---|")
    for label, (nc, tp) in rows:
        same = "yes" if nc == tp else "**no**"
        print(f"| {label} | {nc} | {tp} | {same} |".replace("\n", " "))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def start_taskproc(tmp: Path) -> AsyncIterator[tuple[Side, Callable[[], Awaitable[None]]]]:
    """A private Redis, the api with the file routes, users alice/bob, the ExApp; and a
    function that starts a dispatcher with taskproc_fake's providers."""
    from redis.asyncio import Redis

    from services.api.app import create_app
    from services.dispatcher.main import DispatcherProcess
    from services.embedded import EmbeddedRedis
    from services.fileproxy.app import FILE_ROUTES
    from shared.accounts import ExAppStore, UserStore
    from shared.keys import Keys
    from shared.registry import ProviderRegistry
    from shared.settings import Settings
    from tests.support.ncdev_fake import ncdev_fake_providers

    server = EmbeddedRedis(tmp / "redis", persistent=False).start()
    settings = Settings(redis_url=server.url, files_dir=tmp / "files", version="34.0.1",
                        api_port=_free_port(), dispatcher_metrics_port=_free_port(),
                        rate_limits={"failed_login": "100/1 minute"})
    redis = Redis.from_url(settings.redis_url)
    keys = Keys(settings.key_prefix)
    users = UserStore(redis, keys)
    pw = {u: await users.add(u) for u in ("alice", "bob")}
    secret = await ExAppStore(redis, keys).add("ncdev_exapp")
    registry = ProviderRegistry(redis, keys)
    for provider in ncdev_fake_providers():  # offered before any dispatcher runs
        await registry.register(provider.spec, ttl_seconds=None)
    runner = web.AppRunner(create_app(settings, extra_routes=FILE_ROUTES), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.api_port).start()
    dispatchers: list[Any] = []

    async def start_dispatcher() -> None:
        proc = DispatcherProcess(settings, list(ncdev_fake_providers()))
        dispatchers.append((proc, asyncio.create_task(proc.run())))

    side = Side("taskproc", f"http://127.0.0.1:{settings.api_port}",
                roles(pw, "ncdev_exapp", secret, "1.0.0", "34.0.0"))
    try:
        yield side, start_dispatcher
    finally:
        for proc, task in dispatchers:
            proc.stop()
            with contextlib.suppress(Exception):
                await task
        await runner.cleanup()
        await redis.aclose()
        server.stop()
