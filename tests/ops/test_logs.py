"""Task-related log lines carry the task id as a field of the JSON log line."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from shared.logs import JsonFormatter
from shared.tasks import Status
from tests.support.ocs import scheduled_id
from tests.support.providers import FailingProvider
from tests.support.waits import wait_for_status


async def test_dispatcher_failure_line_has_task_id(api: Any, make_user: Any, dispatcher: Any,
                                                   redis: Any, keys: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    await dispatcher(FailingProvider())
    alice = await make_user("alice")
    with caplog.at_level(logging.INFO, logger="services.dispatcher.dispatcher"):
        tid = await scheduled_id(api, alice)
        await wait_for_status(redis, keys, tid, Status.FAILED)
    record = next(r for r in caplog.records if "failed in" in r.getMessage())
    line = orjson.loads(JsonFormatter().format(record))
    assert line["task_id"] == tid and line["level"] == "WARNING"
