"""`taskproc run` and the CLI beside it, as real processes: the banner comes only once every part
is up, a second `taskproc` finds the run's Redis through var/run.json, a taken port is one line,
and Ctrl-C (or even SIGKILL) leaves nothing running.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from services import runfile
from services.embedded import free_port
from tests.support.ocs import basic
from tests.support.waits import until

ROOT = Path(__file__).resolve().parents[2]
BANNER = b"taskproc is running on "


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any taskproc or Redis setting (as a new user's shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKPROC_", "REDIS_"))}
    return env | {"PYTHONPATH": str(ROOT)} | extra


def run_env(port: int) -> dict[str, str]:
    # No engines (they are tested elsewhere) and no dispatcher metrics port, to stay light.
    return clean_env(TASKPROC_API_PORT=str(port), TASKPROC_DISPATCHER_METRICS_PORT="-1",
                     TASKPROC_ENGINES__ENABLED="[]", TASKPROC_SHUTDOWN_GRACE_SECONDS="2")


async def taskproc(cwd: Path, *args: str, env: dict[str, str] | None = None
                   ) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", *args, cwd=cwd, env=env or clean_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Run:
    proc: asyncio.subprocess.Process
    var: Path
    port: int
    output: list[bytes] = field(default_factory=list)

    async def until_banner(self) -> str:
        """Everything printed up to the end of the banner (stdout and stderr merged)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(90):
            while not self.output or b"Stop with Ctrl-C." not in self.output[-1]:
                line = await self.proc.stdout.readline()
                assert line, b"".join(self.output).decode() + "\n(exited before the banner)"
                self.output.append(line)
        return b"".join(self.output).decode()

    async def rest(self) -> str:
        assert self.proc.stdout is not None
        async with asyncio.timeout(60):
            tail = await self.proc.stdout.read()
        return (b"".join(self.output) + tail).decode()

    def record(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.var / "run.json").read_text())
        return data


@pytest.fixture
async def start_run(tmp_path: Path) -> AsyncIterator[object]:
    runs: list[Run] = []

    async def start(port: int | None = None, cwd: Path = tmp_path) -> Run:
        port = port or free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "run", cwd=cwd, env=run_env(port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)  # its own group, as a shell's foreground job
        runs.append(Run(proc, cwd / "var", port))
        return runs[-1]

    yield start
    for run in runs:
        if run.proc.returncode is None:
            run.proc.kill()
            await run.proc.wait()


def readme_second_terminal(cwd: Path) -> list[str]:
    """The commands README.md shows for a second terminal, with .venv/bin/taskproc in `cwd`
    pointing at this environment's console script."""
    text = (ROOT / "README.md").read_text()
    block = text.split("In a second terminal:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert commands[0] == ".venv/bin/taskproc user add alice"
    (cwd / ".venv" / "bin").mkdir(parents=True)
    (cwd / ".venv" / "bin" / "taskproc").symlink_to(Path(sys.executable).parent / "taskproc")
    return commands


def curl_examples(banner: str) -> list[list[str]]:
    return [shlex.split(line.strip()) for line in banner.splitlines()
            if line.strip().startswith("curl ")]


async def test_banner_after_everything_is_up_then_a_second_cli_and_ctrl_c(
        start_run: object, tmp_path: Path) -> None:
    run: Run = await start_run()  # type: ignore[operator]
    text = await run.until_banner()
    # the dispatcher took work before the banner; the port answers right away
    assert text.index("ready with providers") < text.index("taskproc is running on")
    record = run.record()
    assert record["api"] == f"http://127.0.0.1:{run.port}"
    for example in curl_examples(text)[:1]:  # tasktypes, exactly as printed
        proc = await asyncio.create_subprocess_exec(*example, "-sS", "-f",
                                                    stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert proc.returncode == 0 and json.loads(out)["ocs"]["meta"]["statuscode"] == 200

    # a second terminal in the same directory, no Redis setting: README's commands as written
    said = f"taskproc: Redis {record['redis_url']} (from var/run.json: `taskproc run`, pid " \
           f"{run.proc.pid})"
    outputs = []
    for command in readme_second_terminal(tmp_path):
        proc = await asyncio.create_subprocess_shell(
            command, cwd=tmp_path, env=clean_env(), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
        assert proc.returncode == 0, (command, err)
        assert err.decode().splitlines()[0] == said  # one line says which Redis
        outputs.append(out.decode())
    password = outputs[0].strip().rpartition("app password: ")[2]
    async with aiohttp.ClientSession() as http, http.get(
            f"{record['api']}/ocs/v2.php/cloud/user?format=json",
            headers=basic("alice", password)) as resp:
        assert resp.status == 200 and (await resp.json())["ocs"]["data"]["id"] == "alice"

    os.killpg(run.proc.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's foreground group
    async with asyncio.timeout(60):
        assert await run.proc.wait() == 0
    rest = await run.rest()
    assert "Traceback" not in rest
    assert not (run.var / "run.json").exists()
    for pid in (record["dispatcher_pid"], record["redis_pid"]):
        assert isinstance(pid, int) and not alive(pid), f"{pid} still running"


async def test_a_taken_port_is_one_line_naming_the_setting(start_run: object) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run: Run = await start_run(port)  # type: ignore[operator]
        async with asyncio.timeout(60):
            code = await run.proc.wait()
        output = await run.rest()
        assert code == 1
        assert output.splitlines() == [
            f"taskproc: cannot listen on 127.0.0.1:{port}: Address already in use; set "
            "TASKPROC_API_PORT to a free port"]
        assert not (run.var / "redis").exists()  # nothing was started before the bind
        for role, setting in (("api", "TASKPROC_API_PORT"),
                              ("fileproxy", "TASKPROC_FILEPROXY_PORT")):
            env = clean_env(TASKPROC_REDIS_URL="redis://127.0.0.1:1/0", **{setting: str(port)})
            code, out, err = await taskproc(ROOT, role, env=env)
            assert code == 1 and out == ""
            assert err.splitlines()[-1] == (f"taskproc: cannot listen on 127.0.0.1:{port}: "
                                            f"Address already in use; set {setting} to a "
                                            "free port")
            assert "Traceback" not in err


async def test_sigkill_of_run_leaves_nothing_running(start_run: object) -> None:
    run: Run = await start_run()  # type: ignore[operator]
    await run.until_banner()
    record = run.record()
    run.proc.kill()
    await run.proc.wait()
    pids = [p for p in (record["dispatcher_pid"], record["redis_pid"]) if isinstance(p, int)]
    assert len(pids) == 2

    async def all_gone() -> bool:
        return not any(alive(p) for p in pids)
    await until(all_gone, timeout=30)


async def test_a_left_over_run_json_or_data_is_an_error_not_the_default_redis(
        tmp_path: Path) -> None:
    (tmp_path / "var" / "redis").mkdir(parents=True)
    code, out, err = await taskproc(tmp_path, "user", "list")
    assert code == 1 and out == ""
    assert err.splitlines() == ["taskproc: `taskproc run` is not running (its data is in var/); "
                                "start it with `make run`, or set TASKPROC_REDIS_URL to the "
                                "Redis to use"]
    # elsewhere (no var/) the default is used, and said so (not connected to here)
    assert runfile.source({}, tmp_path / "nowhere").line == (
        "taskproc: Redis redis://127.0.0.1:6379/0 (the default; set TASKPROC_REDIS_URL to use "
        "another)")
    given = runfile.source({"REDIS_URL": "redis://:secret@10.0.0.5:6380/2"}, tmp_path / "var")
    assert given.line == "taskproc: Redis redis://:****@10.0.0.5:6380/2 (from REDIS_URL)"
    assert given.overrides == {}


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc), to check later that they are gone."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


async def test_ctrl_c_while_starting_stops_what_had_started(start_run: object) -> None:
    run: Run = await start_run()  # type: ignore[operator]
    assert run.proc.stdout is not None
    async with asyncio.timeout(60):  # the embedded Redis is up, the dispatcher is starting
        while b"starting the dispatcher" not in (line := await run.proc.stdout.readline()):
            assert line, "exited before starting the dispatcher"
    started = children(run.proc.pid)
    assert started  # the embedded Redis at least
    os.killpg(run.proc.pid, signal.SIGINT)
    async with asyncio.timeout(60):
        assert await run.proc.wait() == 0
    rest = await run.rest()
    assert "Traceback" not in rest and BANNER.decode() not in rest
    assert not (run.var / "run.json").exists()
    assert not [p for p in started if alive(p)]


async def test_unreachable_redis_setting_and_a_dead_dispatcher(start_run: object,
                                                              tmp_path: Path) -> None:
    env = run_env(free_port()) | {"TASKPROC_REDIS_URL": "redis://127.0.0.1:1/0"}
    code, out, err = await taskproc(tmp_path, "run", env=env)
    assert out == ""  # no banner
    assert code == 1 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(
        "taskproc: cannot reach Redis at redis://127.0.0.1:1/0 (from TASKPROC_REDIS_URL): ")
    # a dispatcher that dies while the run serves takes the run (and its Redis) down with it
    run: Run = await start_run()  # type: ignore[operator]
    await run.until_banner()
    record = run.record()
    assert isinstance(record["dispatcher_pid"], int) and isinstance(record["redis_pid"], int)
    os.kill(record["dispatcher_pid"], signal.SIGKILL)
    async with asyncio.timeout(60):
        assert await run.proc.wait() == 1
    rest = await run.rest()
    assert "Traceback" not in rest and "the dispatcher exited with -9; stopping" in rest
    assert not alive(record["redis_pid"])
