"""Redis memory per scheduled task, for sizing maxmemory (docs/deployment.md, "Sizing Redis").

  .venv/bin/python deploy/stack/redis_memory.py INPUT_BYTES   (needs redis-server on PATH)
"""
import asyncio, base64, subprocess, sys, time
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer, TestClient
sys.path.insert(0, ".")
from shared.settings import Settings
from services.api.app import create_app
from shared.keys import Keys
from shared.registry import ProviderRegistry
from shared.accounts import UserStore
from tests.support.providers import EchoProvider
from services.embedded import free_port

async def main(n=2000, size=int(sys.argv[1])):
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    url = f"redis://127.0.0.1:{port}/0"
    r = aioredis.Redis.from_url(url)
    s = Settings.from_env(redis_url=url, files_dir="/tmp/mm-files", rate_limits={"schedule_user": ""})
    keys = Keys(s.key_prefix)
    await ProviderRegistry(r, keys).register(EchoProvider().spec, 3600)
    pw = await UserStore(r, keys).add("alice")
    h = {"Authorization": "Basic " + base64.b64encode(f"alice:{pw}".encode()).decode(), "OCS-APIRequest": "true"}
    before = (await r.info("memory"))["used_memory"]
    async with TestClient(TestServer(create_app(s))) as c:
        text = "x" * size
        for i in range(n):
            resp = await c.post("/ocs/v2.php/taskprocessing/schedule?format=json", json={"type": "core:text2text", "appId": "m", "input": {"input": text}}, headers=h)
            assert resp.status == 200, await resp.text()
    after = (await r.info("memory"))["used_memory"]
    print(f"input {size} B: {(after-before)/n:.0f} bytes of Redis memory per scheduled task ({n} tasks)")
    await r.aclose(); p.terminate(); p.wait()
asyncio.run(main())
