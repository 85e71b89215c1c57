"""Settings from the environment (pydantic-settings): names, nesting, JSON, the REDIS_URL alias,
and one clear line naming the variable when a value is bad, also from a real `taskproc` process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import Settings, SettingsInvalid

ROOT = Path(__file__).resolve().parents[2]


def test_plain_nested_and_json_values() -> None:
    s = Settings.from_env({
        "TASKPROC_API_PORT": "8181", "TASKPROC_GUESTS": "true", "TASKPROC_FILES_DIR": "/srv/f",
        "TASKPROC_REDIS_SENTINELS": '["s1:26379", "s2:26379"]',
        "TASKPROC_PROVIDER_PREFERENCES": '{"core:text2text": "llm2"}',
        "TASKPROC_ENGINES__THREADS": "4", "TASKPROC_ENGINES__ENABLED": '["local:summary"]',
        "TASKPROC_RATE_LIMITS__SCHEDULE_USER": "",  # empty string = that cap is off
        "TASKPROC_OPENAI__TASK_TYPES": '{"core:audio2text": {"model": "whisper-1"}}',
        "TASKPROC_OPENAI__API_KEY": "sk-test", "PATH": "/usr/bin",
    })
    assert (s.api_port, s.guests, s.files_dir) == (8181, True, Path("/srv/f"))
    assert s.redis_sentinels == ["s1:26379", "s2:26379"]
    assert s.provider_preferences == {"core:text2text": "llm2"}
    assert s.engines.threads == 4 and s.engines.enabled == ["local:summary"]
    assert s.engines.concurrency == 1  # untouched nested fields keep their defaults
    assert s.rate_limits.schedule_user == "" and s.rate_limits.schedule_guest == "5/2 minutes"
    assert s.openai.task_types["core:audio2text"].model == "whisper-1"
    assert s.openai.api_key is not None and s.openai.api_key.get_secret_value() == "sk-test"


def test_redis_url_alias_and_precedence() -> None:
    assert Settings.from_env({"REDIS_URL": "redis://a:1/0"}).redis_url == "redis://a:1/0"
    both = {"REDIS_URL": "redis://a:1/0", "TASKPROC_REDIS_URL": "redis://b:2/0"}
    assert Settings.from_env(both).redis_url == "redis://b:2/0"
    assert Settings.from_env({"REDIS_URL": ""}).redis_url == "redis://127.0.0.1:6379/0"
    # keyword overrides win over the environment
    s = Settings.from_env(both, redis_url="redis://c:3/0", api_port=1)
    assert (s.redis_url, s.api_port) == ("redis://c:3/0", 1)


def test_constructor_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKPROC_API_PORT", "1234")
    assert Settings().api_port == 8080
    assert Settings.from_env().api_port == 1234


@pytest.mark.parametrize(("env", "line"), [
    ({"TASKPROC_API_PORT": "eighty"}, "TASKPROC_API_PORT: Input should be a valid integer"),
    ({"TASKPROC_ENGINES__THREADS": "0"}, "TASKPROC_ENGINES__THREADS: Input should be greater"),
    ({"TASKPROC_ENGINES__THREDS": "2"}, "TASKPROC_ENGINES__THREDS: Extra inputs are not"),
    ({"TASKPROC_API_PROT": "1"}, "TASKPROC_API_PROT: not a taskproc setting"),
    ({"TASKPROC_REDIS_SENTINELS": "s1:26379,s2:26379"}, "TASKPROC_REDIS_SENTINELS: not valid JSON"),
    ({"TASKPROC_OPENAI__TASK_TYPES": "{core:audio2text}", "TASKPROC_OPENAI__MODEL": "m"},
     "TASKPROC_OPENAI__TASK_TYPES: not valid JSON"),
])
def test_a_bad_value_names_its_variable(env: dict[str, str], line: str) -> None:
    with pytest.raises(SettingsInvalid) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(line) and "\n" not in str(caught.value)


def test_secret_values_are_not_echoed() -> None:
    with pytest.raises(SettingsInvalid) as caught:
        Settings.from_env({"TASKPROC_OPENAI__API_KEY": "sk-hidden",
                           "TASKPROC_OPENAI__MAX_RETRIES": "sk-also-hidden"})
    assert "TASKPROC_OPENAI__MAX_RETRIES" in str(caught.value)
    assert "hidden" not in str(caught.value)


@pytest.mark.parametrize("role", ["api", "dispatcher", "user"])
def test_a_real_process_prints_one_line_and_exits_non_zero(role: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKPROC_", "REDIS_"))}
    env["TASKPROC_API_PORT"] = "not-a-port"
    args = [role, "list"] if role == "user" else [role]
    proc = subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "taskproc: TASKPROC_API_PORT: Input should be a valid integer, unable to parse string "
        "as an integer"]
    assert proc.stdout == ""


@pytest.mark.parametrize("role", ["api", "fileproxy", "run"])
def test_a_rate_limit_limits_cannot_read_is_one_line(role: str) -> None:
    """Before, `limits` raised at start-up with a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKPROC_", "REDIS_"))}
    env["TASKPROC_RATE_LIMITS__SCHEDULE_USER"] = "20 per banana"
    proc = subprocess.run([sys.executable, "-m", "services.cli", role], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "taskproc: TASKPROC_RATE_LIMITS__SCHEDULE_USER: '20 per banana' is not a rate limit "
        "such as '20/2 minutes' or '5 per minute'"]
