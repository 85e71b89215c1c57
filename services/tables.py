"""Readable plain-text tables for the CLI: aligned columns, numbers to the right, long values cut
(with `--json` on the command for everything). No colours, so the output pastes anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from shared.tasks import Task

TIME_FIELDS = ("scheduledAt", "startedAt", "endedAt", "lastUpdated", "completionExpectedAt")
WIDEST = 100
"""Longest value shown in a cell; longer ones end with how much was cut."""


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def cut(text: str, width: int = WIDEST) -> str:
    text = text.replace("\n", "\\n")
    if len(text) <= width:
        return text
    return f"{text[:width]}… (+{len(text) - width} chars)"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns two spaces apart under a header and a rule; numeric columns right-aligned."""
    body = [list(r) for r in rows]
    right = _numeric_columns(body, len(headers))
    cells = [list(headers), *([cut(_text(c)) for c in r] for r in body)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [_row(cells[0], widths, right), _row(["-" * w for w in widths], widths, right)]
    lines += [_row(r, widths, right) for r in cells[1:]]
    return "\n".join(lines)


def _numeric_columns(body: list[list[object]], columns: int) -> list[bool]:
    """Which columns hold only numbers (none do in an empty table)."""
    return [bool(body) and all(_numeric(r[i]) for r in body) for i in range(columns)]


def _text(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _row(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    return "  ".join(c.rjust(w) if r else c.ljust(w)
                     for c, w, r in zip(cells, widths, right, strict=True)).rstrip()


def when(unix: str) -> str:
    """A stored unix time as local date and time (the raw number kept beside it)."""
    try:
        seconds = int(unix)
    except ValueError:
        return unix
    if seconds <= 0:
        return unix
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(seconds))} ({seconds})"


def task_fields(task: Task) -> str:
    """Every stored field of a task as a field/value table, times readable."""
    rows = [(name, when(value) if name in TIME_FIELDS else value)
            for name, value in sorted(task.raw.items())]
    return table(("field", "value"), rows)
