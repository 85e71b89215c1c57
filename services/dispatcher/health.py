"""The dispatcher's small HTTP server: `/healthz`, `/readyz` and `/metrics` for probes and scrapes.

The answers are the ones every role gives (`shared.probes`); this module adds the dispatcher's
own readiness (started, subscribed, not draining) and a server from the standard library around
them, so the dispatcher loads no aiohttp server code (`http.server.ThreadingHTTPServer` in a
daemon thread, as prometheus_client's `start_http_server` does). Each request thread runs its
answer on the dispatcher's event loop, so the answers read the process's state and Redis
there, and a loop that stops answering shows as a 503 rather than as a live process.

It listens on `dispatcher_metrics_port` (0 picks a free port, negative switches it off). A port
that is taken is logged and skipped rather than fatal, so several dispatchers started by hand
on one host (or in one test process) still run; a probe against the missing server shows it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from shared.metrics import Metrics
from shared.probes import PROBE_ANSWERS, TEXT, Answer, Probes
from shared.stores import Stores

log = logging.getLogger(__name__)

ANSWER_SECONDS = 10.0
"""How long a request waits for the event loop's answer (Redis calls time out sooner)."""
STOP_POLL_SECONDS = 0.1
"""How often the server thread looks for a stop request (it bounds how long a stop takes)."""
NOT_FOUND = Answer(404, b"404: Not Found", TEXT)
NOT_GET = Answer(405, b"405: Method Not Allowed", TEXT)
UNRESPONSIVE = Answer.status_json("event loop unresponsive", 503)
FAILED = Answer(500, b"500: Internal Server Error", TEXT)


@dataclass
class HealthState:
    """What the probes report: set by DispatcherProcess as it starts and drains."""

    metrics: Metrics
    stores: Stores
    draining: Callable[[], bool]
    """True once a signal told the worker to stop taking jobs."""
    redis_down: Callable[[], bool] = lambda: False
    """True from a failed Redis call until Redis answers again."""
    started: bool = False
    listening: bool = False
    """The pub/sub listener is subscribed (wake-ups and cancels reach this process)."""

    def problem(self) -> str | None:
        """Why this dispatcher is not ready, or None."""
        return ("draining" if self.draining() else "redis unavailable" if self.redis_down()
                else "starting" if not self.started
                else "pub/sub listener reconnecting" if not self.listening else None)


class _ProbeServer(ThreadingHTTPServer):
    """Serves `PROBE_ANSWERS`, each computed on `loop`."""

    def __init__(self, address: tuple[str, int], probes: Probes,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.address_family = socket.getaddrinfo(*address, type=socket.SOCK_STREAM)[0][0]
        self.probes, self.loop = probes, loop
        super().__init__(address, _ProbeHandler)

    def answer(self, path: str) -> Answer:
        make = PROBE_ANSWERS.get(path)
        if make is None:
            return NOT_FOUND
        future = asyncio.run_coroutine_threadsafe(make(self.probes), self.loop)
        try:
            return future.result(ANSWER_SECONDS)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            future.cancel()
            return UNRESPONSIVE
        except Exception:
            log.exception("probe %s failed", path)
            return FAILED

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer: not worth socketserver's traceback."""
        log.debug("probe request from %s failed", client_address, exc_info=True)


class _ProbeHandler(BaseHTTPRequestHandler):
    """GET of a probe path; any other method of any path is refused as aiohttp's router does."""

    server: _ProbeServer
    protocol_version = "HTTP/1.1"
    timeout = 5  # seconds a connected client may take to send its request

    def do_GET(self) -> None:
        self._send(self.server.answer(urlsplit(self.path).path))

    def _refuse(self) -> None:
        known = urlsplit(self.path).path in PROBE_ANSWERS
        self._send(NOT_GET if known else NOT_FOUND, body=self.command != "HEAD")

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _refuse

    def _send(self, answer: Answer, body: bool = True) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer is NOT_GET:
            self.send_header("Allow", "GET")
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log (probes and scrapes would fill it)."""


class HealthServer:
    """Start and stop the probe server beside the worker."""

    def __init__(self, state: HealthState, host: str, port: int) -> None:
        self.state, self.host, self.port = state, host, port
        self.server: _ProbeServer | None = None
        self.thread: threading.Thread | None = None

    async def start(self) -> None:
        if self.port < 0:
            return
        probes = Probes(self.state.metrics, lambda: self.state.stores, self.state.problem)
        try:
            server = _ProbeServer((self.host, self.port), probes, asyncio.get_running_loop())
        except OSError as exc:
            log.error("dispatcher health server not started on %s:%s: %s", self.host,
                      self.port, exc)
            return
        self.server, self.port = server, server.server_address[1]
        self.thread = threading.Thread(target=server.serve_forever, args=(STOP_POLL_SECONDS,),
                                       name="dispatcher probes", daemon=True)
        self.thread.start()
        log.info("dispatcher health and metrics on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and wait for the requests being answered (the loop keeps running
        meanwhile, so their answers can finish)."""
        server, thread, self.server, self.thread = self.server, self.thread, None, None
        if server is not None and thread is not None:
            await asyncio.to_thread(_close, server, thread)


def _close(server: _ProbeServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()  # joins the request threads
    thread.join()
