"""Input and output validation with Nextcloud's rules and messages (its TaskProcessing
Manager::validateInput and setTaskResult)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from shared.errors import BadRequest
from shared.provider_spec import ProviderSpec
from shared.shapes import EnumValues, ShapeMap, ShapeType, TaskType

_NUMERIC = re.compile(r"^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$")
OUTPUT_INVALID_MESSAGE = (
    "The task was processed successfully but the provider's output doesn't pass validation "
    "against the task type's outputShape spec and/or the provider's own optionalOutputShape spec")

_NOUN = {ShapeType.Image: "image", ShapeType.Audio: "audio", ShapeType.Video: "video",
         ShapeType.File: "file", ShapeType.Text: "text", ShapeType.Number: "numeric",
         ShapeType.Enum: "text"}


def is_numeric(v: object) -> bool:
    """PHP's is_numeric: ints, floats and numeric strings (not booleans)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return isinstance(v, str) and bool(_NUMERIC.match(v))


def _check_scalar(t: ShapeType, v: object) -> bool:
    if t in (ShapeType.Text, ShapeType.Enum):
        return isinstance(v, str)
    return is_numeric(v)  # Number, and file ids for Image/Audio/Video/File


def check_value(slot: str, t: ShapeType, value: object) -> Any:
    """Validate one slot value; returns it normalised (file ids as ints)."""
    scalar = t.scalar
    if t.is_list:
        ok = isinstance(value, list) and all(_check_scalar(scalar, v) for v in value)
        what = f"Non-{_NOUN[scalar]} list item provided for {t.name} slot"
    else:
        ok = _check_scalar(scalar, value)
        what = f"Non-{_NOUN[scalar]} item provided for {t.name} slot"
    if not ok:
        raise BadRequest(f'Failed to validate input key "{slot}": {what}')
    if t.is_file:
        return [int(float(v)) for v in value] if t.is_list else int(float(value))  # type: ignore
    return value


def _check_enum(slot: str, value: Any, enums: EnumValues) -> None:
    allowed = enums.get(slot)
    if not allowed:
        raise BadRequest(f'Failed to validate input key "{slot}": '
                         "No enum values provided for enum slot")
    if value not in [e["value"] for e in allowed]:
        raise BadRequest(f'Failed to validate input key "{slot}": '
                         "Provided value is not one of the enum values")


def _validate_shape(data: dict[str, Any], shape: ShapeMap, enums: EnumValues,
                    mandatory: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for slot, desc in shape.items():
        value = data.get(slot)
        if value is None:
            if mandatory:
                raise BadRequest(f'Missing key: "{slot}"')
            continue
        out[slot] = check_value(slot, desc.type, value)
        if desc.type is ShapeType.Enum:
            _check_enum(slot, value, enums)
    return out


def validate_input(tt: TaskType, spec: ProviderSpec, data: object) -> dict[str, Any]:
    """Apply defaults, check every slot, drop unknown keys; raise BadRequest on failure."""
    if not isinstance(data, dict):
        raise BadRequest('Missing key: "input"' if data in (None, "", []) else
                         "The input must be an object of slot names to values")
    merged = {k: v for k, v in data.items() if v is not None}
    for defaults in (spec.input_shape_defaults, spec.optional_input_shape_defaults):
        for slot, value in defaults.items():
            merged.setdefault(slot, value)
    out = _validate_shape(merged, tt.input_shape, spec.input_shape_enum_values, True)
    out |= _validate_shape(merged, spec.optional_input_shape,
                           spec.optional_input_shape_enum_values, False)
    _check_language_pair(spec, out)
    return out


def _check_language_pair(spec: ProviderSpec, inputs: dict[str, Any]) -> None:
    pair = (inputs.get("origin_language"), inputs.get("target_language"))
    if spec.language_pairs and pair not in spec.language_pairs:
        offered = ", ".join(f"{a}→{b}" for a, b in spec.language_pairs)
        raise BadRequest(f"Translation from {pair[0]} to {pair[1]} is not available. "
                         f"Available: {offered}.")


def validate_output(tt: TaskType, spec: ProviderSpec, data: object) -> dict[str, Any]:
    """Check a provider's output map; raise BadRequest (OUTPUT_INVALID_MESSAGE) on failure."""
    if not isinstance(data, dict):
        raise BadRequest(OUTPUT_INVALID_MESSAGE)
    try:
        out = _validate_shape(data, tt.output_shape, spec.output_shape_enum_values, True)
        out |= _validate_shape(data, spec.optional_output_shape,
                               spec.optional_output_shape_enum_values, False)
    except BadRequest as exc:
        raise BadRequest(OUTPUT_INVALID_MESSAGE) from exc
    return out


def file_ids(shapes: Iterable[ShapeMap], data: dict[str, Any]) -> list[int]:
    """Every file id referenced by file slots of `data` (all list slots, unlike Nextcloud)."""
    ids: list[int] = []
    for shape in shapes:
        for slot, desc in shape.items():
            if desc.type.is_file and slot in data and data[slot] is not None:
                v = data[slot]
                ids.extend(int(x) for x in (v if isinstance(v, list) else [v]))
    return ids


def input_file_ids(tt: TaskType, spec: ProviderSpec, inputs: dict[str, Any]) -> list[int]:
    return file_ids((tt.input_shape, spec.optional_input_shape), inputs)


def output_file_ids(tt: TaskType, spec: ProviderSpec, output: dict[str, Any]) -> list[int]:
    return file_ids((tt.output_shape, spec.optional_output_shape), output)
