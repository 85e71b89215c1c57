"""Settings of the bridge role: the Nextcloud it serves as an ExApp (`TASKPROC_BRIDGE__*`)."""

from __future__ import annotations

from pydantic import Field

from shared.settings_base import SettingsModel


class BridgeSettings(SettingsModel):
    """Where the Nextcloud is, who taskproc is there, and how hard to pull."""

    nextcloud_url: str = ""
    """Base URL of the Nextcloud (e.g. https://cloud.example.com); required by `taskproc bridge`."""
    app_id: str = "taskproc"
    """The ExApp id taskproc is registered under in AppAPI (`occ app_api:app:register`)."""
    app_version: str = "1.0.0"
    """The ExApp version sent in `EX-APP-VERSION` (as registered)."""
    app_secret: str = ""
    """The ExApp secret AppAPI generated or was given at registration (APP_SECRET)."""
    aa_version: str = "34.0.0"
    """AppAPI version sent in `AA-VERSION`."""
    host: str = "127.0.0.1"
    """Address the ExApp endpoints listen on (0.0.0.0 when Nextcloud runs on another host)."""
    port: int = 23000
    """Port of the ExApp endpoints AppAPI calls (heartbeat, init, enabled, trigger)."""
    task_types: list[str] = Field(default_factory=list)
    """Task types to serve; empty = every type taskproc has a local or OpenAI provider for."""
    batch: int = Field(default=8, ge=1, le=100)
    """Tasks claimed per `next_batch` call."""
    max_in_flight: int = Field(default=64, ge=1)
    """Nextcloud tasks the bridge holds at once (claimed, running locally or reporting)."""
    wait_seconds: float = Field(default=20.0, ge=0, le=30)
    """`wait` sent with next_batch: taskproc upstreams long-poll, Nextcloud ignores it."""
    idle_interval: float = Field(default=1.0, gt=0)
    """First pause after an empty answer from an upstream that does not long-poll."""
    idle_max_interval: float = Field(default=15.0, gt=0)
    """The pause doubles while idle up to this; a trigger call ends it at once."""
    lease_seconds: float = Field(default=15.0, gt=1)
    """How long a bridge replica owns a task without renewing; then another adopts it."""
    progress_interval: float = Field(default=2.0, gt=0)
    """How often a running task's progress (and cancellation) is checked with Nextcloud."""
    request_timeout: float = Field(default=60.0, gt=0)
    verify_tls: bool = True
    max_file_bytes: int = 2 * 1024 * 1024 * 1024
    """Largest input file taken from Nextcloud."""
