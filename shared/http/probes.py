"""The aiohttp handlers of the probes (`shared.probes`) for the api and fileproxy.

`instrument` (`shared.http.metrics`) mounts `PROBE_ROUTES` and puts the app's `Probes` under
`PROBES`; each handler sends the server-neutral answer of its path.
"""

from __future__ import annotations

import functools

from aiohttp import web

from shared.http.routes import Handler
from shared.probes import PROBE_ANSWERS, ProbeAnswer, Probes

PROBES = web.AppKey("probes", Probes)


def _handler(answer: ProbeAnswer) -> Handler:
    """The aiohttp handler of one probe answer (its name and docstring, for the OpenAPI)."""
    @functools.wraps(answer)
    async def handler(request: web.Request) -> web.StreamResponse:
        got = await answer(request.app[PROBES])
        return web.Response(status=got.status, body=got.body,
                            headers={"Content-Type": got.content_type})
    return handler


PROBE_ROUTES = tuple((path, _handler(answer)) for path, answer in PROBE_ANSWERS.items())
