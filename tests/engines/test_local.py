"""local_providers(): offered providers, fallbacks and reasons."""

from __future__ import annotations

import pytest

from services.dispatcher.engines.local import CATALOGUE, candidates, local_providers
from services.dispatcher.provider_interface import Provider
from shared.settings import Settings


def test_every_task_type_has_one_provider_or_reasons() -> None:
    offered, skipped = local_providers(Settings())
    assert all(isinstance(p, Provider) for p in offered)
    by_type = [p.spec.task_type for p in offered]
    assert len(by_type) == len(set(by_type))
    reported = {pid for pid, _ in skipped} | {p.spec.id for p in offered}
    assert reported == {pid for task_type in CATALOGUE for pid, _ in candidates(task_type)}
    assert all(reason for _, reason in skipped)


def test_enabled_list_selects_fallbacks() -> None:
    settings = Settings(engines={"enabled": ["taskproc:summary:ots", "taskproc:nope"]})
    offered, skipped = local_providers(settings)
    if not offered:
        pytest.skip("ots not installed")
    assert [p.spec.id for p in offered] == ["taskproc:summary:ots"]
    reasons = dict(skipped)
    assert "unknown" in reasons["taskproc:nope"]
    assert "ENABLED" in reasons["taskproc:summary:sumy"]


def test_missing_engine_gives_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider module that cannot import its engine is reported, not raised."""
    import sys

    monkeypatch.setitem(sys.modules, "yake", None)  # makes `import yake` fail
    monkeypatch.setenv("PATH", "/nonexistent")  # and hides the ots binary
    _, skipped = local_providers(Settings(engines={"enabled": ["taskproc:topics:yake",
                                                               "taskproc:topics:ots"]}))
    reasons = dict(skipped)
    assert reasons["taskproc:topics:yake"] == "yake not installed"
    assert "ots not found" in reasons["taskproc:topics:ots"]
