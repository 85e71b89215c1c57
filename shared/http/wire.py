"""What shipped Nextcloud 34 does to every request and response before and after its routes.

- Repeated slashes in the path are merged before routing (NextcloudKit sends
  `https://host//ocs/v2.php/...`); the request is served as is, never redirected (a redirect
  would put a POST body and its credentials at risk), and the query string is kept.
- Every response carries Nextcloud's API headers: `X-Request-Id` (also on every log line
  written while the request runs), `Cache-Control: no-cache, no-store, must-revalidate`, the
  restrictive API `Content-Security-Policy`, `Feature-Policy`, `X-Robots-Tag`, and the fallback
  security headers of lib/base.php (`X-Content-Type-Options`, `X-Frame-Options`,
  `Referrer-Policy`, `X-Permitted-Cross-Domain-Policies`); `X-User-Id` once signed in.

`install(app)` puts the middleware outermost and the headers on `on_response_prepare`; the api
and the fileproxy call it.
"""

from __future__ import annotations

import os
import re
import string

from aiohttp import web
from yarl import URL

from shared.http.routes import Handler
from shared.http.security import PRINCIPAL
from shared.logs import REQUEST_ID

_ID_CHARS = string.ascii_letters + string.digits
_SLASHES = re.compile(r"//+")

API_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Content-Security-Policy": "default-src 'none';base-uri 'none';manifest-src 'self';"
                               "frame-ancestors 'none'",
    "Feature-Policy": "autoplay 'none';camera 'none';fullscreen 'none';geolocation 'none';"
                      "microphone 'none';payment 'none'",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Permitted-Cross-Domain-Policies": "none",
}


_ID_TABLE = bytes(ord(_ID_CHARS[b % 62]) for b in range(256))
"""Each byte value to its letter or digit (`b % 62`), for bytes.translate."""


def new_request_id() -> str:
    """20 letters and digits, as Nextcloud's RequestId makes them (an id, not a secret: the
    slight modulo bias does not matter, one urandom call per request does)."""
    return os.urandom(20).translate(_ID_TABLE).decode("ascii")


REQUEST_ID_KEY = web.RequestKey("request_id", str)


@web.middleware
async def slashes_and_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Serve `//ocs//v2.php/x?q` as `/ocs/v2.php/x?q` (routed again, not redirected); give the
    request its id, which log lines written while it runs carry."""
    if "//" in request.rel_url.raw_path:
        return await _merged(request)
    request[REQUEST_ID_KEY] = request_id = new_request_id()
    token = REQUEST_ID.set(request_id)
    try:
        return await handler(request)
    finally:
        REQUEST_ID.reset(token)


async def _merged(request: web.Request) -> web.StreamResponse:
    """The request with its slashes merged, through the app again (where it gets its id)."""
    url = URL.build(path=_SLASHES.sub("/", request.rel_url.raw_path),
                    query_string=request.rel_url.raw_query_string, encoded=True)
    merged = request.clone(rel_url=url)
    try:
        # aiohttp has no public way to route a cloned request through the app again; this is
        # the one place its private `_handle` is used (tests/clients/test_wire.py would fail).
        return await request.app._handle(merged)
    finally:
        # The response is sent (and `on_response_prepare` runs) for the original request.
        if REQUEST_ID_KEY in merged:
            request[REQUEST_ID_KEY] = merged[REQUEST_ID_KEY]
        if PRINCIPAL in merged:
            request[PRINCIPAL] = merged[PRINCIPAL]


async def nextcloud_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: every response, streamed or raised, gets Nextcloud's headers."""
    h = response.headers
    h.update(API_HEADERS)  # file downloads too: 34 sends no-store there as well
    h["X-Request-Id"] = request.get(REQUEST_ID_KEY) or new_request_id()
    who = request.get(PRINCIPAL)
    if who is not None and who.user_id:
        h["X-User-Id"] = who.user_id


def install(app: web.Application) -> None:
    """Outermost: slashes merged, then the request id; headers as responses go out."""
    app.middlewares.insert(0, slashes_and_id)
    app.on_response_prepare.append(nextcloud_headers)
