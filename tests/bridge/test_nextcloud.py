"""Against a real Nextcloud 34 (opt-in): a user of that Nextcloud schedules a summary, speech and
a transcription with the normal OCS routes and gets taskproc's engines' results.

Run with a Nextcloud from ../shared/tools/nextcloud-dev/ (its credentials.json names `occ`):
    NCDEV_CREDENTIALS=$HOME/ncdev/credentials.json \
        .venv/bin/python -m pytest -m nextcloud tests/bridge/test_nextcloud.py
The engines must be installed (`make engines`). Deselected unless `-m nextcloud` is given.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from services.embedded import free_port
from shared.settings import Settings
from tests.support.bridge import ROOT
from tests.support.waits import answers_ok, ready_line, until

pytestmark = pytest.mark.nextcloud
TYPES = ("core:text2text:summary", "core:text2speech", "core:audio2text")
SECRET = "taskproc-bridge-test-secret-0123456789"
TEXT = " ".join([
    "The bridge lets a Nextcloud hand its tasks to a taskproc cluster.",
    "Nextcloud's users and apps keep using the normal routes.",
    "Talk, Text, Mail and the Assistant create tasks inside Nextcloud as before.",
    "Nextcloud then tells the bridge that work is waiting.",
    "The bridge claims the tasks and schedules each one on the cluster.",
    "Dispatchers run the work on local engines or on OpenAI-compatible backends.",
    "Progress goes back to Nextcloud while the task runs.",
    "Output files are uploaded to Nextcloud before the result is posted.",
    "A task cancelled in Nextcloud stops its local run.",
    "A bridge that dies leaves its tasks to a replica, which finishes them.",
    "Operators see the bridge in the metrics and in taskproc stats.",
    "The weather was pleasant and nobody mentioned it again."])


def _credentials() -> dict[str, Any]:
    path = os.environ.get("NCDEV_CREDENTIALS")
    if not path:
        pytest.fail("set NCDEV_CREDENTIALS to a nextcloud-dev credentials.json")
    return dict(orjson.loads(Path(path).read_bytes()))


def _occ(cred: dict[str, Any], *args: str) -> str:
    out = subprocess.run(["php", cred["paths"]["occ"], *args], capture_output=True, text=True,
                         timeout=120, check=False)
    return out.stdout + out.stderr


@pytest.fixture
async def nextcloud_bridge(settings: Settings, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Local dispatcher with the real engines and a bridge, registered in that Nextcloud as
    ExApp `taskproc` and preferred for TYPES; all undone at teardown."""
    cred, port = _credentials(), free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, TASKPROC_REDIS_URL=settings.redis_url,
               TASKPROC_FILES_DIR=str(tmp_path / "files"),
               TASKPROC_DISPATCHER_METRICS_PORT="-1",
               TASKPROC_BRIDGE__NEXTCLOUD_URL=cred["base_url"],
               TASKPROC_BRIDGE__APP_SECRET=SECRET, TASKPROC_BRIDGE__PORT=str(port))
    procs = []
    old_prefs = _occ(cred, "config:app:get", "core", "ai.taskprocessing_provider_preferences")
    try:
        for role in ("dispatcher", "bridge"):
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.cli", role, cwd=ROOT,
                env=env, stderr=asyncio.subprocess.PIPE if role == "dispatcher" else None))
        await ready_line(procs[0], timeout=120)
        await until(lambda: answers_ok(f"http://127.0.0.1:{port}/readyz"), timeout=30)
        _occ(cred, "app_api:app:unregister", "taskproc", "--force")
        info = orjson.dumps({"id": "taskproc", "name": "taskproc", "version": "1.0.0",
                             "secret": SECRET, "port": port}).decode()
        assert "successfully registered" in _occ(cred, "app_api:app:register", "taskproc",
                                                 "manual_install", "--json-info", info)
        prefs = {t: f"taskproc-{t}" for t in TYPES}
        _occ(cred, "config:app:set", "core", "ai.taskprocessing_provider_preferences",
             "--value", orjson.dumps(prefs).decode())
        yield cred
    finally:
        _occ(cred, "app_api:app:unregister", "taskproc", "--force")
        if old_prefs.strip():
            _occ(cred, "config:app:set", "core", "ai.taskprocessing_provider_preferences",
                 "--value", old_prefs.strip())
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()


class Alice:
    def __init__(self, http: aiohttp.ClientSession, cred: dict[str, Any]) -> None:
        token = base64.b64encode(f"alice:{cred['users']['alice']['app_password']}".encode())
        self.http, self.base = http, cred["base_url"]
        self.headers = {"Authorization": f"Basic {token.decode()}", "OCS-APIRequest": "true",
                        "Accept": "application/json"}

    async def ocs(self, method: str, path: str, **kw: Any) -> Any:
        async with self.http.request(method, f"{self.base}/ocs/v2.php/taskprocessing{path}",
                                     headers=self.headers, **kw) as resp:
            assert resp.status == 200, await resp.text()
            return (await resp.json())["ocs"]["data"]

    async def run(self, task_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
        task = (await self.ocs("POST", "/schedule", json={
            "type": task_type, "appId": "taskproc-tests", "input": inputs}))["task"]

        async def done() -> bool:
            nonlocal task
            task = (await self.ocs("GET", f"/task/{task['id']}"))["task"]
            return task["status"] not in ("STATUS_SCHEDULED", "STATUS_RUNNING")
        await until(done, timeout=300, interval=0.2)
        assert task["status"] == "STATUS_SUCCESSFUL", task
        return dict(task)

    async def webdav_file(self, name: str, data: bytes) -> int:
        url = f"{self.base}/remote.php/dav/files/alice/{name}"
        async with self.http.put(url, data=data, headers=self.headers) as resp:
            assert resp.status in (201, 204), resp.status
        prop = (b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/'
                b'ns"><d:prop><oc:fileid/></d:prop></d:propfind>')
        async with self.http.request("PROPFIND", url, data=prop,
                                     headers=self.headers | {"Depth": "0"}) as resp:
            match = re.search(r"<oc:fileid>(\d+)<", await resp.text())
        assert match
        return int(match.group(1))


async def test_nextcloud_users_get_taskproc_results(nextcloud_bridge: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http:
        alice = Alice(http, nextcloud_bridge)
        types = (await alice.ocs("GET", "/tasktypes"))["types"]
        assert set(TYPES) <= set(types)
        summary = await alice.run("core:text2text:summary", {"input": TEXT})
        assert 0 < len(summary["output"]["output"].strip()) < len(TEXT) / 2, summary["output"]
        speech = await alice.run("core:text2speech", {"input": "hello world, this is a test"})
        fid = speech["output"]["speech"]
        async with http.get(f"{alice.base}/ocs/v2.php/taskprocessing/tasks/{speech['id']}/file/"
                            f"{fid}", headers=alice.headers) as resp:
            audio = await resp.read()
        assert audio[:4] == b"RIFF" and len(audio) > 10_000
        clip = await alice.webdav_file("taskproc-speech.wav", audio)
        heard = await alice.run("core:audio2text", {"input": clip})
        assert "hello" in heard["output"]["output"].lower(), heard["output"]
