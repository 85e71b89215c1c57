"""One held Nextcloud task, end to end: inputs in, local run, progress out, result out.

`Relay.run(held)` is idempotent: an adopter calls it again for a task another replica held,
and it picks up where that one stopped (the local task already scheduled, perhaps finished).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from services.bridge.events import TaskEvents
from services.bridge.metrics import BridgeMetrics
from services.bridge.state import BridgeState, Held
from services.bridge.upstream import Upstream, UpstreamError, UpstreamRejected
from shared.errors import OCSError
from shared.filestore import FileStore
from shared.provider_spec import ProviderSpec
from shared.registry import ProviderRegistry
from shared.settings_bridge import BridgeSettings
from shared.shapes import ShapeMap, TaskType
from shared.store import TaskStore
from shared.tasks import Owner, Status, Task, TaskField
from shared.validation import validate_input

log = logging.getLogger("taskproc.bridge")

NOT_RUNNABLE = "taskproc could not run this task: {reason}"
LOST = "taskproc lost this task before it finished; please try again."
LOCAL_CANCEL = "The task was cancelled on the processing server."
GONE = object()
"""Sentinel: the task no longer exists in Nextcloud (deleted)."""


class Unrunnable(Exception):
    """The bridge cannot run or finish this task; Nextcloud is told so, with this message."""

    def __init__(self, reason: str, user_message: str) -> None:
        super().__init__(reason)
        self.reason, self.user_message = reason, user_message


def local_user(nc_task: dict[str, Any]) -> str:
    """The local user of a bridged task: `nc:<Nextcloud user>`, which no local login can be."""
    return f"nc:{nc_task.get('userId') or ''}"


def local_owner(nc_task: dict[str, Any]) -> Owner:
    return Owner.user(local_user(nc_task))


def file_slots(shapes: tuple[ShapeMap, ...]) -> dict[str, bool]:
    """slot -> is a list, for every file slot of these shapes."""
    return {slot: s.type.is_list for shape in shapes for slot, s in shape.items()
            if s.type.is_file}


async def retrying(what: str, call: Callable[[], Awaitable[Any]], metrics: BridgeMetrics,
                   stop: asyncio.Event, first: float = 0.5, cap: float = 30.0) -> Any:
    """Call until Nextcloud answers (UpstreamRejected passes through); backoff, one log line
    per failure streak."""
    delay, failing = first, False
    while True:
        try:
            result = await call()
        except UpstreamRejected:
            raise
        except UpstreamError as exc:
            metrics.upstream_errors.labels(what).inc()
            metrics.upstream_up.set(0)
            if not failing:
                log.warning("Nextcloud unreachable (%s): %s; retrying with backoff", what, exc)
                failing = True
            if stop.is_set():
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, cap)
            continue
        metrics.upstream_up.set(1)
        if failing:
            log.info("Nextcloud reachable again (%s)", what)
        return result


class Relay:
    """Runs held Nextcloud tasks through the local store and reports them back."""

    def __init__(self, bs: BridgeSettings, upstream: Upstream, state: BridgeState,
                 tasks: TaskStore, files: FileStore, registry: ProviderRegistry,
                 events: TaskEvents, metrics: BridgeMetrics, stop: asyncio.Event) -> None:
        self.bs, self.upstream, self.state = bs, upstream, state
        self.tasks, self.files, self.registry = tasks, files, registry
        self.events, self.metrics, self.stop = events, metrics, stop

    async def run(self, held: Held) -> None:
        try:
            local_id = held.local_id or await self._find_or_schedule(held)
            outcome = await self._watch(held, local_id)
        except Unrunnable as exc:
            log.warning("Nextcloud task %s (%s) failed in the bridge: %s", held.nc_id,
                        held.task_type, exc.reason)
            self.metrics.failed.labels(held.task_type, exc.reason.split(":")[0]).inc()
            await self._report(held, None, error=str(exc), user_error=exc.user_message)
            return
        if outcome is GONE:
            self.metrics.cancelled.labels(held.task_type).inc()
            await self._forget(held, local_id)
            return
        assert isinstance(outcome, Task)
        await self._report_local(held, outcome)

    # -- local scheduling -------------------------------------------------------------------

    async def _types(self, type_id: str) -> tuple[TaskType, ProviderSpec]:
        snap = await self.registry.snapshot()
        tt, spec = snap.task_type(type_id), snap.preferred(type_id)
        if tt is None or spec is None or spec.kind == "exapp":
            raise Unrunnable(f"no-provider: no local provider for {type_id}",
                             NOT_RUNNABLE.format(reason="no provider for this task type"))
        return tt, spec

    async def _find_or_schedule(self, held: Held) -> int:
        owner = local_user(held.nc_task)
        if held.scheduling:  # a crash may have come between schedule and set_local
            for task in await self.tasks.list_for_user(owner, custom_id=held.custom_id):
                await self.state.set_local(held.nc_id, task.id)
                return task.id
        tt, spec = await self._types(held.task_type)
        inputs = await self._inputs(held, tt, spec, owner)
        await self.state.mark_scheduling(held.nc_id)
        task = await self.tasks.schedule(
            task_type=held.task_type, user_id=owner,
            app_id=f"nextcloud:{held.nc_task.get('appId') or ''}"[:255],
            custom_id=held.custom_id, inputs=inputs, webhook_uri=None, webhook_method=None,
            include_watermark=bool(held.nc_task.get("includeWatermark", True)),
            expected_runtime=spec.expected_runtime, file_ids=self._local_files(tt, spec, inputs),
            guest=None)
        await self.state.set_local(held.nc_id, task.id)
        log.info("Nextcloud task %s (%s) runs as local task %s", held.nc_id, held.task_type,
                 task.id)
        return task.id

    def _local_files(self, tt: TaskType, spec: ProviderSpec, inputs: dict[str, Any]) -> list[int]:
        ids: list[int] = []
        for slot, is_list in file_slots((tt.input_shape, spec.optional_input_shape)).items():
            if slot in inputs:
                ids.extend(inputs[slot] if is_list else [inputs[slot]])
        return ids

    async def _inputs(self, held: Held, tt: TaskType, spec: ProviderSpec,
                      owner: str) -> dict[str, Any]:
        raw = held.nc_task.get("input")
        try:
            inputs = validate_input(tt, spec, raw if isinstance(raw, dict) else {})
        except OCSError as exc:
            raise Unrunnable(f"invalid-input: {exc}", NOT_RUNNABLE.format(reason=str(exc))) \
                from exc
        for slot, is_list in file_slots((tt.input_shape, spec.optional_input_shape)).items():
            if slot in inputs:
                ids = inputs[slot] if is_list else [inputs[slot]]
                local = [await self._fetch(held.nc_id, int(i), owner) for i in ids]
                inputs[slot] = local if is_list else local[0]
        return inputs

    async def _fetch(self, nc_id: int, file_id: int, owner: str) -> int:
        async def call() -> int | None:
            async with self.upstream.download(nc_id, file_id) as chunks:
                if chunks is None:
                    return None
                record = await self.files.put_stream(
                    chunks, owner=owner, name=f"nextcloud-{file_id}", origin="upload",
                    max_bytes=self.bs.max_file_bytes)
                return record.id
        try:
            local = await retrying("download", call, self.metrics, self.stop)
        except UpstreamRejected as exc:
            raise Unrunnable(f"input-file: {exc}", NOT_RUNNABLE.format(
                reason=f"input file {file_id} could not be read")) from exc
        except OCSError as exc:  # too large
            raise Unrunnable(f"input-file: {exc}", NOT_RUNNABLE.format(reason=str(exc))) \
                from exc
        if local is None:
            raise Unrunnable(f"input-file: {file_id} not found", NOT_RUNNABLE.format(
                reason=f"input file {file_id} was not found"))
        return int(local)

    # -- watching -----------------------------------------------------------------------------

    async def _watch(self, held: Held, local_id: int) -> Task | object:
        """Until the local task is final (returned) or the Nextcloud task is gone (GONE)."""
        sent, lag_done = 0.0, False  # no progress report before there is progress
        next_check = time.monotonic() + self.bs.progress_interval
        while True:
            task = await self.tasks.get(local_id)
            if task is None:
                raise Unrunnable("lost: local task vanished", LOST)
            if task.status.final:
                return task
            if not lag_done and task.status is Status.RUNNING:
                lag_done = self._record_lag(held, task)
            progress = task.progress or 0.0
            now = time.monotonic()
            if progress != sent or now >= next_check:
                if await self._upstream_gone(held, progress):
                    await self.tasks.cancel(local_id, local_owner(held.nc_task))
                    log.info("Nextcloud task %s was cancelled or deleted upstream; local task "
                             "%s cancelled", held.nc_id, local_id)
                    return GONE
                sent, next_check = progress, now + self.bs.progress_interval
            await self.events.wait(local_id, timeout=min(self.bs.progress_interval, 0.5))

    def _record_lag(self, held: Held, task: Task) -> bool:
        started, scheduled = task.int_field(TaskField.STARTED_AT), held.nc_task.get("scheduledAt")
        if started is None or not isinstance(scheduled, int):
            return False
        self.metrics.lag.labels(held.task_type).observe(max(0.0, started - scheduled))
        return True

    async def _upstream_gone(self, held: Held, progress: float) -> bool:
        """Send progress; True when Nextcloud says the task is cancelled or deleted. A failed
        call is not a verdict: the next round asks again."""
        try:
            nc = await self.upstream.progress(held.nc_id, progress)
        except UpstreamError as exc:
            self.metrics.upstream_errors.labels("progress").inc()
            log.debug("progress of Nextcloud task %s not sent: %s", held.nc_id, exc)
            return False
        return nc is None or nc.get("status") == Status.CANCELLED.value

    # -- reporting ----------------------------------------------------------------------------

    async def _report_local(self, held: Held, task: Task) -> None:
        if task.status is Status.SUCCESSFUL:
            try:
                output = await self._output(held, task)
            except Unrunnable as exc:
                await self._report(held, task, error=str(exc), user_error=exc.user_message)
                return
            await self._report(held, task, output=output)
        elif task.status is Status.FAILED:
            await self._report(held, task, error=task.error_message or "failed",
                               user_error=task.user_facing_error_message)
        else:
            await self._report(held, task, error="cancelled locally", user_error=LOCAL_CANCEL)

    async def _output(self, held: Held, task: Task) -> dict[str, Any]:
        output = dict(task.output or {})
        tt, spec = await self._types(held.task_type)
        for slot, is_list in file_slots((tt.output_shape, spec.optional_output_shape)).items():
            if slot in output and output[slot] is not None:
                ids = output[slot] if is_list else [output[slot]]
                nc_ids = [await self._send_file(held, int(i)) for i in ids]
                output[slot] = nc_ids if is_list else nc_ids[0]
        return output

    async def _send_file(self, held: Held, local_id: int) -> int:
        record = await self.files.get(local_id)
        if record is None:
            raise Unrunnable(f"output-file: {local_id} missing", LOST)
        path = self.files.path(local_id)
        try:
            nc_id = await retrying("upload", lambda: self.upstream.upload(
                held.nc_id, path, record.name, record.mime), self.metrics, self.stop)
        except UpstreamRejected as exc:
            raise Unrunnable(f"output-file: {exc}", LOST) from exc
        if nc_id is None:
            raise Unrunnable("output-file: task gone upstream", LOST)
        return int(nc_id)

    async def _report(self, held: Held, task: Task | None, *, output: dict[str, Any] | None = None,
                      error: str | None = None, user_error: str | None = None) -> None:
        """Send the result until Nextcloud takes it, then forget the task here."""
        try:
            await retrying("result", lambda: self.upstream.result(
                held.nc_id, output=output, error=error, user_error=user_error),
                self.metrics, self.stop)
        except UpstreamRejected as exc:
            log.warning("Nextcloud refused the result of task %s: %s", held.nc_id, exc)
            if output is not None:  # e.g. an output Nextcloud's validation rejects
                await self._report(held, task, error=str(exc), user_error=LOST)
                return
        outcome = "successful" if output is not None else "failed"
        self.metrics.reported.labels(held.task_type, outcome).inc()
        await self._forget(held, task.id if task is not None else None)

    async def _forget(self, held: Held, local_id: int | None) -> None:
        """Drop the local copy (the result lives in Nextcloud now) and the hold."""
        if local_id is not None:
            released = await self.tasks.delete(local_id, local_owner(held.nc_task))
            if released:
                await self.files.release(released)
        self.events.forget(local_id or 0)
        await self.state.finish(held.nc_id)
