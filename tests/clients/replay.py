"""What the replay tests share: a raw client, bounded polling, and a checker for the fields a
client's model declares (type and nullability, as Swift's Codable, Kotlin/Gson and JavaScript
read them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import orjson

from tests.support.rawhttp import RawResponse, raw_request

FINAL = ("STATUS_SUCCESSFUL", "STATUS_FAILED", "STATUS_CANCELLED")
# A model: field -> declared type. "int" is a JSON integer (Swift Int/Int64, Kotlin Int/Long:
# `1.0` or `0.5` fail there), "str", "bool", "dict", "list", "number" (a JS number); a trailing
# "?" allows null or absence.
Model = dict[str, str]


class Client:
    """Sends requests exactly as given: raw path, these headers, a JSON or form body."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base
        self.headers = headers

    async def send(self, method: str, path: str, *, json: Any = None,
                   form: dict[str, str] | str | None = None,
                   headers: dict[str, str] | None = None) -> RawResponse:
        h = dict(self.headers) | (headers or {})
        body: bytes | None = None
        if json is not None:
            body, h["Content-Type"] = orjson.dumps(json), "application/json"
        elif form is not None:
            body = (form if isinstance(form, str) else urlencode(form)).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        return await raw_request(self.base, method, path, h, body)


async def poll(fetch: Callable[[], Awaitable[Any]], done: Callable[[Any], bool],
               timeout: float = 20.0) -> Any:
    """Call `fetch` until `done(result)`; a bounded wait, as the clients' own poll loops."""
    deadline = time.monotonic() + timeout
    while True:
        result = await fetch()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s: {result!r}")
        await asyncio.sleep(0.02)


def _type_ok(value: Any, declared: str) -> bool:
    kinds: dict[str, Callable[[Any], bool]] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
        "dict": lambda v: isinstance(v, dict), "list": lambda v: isinstance(v, list)}
    return kinds[declared](value)


def conform(obj: Any, model: Model, where: str = "") -> list[str]:
    """Every way `obj` breaks the model: a missing non-optional field, null where not allowed,
    or a value the declared type cannot decode."""
    if not isinstance(obj, dict):
        return [f"{where or 'value'} is not an object: {obj!r}"]
    problems = []
    for name, declared in model.items():
        optional, kind = declared.endswith("?"), declared.rstrip("?")
        value = obj.get(name)
        if value is None:
            if not optional:
                problems.append(f"{where}{name} is {'null' if name in obj else 'missing'}")
        elif not _type_ok(value, kind):
            problems.append(f"{where}{name}={value!r} is not {kind}")
    return problems
