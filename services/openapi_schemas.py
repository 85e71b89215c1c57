"""The schemas of services/openapi.py: Nextcloud 34's component names for tasks, task types
and shapes, and per handler the `ocs.data` of a success, its summary and its request body."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


_NULL_INT = {"type": ["integer", "null"]}
_MAP = {"type": "object", "additionalProperties": True}
STATUSES = ["STATUS_UNKNOWN", "STATUS_SCHEDULED", "STATUS_RUNNING", "STATUS_SUCCESSFUL",
            "STATUS_FAILED", "STATUS_CANCELLED"]

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "basic": {"type": "http", "scheme": "basic",
                  "description": "user:app-password (wrong credentials: 401)"},
        "bearer": {"type": "http", "scheme": "bearer"},
        "appapi": {"type": "apiKey", "in": "header", "name": "AUTHORIZATION-APP-API",
                   "description": "AppAPI: base64(user:secret) with EX-APP-ID, "
                                  "EX-APP-VERSION and AA-VERSION headers"},
    },
    "schemas": {
        "OCSMeta": {"type": "object", "required": ["status", "statuscode"], "properties": {
            "status": {"type": "string"}, "statuscode": {"type": "integer"},
            "message": {"type": "string"}, "totalitems": {"type": "string"},
            "itemsperpage": {"type": "string"}}},
        "TaskProcessingShape": _obj({"name": {"type": "string"},
                                     "description": {"type": "string"},
                                     "type": {"type": "string"}}),
        "TaskProcessingTaskType": _obj({
            "name": {"type": "string"}, "description": {"type": "string"},
            "inputShape": {"type": "object",
                           "additionalProperties": ref("TaskProcessingShape")},
            "inputShapeEnumValues": {"type": ["object", "array"]},
            "inputShapeDefaults": {"type": ["object", "array"]},
            "optionalInputShape": {"type": "object",
                                   "additionalProperties": ref("TaskProcessingShape")},
            "optionalInputShapeEnumValues": {"type": ["object", "array"]},
            "optionalInputShapeDefaults": {"type": ["object", "array"]},
            "outputShape": {"type": "object",
                            "additionalProperties": ref("TaskProcessingShape")},
            "outputShapeEnumValues": {"type": ["object", "array"]},
            "optionalOutputShape": {"type": "object",
                                    "additionalProperties": ref("TaskProcessingShape")},
            "optionalOutputShapeEnumValues": {"type": ["object", "array"]},
            "isInternal": {"type": "boolean"}}),
        "TaskProcessingTask": _obj({
            "id": {"type": "integer"}, "type": {"type": "string"},
            "lastUpdated": {"type": "integer"}, "status": {"type": "string", "enum": STATUSES},
            "userId": {"type": ["string", "null"]}, "appId": {"type": "string"},
            "input": {"type": ["object", "array"]},
            "output": {"type": ["object", "array", "null"]},
            "customId": {"type": ["string", "null"]}, "completionExpectedAt": _NULL_INT,
            "progress": {"type": ["number", "null"]}, "scheduledAt": _NULL_INT,
            "startedAt": _NULL_INT, "endedAt": _NULL_INT, "allowCleanup": {"type": "boolean"},
            "includeWatermark": {"type": "boolean"},
            "userFacingErrorMessage": {"type": ["string", "null"]}}),
        "Message": _obj({"message": {"type": "string"}}),
    },
}

_TASK = _obj({"task": ref("TaskProcessingTask")})
_TASKS = _obj({"tasks": {"type": "array", "items": ref("TaskProcessingTask")}})
_JSON_OK = {"description": "OK", "content": {"application/json": {"schema": _MAP}}}
_FILE = {"description": "The file's bytes", "content": {
    "*/*": {"schema": {"type": "string", "format": "binary"}}}}

DATA: dict[str, Any] = {
    "tasktypes": _obj({"types": {"type": ["object", "array"], "additionalProperties": ref(
        "TaskProcessingTaskType")}}),
    "schedule": _TASK, "get_task": _TASK, "cancel_task": _TASK, "set_progress": _TASK,
    "set_result": _TASK, "delete_task": {"type": "null"},
    "list_tasks": _TASKS, "list_app_tasks": _TASKS,
    "next_task": {"type": ["object", "null"]},
    "next_batch": _obj({"tasks": {"type": "array"}, "has_more": {"type": "boolean"}}),
    "queue_stats": _obj({"scheduled_count": {"type": "integer"},
                         "running_count": {"type": "integer"}}),
    "queue_position": _obj({"position": {"type": "integer"}}),
    "capabilities": _MAP, "current_user": _MAP,
    "register_provider": {"type": "array"}, "unregister_provider": {"type": "array"},
    "exapp_log_message": {"type": "array"},
    "user_upload": {"description": "Stored", "content": {"application/json": {"schema": _obj(
        {"ocs": _obj({"meta": ref("OCSMeta"), "data": _obj({"fileId": {"type": "integer"}})})}
    )}, "application/xml": {"schema": {"type": "string"}}}},
    "user_file": _FILE, "provider_file": _FILE,
    "metrics": {"description": "Prometheus text", "content": {
        "text/plain": {"schema": {"type": "string"}}}},
    "healthz": _JSON_OK, "readyz": _JSON_OK, "openapi_document": _JSON_OK,
}
DATA["provider_upload"] = DATA["user_upload"]

SUMMARIES: dict[str, str] = {
    "tasktypes": "Available task types with their shapes",
    "schedule": "Schedule a task (rate limited; 503 with Retry-After when the queue is full)",
    "get_task": "A task of the caller", "delete_task": "Delete a task of the caller",
    "cancel_task": "Cancel a task of the caller",
    "list_tasks": "The caller's newest tasks (extension: limit, offset)",
    "list_app_tasks": "The caller's newest tasks of an app (extension: limit, offset)",
    "next_task": "A provider claims the next task", "next_batch": "A provider claims tasks",
    "set_progress": "A provider reports progress", "set_result": "A provider reports a result",
    "queue_stats": "Scheduled and running counts (admin)",
    "queue_position": "Place of a scheduled task in its queue",
    "capabilities": "Server capabilities", "current_user": "The signed-in user",
    "register_provider": "AppAPI: declare a provider (and custom task type)",
    "unregister_provider": "AppAPI: withdraw a provider",
    "exapp_log_message": "AppAPI: an ExApp's log line",
    "user_upload": "Upload an input file (extension)",
    "provider_upload": "A provider uploads an output file",
    "user_file": "Download a file of a task of the caller",
    "provider_file": "A provider downloads an input file",
    "metrics": "Prometheus metrics", "healthz": "Liveness", "readyz": "Readiness",
    "openapi_document": "This document",
}

_SCHEDULE_BODY = _obj({
    "type": {"type": "string"}, "appId": {"type": "string", "maxLength": 32},
    "input": _MAP, "customId": {"type": "string", "maxLength": 255},
    "webhookUri": {"type": "string", "maxLength": 4000},
    "webhookMethod": {"type": "string", "maxLength": 64},
    "includeWatermark": {"type": "boolean"}}, ["type", "appId", "input"])


def _json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


REQUEST_BODIES: dict[str, Any] = {
    "schedule": _json_body(_SCHEDULE_BODY),
    "set_progress": _json_body(_obj({"progress": {"type": "number"}})),
    "set_result": _json_body(_obj({"output": {"type": ["object", "null"]},
                                   "errorMessage": {"type": ["string", "null"]},
                                   "userFacingErrorMessage": {"type": ["string", "null"]}},
                                  [])),
    "register_provider": _json_body(_obj({"provider": _MAP, "customTaskType": _MAP},
                                         ["provider"])),
    "unregister_provider": _json_body(_obj({"providerId": {"type": "string"}}), False),
    "exapp_log_message": _json_body(_obj({"level": {"type": "integer"},
                                          "message": {"type": "string"}})),
    "user_upload": {"required": True, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": _obj({"file": {"type": "string",
                                                         "format": "binary"}})}}},
}
REQUEST_BODIES["provider_upload"] = {"required": True, "content": {
    "multipart/form-data": REQUEST_BODIES["user_upload"]["content"]["multipart/form-data"]}}

ERRORS: dict[str, Any] = {"default": {
    "description": "An error: an OCS envelope whose data is {message} or empty, a plain "
                   "{message} (412 CSRF / ExApp required), or aiohttp's plain text for a "
                   "request it could not parse; 429 and 503 carry Retry-After",
    "content": {
        "application/json": {"schema": {"anyOf": [ref("Message"), _obj({"ocs": _MAP})]}},
        "application/xml": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}}}}}
