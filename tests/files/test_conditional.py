"""The pure decision of services.fileproxy.conditional (RFC 9110 §13, §14)."""

from __future__ import annotations

import pytest

from services.fileproxy.conditional import Plan, plan

ETAG = '"abc"'
MODIFIED = 1_700_000_000
DATE = "Tue, 14 Nov 2023 22:13:20 GMT"  # == MODIFIED
OLDER = "Tue, 14 Nov 2023 22:13:19 GMT"


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, Plan(200, 0, 1000)),
    ({"Range": "bytes=0-99"}, Plan(206, 0, 100)),
    ({"Range": "bytes=900-"}, Plan(206, 900, 100)),
    ({"Range": "bytes=900-5000"}, Plan(206, 900, 100)),
    ({"Range": "bytes=-100"}, Plan(206, 900, 100)),
    ({"Range": "bytes=-5000"}, Plan(206, 0, 1000)),
    ({"Range": "bytes=1000-"}, Plan(416)),
    ({"Range": "bytes=-0"}, Plan(416)),
    ({"Range": "bytes=5-2"}, Plan(200, 0, 1000)),
    ({"Range": "bytes=0-1,5-6"}, Plan(200, 0, 1000)),
    ({"Range": "items=0-1"}, Plan(200, 0, 1000)),
    ({"If-None-Match": ETAG}, Plan(304)),
    ({"If-None-Match": f'"x", W/{ETAG}'}, Plan(304)),
    ({"If-None-Match": "*"}, Plan(304)),
    ({"If-None-Match": '"other"', "Range": "bytes=0-0"}, Plan(206, 0, 1)),
    ({"If-Modified-Since": DATE}, Plan(304)),
    ({"If-Modified-Since": OLDER}, Plan(200, 0, 1000)),
    ({"If-None-Match": '"other"', "If-Modified-Since": DATE}, Plan(200, 0, 1000)),
    ({"If-Match": '"other"'}, Plan(412)),
    ({"If-Match": f"W/{ETAG}"}, Plan(412)),
    ({"If-Match": ETAG, "Range": "bytes=0-9"}, Plan(206, 0, 10)),
    ({"If-Unmodified-Since": OLDER}, Plan(412)),
    ({"If-Range": ETAG, "Range": "bytes=0-9"}, Plan(206, 0, 10)),
    ({"If-Range": '"stale"', "Range": "bytes=0-9"}, Plan(200, 0, 1000)),
    ({"If-Range": f"W/{ETAG}", "Range": "bytes=0-9"}, Plan(200, 0, 1000)),
    ({"If-Range": DATE, "Range": "bytes=0-9"}, Plan(206, 0, 10)),
    ({"If-Range": OLDER, "Range": "bytes=0-9"}, Plan(200, 0, 1000)),
    ({"If-Range": "garbage", "Range": "bytes=0-9"}, Plan(200, 0, 1000)),
])
def test_plan(headers: dict[str, str], expected: Plan) -> None:
    assert plan(headers, 1000, ETAG, MODIFIED) == expected


def test_empty_file() -> None:
    assert plan({}, 0, ETAG, MODIFIED) == Plan(200, 0, 0)
    assert plan({"Range": "bytes=0-"}, 0, ETAG, MODIFIED) == Plan(416)
    assert plan({"Range": "bytes=-5"}, 0, ETAG, MODIFIED) == Plan(416)
