"""The OpenAPI 3.1 document of taskproc's whole HTTP API, generated from the route tables.

Every route the api and the fileproxy serve (Nextcloud's TaskProcessing OCS routes under
`/ocs/v2.php/taskprocessing`, the AppAPI and cloud routes, taskproc's own: uploads, queue
figures, probes) is documented with its access rule (`x-taskproc-access`) and, where the answer
is an OCS envelope, the schema of `ocs.data` as Nextcloud 34 sends it (its core openapi.json
names: TaskProcessingTask, TaskProcessingTaskType, TaskProcessingShape). Each route is served
under `/ocs/v1.php/...` too (v1 status semantics), not repeated here.

The document is kept in the repository as `shared/openapi.json` (served by the api at
`/openapi.json`); `python -m services.openapi` writes it again and a test fails when it is out
of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import orjson

from services.api.app import CLOUD_ROUTES, TASKPROCESSING_ROUTES
from services.api.appapi import APPAPI_ROUTES
from services.api.docs import DOC_ROUTES
from services.fileproxy.app import FILE_ROUTES
from services.openapi_schemas import (
    COMPONENTS,
    DATA,
    ERRORS,
    REQUEST_BODIES,
    SUMMARIES,
    ref,
)
from shared.http.probes import PROBE_ROUTES
from shared.http.routes import OCS_PREFIXES, TP_PREFIXES, Access, Route

OUT = Path(__file__).resolve().parents[1] / "shared" / "openapi.json"
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_INT_PARAMS = {"id", "taskId", "fileId"}
_SECURITY = {
    Access.USER: [{"basic": []}, {"bearer": []}, {"appapi": []}],
    Access.GUEST_OK: [{"basic": []}, {"bearer": []}, {"appapi": []}, {}],
    Access.PUBLIC: [{}],
    Access.EXAPP: [{"appapi": []}],
    Access.APPAPI: [{"appapi": []}],
    Access.ADMIN: [{"basic": []}, {"bearer": []}],
}


def all_routes() -> list[tuple[str, Route]]:
    """(path prefix, route) of every route both HTTP roles serve, v2 only."""
    out = [(TP_PREFIXES[0], r) for r in TASKPROCESSING_ROUTES + FILE_ROUTES]
    out += [(OCS_PREFIXES[0], r) for r in CLOUD_ROUTES + APPAPI_ROUTES]
    out += [("", Route("GET", path, handler, Access.PUBLIC, csrf=False))
            for path, handler in PROBE_ROUTES] + [("", r) for r in DOC_ROUTES]
    return out


def template(prefix: str, route: Route) -> str:
    """The OpenAPI path template: aiohttp's `{name:regex}` becomes `{name}`."""
    return _PARAM.sub(r"{\1}", prefix + route.path)


def _parameters(path: str, route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 0} if n in _INT_PARAMS else
         {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}}
        for n in _PARAM.findall(path)]
    if route.csrf and route.access not in (Access.PUBLIC, Access.EXAPP, Access.APPAPI):
        params.append({"name": "OCS-APIRequest", "in": "header", "required": True,
                       "schema": {"type": "string", "enum": ["true"]}})
    params.append({"name": "format", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": ["json", "xml"]}})
    return params


def _operation(prefix: str, route: Route) -> dict[str, Any]:
    name = route.handler.__name__
    key = f"{route.method} {template('', route) if prefix else route.path}"
    data = DATA.get(key, DATA.get(name, {}))
    success = "201" if name.endswith("_upload") else "200"
    slug = re.sub(r"\W+", "_", template(prefix, route)).strip("_")
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{slug}",
        "summary": SUMMARIES.get(key, SUMMARIES.get(name, name.replace("_", " "))),
        "x-taskproc-access": route.access.value,
        "security": _SECURITY[route.access],
        "parameters": _parameters(route.path, route),
        "responses": {success: data if "content" in data else ocs_response(data)} | ERRORS,
    }
    body = REQUEST_BODIES.get(key, REQUEST_BODIES.get(name))
    if body is not None and route.method in ("POST", "DELETE"):
        op["requestBody"] = body
    return op


def ocs_response(data_schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "An OCS envelope", "content": {
        "application/json": {"schema": {
            "type": "object", "required": ["ocs"], "properties": {"ocs": {
                "type": "object", "required": ["meta", "data"],
                "properties": {"meta": ref("OCSMeta"), "data": data_schema}}}}},
        "application/xml": {"schema": {"type": "string"}}}}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for prefix, route in all_routes():
        path = template(prefix, route)
        paths.setdefault(path, {})[route.method.lower()] = _operation(prefix, route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "taskproc", "version": "1",
                 "description": (__doc__ or "").split("\n\n")[1].replace("\n", " ")},
        "paths": dict(sorted(paths.items())),
        "components": COMPONENTS,
    }


def render() -> bytes:
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main() -> int:
    OUT.write_bytes(render())
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
