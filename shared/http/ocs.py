"""The OCS protocol: response envelope (JSON/XML, v1/v2), format choice and request parameters
(Nextcloud's OCS BaseResponse, V1Response and V2Response).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import orjson
from aiohttp import web
from multidict import MultiMapping


def is_v1(request: web.Request) -> bool:
    return request.path.startswith("/ocs/v1.php/")


def wants_json(request: web.Request, params: dict[str, Any] | None = None) -> bool:
    """`format` parameter wins, then the first json/xml entry of Accept; XML by default."""
    fmt = (params or {}).get("format") or request.query.get("format")
    if isinstance(fmt, str) and fmt in ("json", "xml"):
        return fmt == "json"
    for part in request.headers.get("Accept", "").split(","):
        sub = part.split(";")[0].strip().removeprefix("application/")
        if sub in ("json", "xml"):
            return sub == "json"
    return False


def envelope(status: int, data: Any, v1: bool, message: str | None = None,
             ocs_code: int | None = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, envelope) with v1/v2 semantics: v1 answers HTTP 200 (401 for statuscode
    997) with statuscode 100 for OK; v2 answers the HTTP status and repeats it as statuscode."""
    if v1:
        code = ocs_code if ocs_code is not None else (100 if status == 200 else status)
        meta = _meta(code == 100, code, message) | _V1_PAGING
        http = 401 if code == 997 else 200
    else:
        meta = _meta(200 <= status < 300, status if ocs_code is None else ocs_code, message)
        http = status
    return http, {"ocs": {"meta": meta, "data": data}}


_V1_PAGING = {"totalitems": "", "itemsperpage": ""}
"""v1's meta ends with these (always empty here)."""


def _meta(ok: bool, code: int, message: str | None) -> dict[str, Any]:
    """status, statuscode and message; without a message, "OK" for success, else empty."""
    return {"status": "ok" if ok else "failure", "statuscode": code,
            "message": message if message is not None else ("OK" if ok else "")}


def render(request: web.Request, status: int, data: Any, *, message: str | None = None,
           ocs_code: int | None = None, headers: dict[str, str] | None = None,
           params: dict[str, Any] | None = None) -> web.Response:
    """An OCS response in the format the client asked for."""
    http, body = envelope(status, data, is_v1(request), message, ocs_code)
    if http in (204, 304):
        return web.Response(status=http, headers=headers)
    if wants_json(request, params):
        return web.Response(status=http, body=orjson.dumps(body), content_type="application/json",
                            charset="utf-8", headers=headers)
    return web.Response(status=http, body=to_xml(body).encode(), content_type="application/xml",
                        charset="utf-8", headers=headers)


def plain_json(status: int, message: str) -> web.Response:
    """The non-OCS 412 bodies of the security middleware."""
    return web.Response(status=status, body=orjson.dumps({"message": message}),
                        content_type="application/json", charset="utf-8")


_NAME_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
               "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
               "\U00010000-\U000effff")
_NAME = re.compile(f"[{_NAME_START}][{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot carry, even escaped: replaced by U+FFFD."""


def xml_text(v: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", v))


def _tag(k: Any) -> tuple[str, str]:
    """(element name, attributes): Nextcloud's key when it is an XML name without a colon,
    `element` for numeric keys (as Nextcloud), else `element key="…"` so nothing is lost."""
    key = str(k)
    if _NAME.fullmatch(key):
        return key, ""
    if isinstance(k, int) or key.isdigit():
        return "element", ""
    return "element", f' key="{xml_text(key).replace(chr(34), "&quot;")}"'


def _xml_scalar(v: Any) -> str:
    if v is None or v is False:
        return ""
    if v is True:
        return "1"
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))  # PHP writes 1.0 as "1"
    return xml_text(str(v))


def _xml(value: Any, depth: int) -> str:
    pad = " " * depth
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((0, v) for v in value)
    else:
        return _xml_scalar(value)
    parts = []
    for k, v in items:
        tag, attrs = _tag(k)
        if isinstance(v, (dict, list)) and v:
            parts.append(f"{pad}<{tag}{attrs}>\n{_xml(v, depth + 1)}{pad}</{tag}>\n")
        elif isinstance(v, (dict, list)) or v is None:
            parts.append(f"{pad}<{tag}{attrs}/>\n")
        else:
            parts.append(f"{pad}<{tag}{attrs}>{_xml_scalar(v)}</{tag}>\n")
    return "".join(parts)


def to_xml(body: dict[str, Any]) -> str:
    return '<?xml version="1.0"?>\n<ocs>\n' + _xml(body["ocs"], 1) + "</ocs>\n"


def php_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style parameters: `a[]=1&a[]=2` and `input[key]=v` become lists and maps."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        base, _, rest = key.partition("[")
        if not rest:
            out[key] = value
            continue
        path = [base, *[p.rstrip("]") for p in ("[" + rest).split("[")[1:]]]
        _assign(out, path, value)
    return out


def _assign(target: Any, path: list[str], value: str) -> None:
    for i, part in enumerate(path):
        last = i == len(path) - 1
        nxt: Any = value if last else ([] if path[i + 1] == "" else {})
        if isinstance(target, list):
            if part == "":
                target.append(nxt)
                target = target[-1]
                continue
            target = {str(j): v for j, v in enumerate(target)}
        if last:
            target[part] = value
        else:
            existing = target.get(part)
            if not isinstance(existing, (dict, list)):
                target[part] = nxt
            target = target[part]


def query_params(query: MultiMapping[str]) -> dict[str, Any]:
    return php_params(list(query.items()))


def form_params(body: bytes) -> dict[str, Any]:
    return php_params(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
