"""In-process providers read input files and write output files through their context;
outputs land in the task JSON as file ids, downloadable by the owner, deleted with the task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.http.context import SERVICES
from shared.tasks import Status
from shared.validation import OUTPUT_INVALID_MESSAGE
from tests.support.ocs import V2, scheduled_id, upload
from tests.support.providers import ImageFilesProvider, TranscribeFileProvider
from tests.support.waits import wait_for_status


async def test_provider_reads_the_input_file(one_url: Any, make_user: Any, dispatcher: Any,
                                             redis: Any, keys: Any) -> None:
    await dispatcher(TranscribeFileProvider())
    alice = await make_user("alice")
    fid = await upload(one_url, alice, b"hallo Welt", "voice.ogg")
    tid = await scheduled_id(one_url, alice, appId="files", type="core:audio2text",
                             input={"input": fid})
    task = await wait_for_status(redis, keys, tid)
    assert task.status is Status.SUCCESSFUL and task.output == {"output": "hallo Welt"}


async def test_output_files_are_ids_downloadable_and_deleted_with_the_task(
        one_url: Any, make_user: Any, dispatcher: Any, redis: Any, keys: Any,
        provider_headers: dict[str, str], tmp_path: Path) -> None:
    await dispatcher(ImageFilesProvider(tmp_path))
    alice, bob = await make_user("alice"), await make_user("bob")
    tid = await scheduled_id(one_url, alice, appId="files", type="core:text2image",
                          input={"input": "cat", "numberOfImages": 3})
    task = await wait_for_status(redis, keys, tid)
    assert task.status is Status.SUCCESSFUL, task.raw
    ids = task.output["images"] if task.output else []
    assert len(ids) == 3 and all(isinstance(i, int) for i in ids)
    for fid, suffix in zip(ids, (b"-bytes", b"-path", b"-ctx"), strict=True):
        resp = await one_url.get(f"{V2}/tasks/{tid}/file/{fid}", headers=alice)
        assert resp.status == 200 and await resp.read() == b"\x89PNG\r\n\x1a\ncat" + suffix
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.headers["Content-Disposition"].startswith(
            f'attachment; filename="{tid}-images.png"' if suffix != b"-ctx" else
            f'attachment; filename="{tid}-ctx.png"')
        assert (await one_url.get(f"{V2}/tasks/{tid}/file/{fid}", headers=bob)).status == 404
        resp = await one_url.get(f"{V2}/tasks_provider/{tid}/file/{fid}",
                                 headers=provider_headers)
        assert resp.status == 200
    paths = [one_url.server.app[SERVICES].files.path(i) for i in ids]
    assert all(p.exists() for p in paths)
    assert (await one_url.delete(f"{V2}/task/{tid}", headers=alice)).status == 200
    assert not any(p.exists() for p in paths)
    assert [await redis.exists(keys.file(i)) for i in ids] == [0, 0, 0]


async def test_deleting_a_task_keeps_the_upload_until_its_ttl(
        one_url: Any, make_user: Any, dispatcher: Any, redis: Any, keys: Any) -> None:
    await dispatcher(TranscribeFileProvider())
    alice = await make_user("alice")
    fid = await upload(one_url, alice, b"keep me")
    tid = await scheduled_id(one_url, alice, appId="files", type="core:audio2text",
                             input={"input": fid})
    await wait_for_status(redis, keys, tid)
    assert await redis.zscore(keys.files_unreferenced, str(fid)) is None
    await one_url.delete(f"{V2}/task/{tid}", headers=alice)
    assert await redis.exists(keys.file(fid)) == 1
    assert await redis.zscore(keys.files_unreferenced, str(fid)) is not None


async def test_a_missing_output_path_fails_the_task_at_once(
        one_url: Any, make_user: Any, dispatcher: Any, redis: Any, keys: Any,
        tmp_path: Path) -> None:
    await dispatcher(ImageFilesProvider(tmp_path))
    alice = await make_user("alice")
    tid = await scheduled_id(one_url, alice, appId="files", type="core:text2image",
                          input={"input": "missing", "numberOfImages": 1})
    task = await wait_for_status(redis, keys, tid, timeout=5)
    assert task.status is Status.FAILED
    assert task.error_message == OUTPUT_INVALID_MESSAGE
