"""Conditional and range requests on a stored file (RFC 9110 §13 and §14), as one pure function.

aiohttp's FileResponse compares If-Range only as a date, so a stale ETag in If-Range still gets
a partial response; here an ETag in If-Range must match strongly, and a
date must equal Last-Modified, or the whole file is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

_ETAG = re.compile(r'(W/)?"[^"]*"')
_RANGE = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Plan:
    """What to send: a status, and the byte span of the file for 200/206."""

    status: int
    start: int = 0
    length: int = 0

    @property
    def has_body(self) -> bool:
        return self.status in (200, 206) and self.length > 0


def _tags(header: str) -> list[tuple[bool, str]]:
    """(weak, opaque tag) for each entity tag of an If-Match / If-None-Match list."""
    return [(m.group(1) is not None, m.group(0).removeprefix("W/"))
            for m in _ETAG.finditer(header)]


def _matches(header: str, etag: str, *, weak: bool) -> bool:
    if header.strip() == "*":
        return True
    return any(tag == etag and (weak or not is_weak) for is_weak, tag in _tags(header))


def _date(value: str) -> int | None:
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        return None


def _precondition(h: Mapping[str, str], etag: str, modified: int) -> int | None:
    """412 or 304 from If-Match / If-Unmodified-Since / If-None-Match / If-Modified-Since."""
    if "If-Match" in h:
        if not _matches(h["If-Match"], etag, weak=False):
            return 412
    elif (since := _date(h.get("If-Unmodified-Since", ""))) is not None and modified > since:
        return 412
    if "If-None-Match" in h:
        return 304 if _matches(h["If-None-Match"], etag, weak=True) else None
    if (since := _date(h.get("If-Modified-Since", ""))) is not None and modified <= since:
        return 304
    return None


def _if_range_holds(value: str, etag: str, modified: int) -> bool:
    """A strong ETag match, or a date equal to Last-Modified; anything else fails."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag
    return _date(value) == modified


def _span(header: str, size: int) -> tuple[int, int] | bool | None:
    """(start, length) of one range; None to ignore the header; False if unsatisfiable."""
    m = _RANGE.match(header)
    if m is None:
        return None  # malformed or several ranges: RFC 9110 lets us send the whole file
    first, last = m.group(1), m.group(2)
    if first == "":
        return _suffix(last, size)
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        return False
    end = size - 1 if last == "" else min(int(last), size - 1)
    return start, end - start + 1


def _suffix(last: str, size: int) -> tuple[int, int] | bool | None:
    """`bytes=-N`: the last N bytes; `bytes=-` is ignored, `-0` or an empty file unsatisfiable."""
    if last == "":
        return None
    if int(last) == 0 or size == 0:
        return False
    n = min(int(last), size)
    return size - n, n


def plan(headers: Mapping[str, str], size: int, etag: str, modified: int) -> Plan:
    """Decide the response to a GET or HEAD of a file of `size` bytes."""
    status = _precondition(headers, etag, modified)
    if status is not None:
        return Plan(status)
    rng = headers.get("Range")
    if rng is None or ("If-Range" in headers
                       and not _if_range_holds(headers["If-Range"], etag, modified)):
        return Plan(200, 0, size)
    span = _span(rng, size)
    if span is None:
        return Plan(200, 0, size)
    if not isinstance(span, tuple):
        return Plan(416)
    return Plan(206, span[0], span[1])
