"""Baseline for /schedule: a bare aiohttp handler that does one Redis write."""

from __future__ import annotations

import os

import orjson
from aiohttp import web
from redis.asyncio import Redis

REDIS = web.AppKey("redis", Redis)


async def schedule(request: web.Request) -> web.Response:
    body = await request.read()
    n = await request.app[REDIS].rpush("bare:tasks", body)
    return web.json_response({"task": {"id": n}}, dumps=lambda o: orjson.dumps(o).decode())


async def ctx(app: web.Application) -> object:
    app[REDIS] = Redis.from_url(os.environ["TASKPROC_REDIS_URL"])
    yield
    await app[REDIS].aclose()


if __name__ == "__main__":
    app = web.Application()
    app.cleanup_ctx.append(ctx)
    app.router.add_post("/schedule", schedule)
    app.router.add_get("/", lambda r: web.Response(text="ok"))
    web.run_app(app, host="127.0.0.1", port=int(os.environ["BARE_PORT"]), print=None,
                access_log=None)
