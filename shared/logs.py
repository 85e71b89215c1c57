"""Logging setup: plain text for people, one JSON object per line for log collectors."""

from __future__ import annotations

import contextvars
import logging
import sys
import time

import orjson

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
"""The X-Request-Id of the HTTP request being served (shared.http.wire sets it)."""


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the X-Request-Id being served, or "-") to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """Each record as JSON; `extra={"task_id": …}` fields are carried along."""

    STD: frozenset[str] = frozenset(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) +
                f".{int(record.msecs):03d}Z", "level": record.levelname,
                "logger": record.name, "msg": record.getMessage()}
        for k, v in vars(record).items():
            if k not in self.STD and k not in data:
                data[k] = v
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(data, default=str).decode()


def setup(level: str = "INFO", json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
