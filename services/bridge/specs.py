"""Which task types the bridge serves, and the provider it registers in Nextcloud for each.

A type is served when taskproc itself runs it (a local engine or an OpenAI-compatible backend,
not an ExApp of taskproc's) and Nextcloud knows it (a core type). The registration carries the
local provider's optional slots, enum values and defaults, in nc_py_api's wire format.
"""

from __future__ import annotations

from typing import Any

from shared.provider_spec import ProviderSpec
from shared.registry import Snapshot
from shared.settings_bridge import BridgeSettings
from shared.shapes import CORE_TASK_TYPES, ShapeMap


def served(snap: Snapshot, bs: BridgeSettings) -> dict[str, ProviderSpec]:
    """task type -> the local provider that will run the bridged tasks of that type."""
    wanted = set(bs.task_types) if bs.task_types else None
    out: dict[str, ProviderSpec] = {}
    for spec in sorted(snap.providers.values(), key=lambda s: s.id):
        if spec.kind == "exapp" or spec.task_type not in CORE_TASK_TYPES:
            continue
        if wanted is not None and spec.task_type not in wanted:
            continue
        preferred = snap.preferred(spec.task_type)
        if preferred is not None and preferred.kind != "exapp":
            out[spec.task_type] = preferred
        else:
            out.setdefault(spec.task_type, spec)
    return out


def provider_id(bs: BridgeSettings, task_type: str) -> str:
    return f"{bs.app_id}-{task_type}"


def _shapes(shapes: ShapeMap) -> list[dict[str, Any]]:
    return [{"name": slot, "description": s.description, "shape_type": int(s.type)}
            for slot, s in shapes.items()]


def registration(bs: BridgeSettings, spec: ProviderSpec) -> dict[str, Any]:
    """The `provider` object of AppAPI's registration call."""
    return {
        "id": provider_id(bs, spec.task_type),
        "name": f"taskproc: {spec.name}",
        "task_type": spec.task_type,
        "expected_runtime": spec.expected_runtime,
        "optional_input_shape": _shapes(spec.optional_input_shape),
        "optional_output_shape": _shapes(spec.optional_output_shape),
        "input_shape_enum_values": spec.input_shape_enum_values,
        "input_shape_defaults": spec.input_shape_defaults,
        "optional_input_shape_enum_values": spec.optional_input_shape_enum_values,
        "optional_input_shape_defaults": spec.optional_input_shape_defaults,
        "output_shape_enum_values": spec.output_shape_enum_values,
        "optional_output_shape_enum_values": spec.optional_output_shape_enum_values,
    }
