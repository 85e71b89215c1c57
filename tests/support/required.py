"""Real-service tests skip locally when what they need is absent, but fail under CI (the CI
environment variable set), so CI can never pass by skipping (dramatiq's pattern)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it when CI is set."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)
