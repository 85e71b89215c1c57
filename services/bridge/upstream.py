"""The Nextcloud side: AppAPI-authenticated calls to the provider and registration routes.

Every call carries the headers nc_py_api sends (`EX-APP-ID`, `EX-APP-VERSION`, `AA-VERSION`,
`AUTHORIZATION-APP-API`, `OCS-APIRequest`). Errors fall in two kinds:

    UpstreamError          Nextcloud unreachable, timed out, 5xx or 429: try again later
    └── UpstreamRejected   a 4xx other than 404: the request itself is wrong, retrying won't help

A 404 is not an error here: the task is gone upstream, and callers get None.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from shared.settings_bridge import BridgeSettings

TP = "/ocs/v2.php/taskprocessing/tasks_provider"
AI_PROVIDER = "/ocs/v1.php/apps/app_api/api/v1/ai_provider/task_processing"


class UpstreamError(Exception):
    """Nextcloud could not be reached or answered with a temporary failure."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UpstreamRejected(UpstreamError):
    """Nextcloud refused the request (a 4xx other than 404)."""


@dataclass(frozen=True)
class Claimed:
    """One task `next_batch` handed us: already STATUS_RUNNING upstream."""

    task: dict[str, Any]
    provider_id: str


def appapi_headers(bs: BridgeSettings, user: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{bs.app_secret}".encode()).decode()
    return {"EX-APP-ID": bs.app_id, "EX-APP-VERSION": bs.app_version,
            "AA-VERSION": bs.aa_version, "AUTHORIZATION-APP-API": token,
            "OCS-APIRequest": "true", "Accept": "application/json"}


class Upstream:
    """A client of one Nextcloud (or of a taskproc serving the same routes)."""

    def __init__(self, bs: BridgeSettings, session: aiohttp.ClientSession) -> None:
        self.bs, self.session = bs, session
        self.base = bs.nextcloud_url.rstrip("/")
        self.headers = appapi_headers(bs)

    async def _ocs(self, method: str, path: str, *, timeout: float | None = None,
                   **kwargs: Any) -> Any:
        """The OCS `data` of a JSON answer; None for a 404 or an empty (204) answer."""
        url = f"{self.base}{path}"
        params = {"format": "json", **kwargs.pop("params", {})}
        limit = aiohttp.ClientTimeout(total=timeout or self.bs.request_timeout)
        try:
            async with self.session.request(method, url, params=params, headers=self.headers,
                                            timeout=limit, **kwargs) as resp:
                body = await resp.read()
                return _data(resp.status, body, f"{method} {path}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError(f"{method} {path}: {exc.__class__.__name__} {exc}") from exc

    async def next_batch(self, provider_ids: list[str], type_ids: list[str], count: int,
                         wait: float) -> tuple[list[Claimed], bool]:
        """Claim up to `count` tasks; `wait` long-polls where the server supports it."""
        body = {"providerIds": provider_ids, "taskTypeIds": type_ids, "numberOfTasks": count}
        data = await self._ocs("GET", f"{TP}/next_batch", timeout=wait + self.bs.request_timeout,
                               params={"wait": f"{wait:g}"} if wait else {}, json=body)
        if not isinstance(data, dict):
            return [], False
        claimed = [Claimed(item["task"], str(item.get("provider") or ""))
                   for item in data.get("tasks") or [] if isinstance(item, dict)]
        return claimed, bool(data.get("has_more"))

    async def progress(self, task_id: int, progress: float) -> dict[str, Any] | None:
        """Report progress (0..1); the upstream task (its status says CANCELLED) or None."""
        data = await self._ocs("POST", f"{TP}/{task_id}/progress",
                               json={"taskId": task_id, "progress": min(max(progress, 0.0), 1.0)})
        return _task(data)

    async def result(self, task_id: int, *, output: dict[str, Any] | None = None,
                     error: str | None = None,
                     user_error: str | None = None) -> dict[str, Any] | None:
        data = await self._ocs("POST", f"{TP}/{task_id}/result", json={
            "taskId": task_id, "output": output, "errorMessage": error,
            "userFacingErrorMessage": user_error})
        return _task(data)

    @asynccontextmanager
    async def download(self, task_id: int, file_id: int) -> AsyncIterator[
            AsyncIterator[bytes] | None]:
        """The bytes of an input file, streamed; None if Nextcloud has no such file."""
        url = f"{self.base}{TP}/{task_id}/file/{file_id}"
        limit = aiohttp.ClientTimeout(total=None, sock_read=self.bs.request_timeout,
                                      sock_connect=self.bs.request_timeout)
        try:
            async with self.session.get(url, headers=self.headers, timeout=limit) as resp:
                if resp.status == 404:
                    yield None
                    return
                if resp.status != 200:
                    _data(resp.status, await resp.read(), f"GET file {file_id}")
                yield resp.content.iter_chunked(1024 * 1024)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError(f"GET file {file_id}: {exc.__class__.__name__} {exc}") from exc

    async def upload(self, task_id: int, path: Path, name: str, mime: str) -> int | None:
        """Upload an output file; its Nextcloud file id, or None if the task is gone."""
        with path.open("rb") as fh:
            form = aiohttp.FormData()
            form.add_field("file", fh, filename=name or "output", content_type=mime)
            data = await self._ocs("POST", f"{TP}/{task_id}/file", data=form)
        if data is None:
            return None
        if not isinstance(data, dict) or "fileId" not in data:
            raise UpstreamRejected(f"POST file: no fileId in {str(data)[:200]}")
        return int(data["fileId"])

    async def register(self, provider: dict[str, Any]) -> None:
        await self._ocs("POST", AI_PROVIDER, json={"provider": provider})

    async def unregister(self, provider_id: str) -> None:
        await self._ocs("DELETE", AI_PROVIDER, params={"name": provider_id})


def _task(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and isinstance(data.get("task"), dict):
        return data["task"]  # type: ignore[no-any-return]
    return None


def _ocs_data(status: int, body: bytes, what: str) -> Any:
    """`ocs.data` of a 2xx answer; an answer that is not OCS is an upstream error."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("ocs"), dict):
        return doc["ocs"].get("data")
    raise UpstreamError(f"{what}: {status} without an OCS answer", status)


def _data(status: int, body: bytes, what: str) -> Any:
    if status == 404 or status == 204 or (200 <= status < 300 and not body):
        return None
    if 200 <= status < 300:
        return _ocs_data(status, body, what)
    detail = body[:200].decode(errors="replace")
    if status == 429 or status >= 500:
        raise UpstreamError(f"{what}: {status} {detail}", status)
    raise UpstreamRejected(f"{what}: {status} {detail}", status)
