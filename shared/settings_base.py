"""The base of the nested settings models (`TASKPROC_<MODEL>__<FIELD>`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SettingsModel(BaseModel):
    """Frozen like the settings object; an unknown field (a misspelt variable) is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")
