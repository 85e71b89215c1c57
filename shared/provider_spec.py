"""Provider declarations as stored in Redis and shown in `/tasktypes`.

A `ProviderSpec` is what a provider declares about itself: which task type it serves, its
expected runtime and the optional slots, enum values and defaults it adds to that type. Local
engines in the dispatcher and external ExApp providers use the same record; `kind` tells them
apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from shared.shapes import Defaults, EnumValues, ShapeMap, shapes_from_json, shapes_to_json

ProviderKind = Literal["local", "exapp"]


@dataclass(frozen=True)
class ProviderSpec:
    """What a provider declares. Field names follow nc_py_api's `TaskProcessingProvider`."""

    id: str
    name: str
    task_type: str
    expected_runtime: int = 60
    optional_input_shape: ShapeMap = field(default_factory=dict)
    optional_output_shape: ShapeMap = field(default_factory=dict)
    input_shape_enum_values: EnumValues = field(default_factory=dict)
    input_shape_defaults: Defaults = field(default_factory=dict)
    optional_input_shape_enum_values: EnumValues = field(default_factory=dict)
    optional_input_shape_defaults: Defaults = field(default_factory=dict)
    output_shape_enum_values: EnumValues = field(default_factory=dict)
    optional_output_shape_enum_values: EnumValues = field(default_factory=dict)
    kind: ProviderKind = "local"
    app_id: str = ""
    language_pairs: tuple[tuple[str, str], ...] = ()
    """A translate provider's (origin, target) pairs, when not every pairing of its enums
    works: another pair is refused at schedule time (400), not failed later."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "task_type": self.task_type,
            "expected_runtime": self.expected_runtime,
            "optional_input_shape": shapes_to_json(self.optional_input_shape),
            "optional_output_shape": shapes_to_json(self.optional_output_shape),
            "input_shape_enum_values": self.input_shape_enum_values,
            "input_shape_defaults": self.input_shape_defaults,
            "optional_input_shape_enum_values": self.optional_input_shape_enum_values,
            "optional_input_shape_defaults": self.optional_input_shape_defaults,
            "output_shape_enum_values": self.output_shape_enum_values,
            "optional_output_shape_enum_values": self.optional_output_shape_enum_values,
            "kind": self.kind, "app_id": self.app_id,
            "language_pairs": [list(p) for p in self.language_pairs],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProviderSpec:
        return cls(
            id=str(d["id"]), name=str(d.get("name") or d["id"]), task_type=str(d["task_type"]),
            expected_runtime=int(d.get("expected_runtime") or 60),
            optional_input_shape=shapes_from_json(d.get("optional_input_shape")),
            optional_output_shape=shapes_from_json(d.get("optional_output_shape")),
            input_shape_enum_values=_enums(d.get("input_shape_enum_values")),
            input_shape_defaults=_defaults(d.get("input_shape_defaults")),
            optional_input_shape_enum_values=_enums(d.get("optional_input_shape_enum_values")),
            optional_input_shape_defaults=_defaults(d.get("optional_input_shape_defaults")),
            output_shape_enum_values=_enums(d.get("output_shape_enum_values")),
            optional_output_shape_enum_values=_enums(d.get("optional_output_shape_enum_values")),
            kind="exapp" if d.get("kind") == "exapp" else "local",
            app_id=str(d.get("app_id") or ""),
            language_pairs=tuple((str(p[0]), str(p[1])) for p in d.get("language_pairs") or ()
                                 if isinstance(p, (list, tuple)) and len(p) == 2),
        )

    def with_kind(self, kind: ProviderKind, app_id: str = "") -> ProviderSpec:
        return replace(self, kind=kind, app_id=app_id)


def _enums(v: Any) -> EnumValues:
    if not v:
        return {}
    return {str(k): [{"name": str(e["name"]), "value": str(e["value"])} for e in vals]
            for k, vals in dict(v).items()}


def _defaults(v: Any) -> Defaults:
    if not v:
        return {}
    return {str(k): val for k, val in dict(v).items()
            if isinstance(val, (str, int, float)) and not isinstance(val, bool)}
