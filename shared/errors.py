"""The exception tree of taskproc.

    TaskProcError                  root of everything we raise on purpose
    ├── OCSError                   an OCS error response (status + data.message)
    │   ├── BadRequest             400, input validation
    │   ├── Unauthorized           401, no access to referenced files
    │   ├── NotFound               404
    │   ├── RequestTimeout         408, the client stopped sending the body
    │   ├── PreconditionFailed     412, task type unavailable
    │   ├── PayloadTooLarge        413, declared or decoded body over the route's cap
    │   ├── UnsupportedEncoding    415, a Content-Encoding the server does not decode
    │   └── TooManyRequests        429, rate limit
    ├── NotLoggedIn                401 / statuscode 997
    ├── LoginFailed                401 / 997 "Unauthorised" + WWW-Authenticate, wrong credentials
    ├── AppAPIAuthFailed           401 / 997, an AppAPI route without ExApp credentials
    ├── Forbidden                  403, message in meta, data [] (admin-only route)
    ├── CSRFCheckFailed            412 plain JSON, missing OCS-APIRequest
    ├── ExAppRequired              412 plain JSON, provider route without AppAPI auth
    ├── ProviderUnavailable        a provider's engine is missing (dispatcher)
    ├── ProviderError              a provider failed (dispatcher)
    └── InvalidOutput              a provider's output does not fit the task type (dispatcher)

The last three live in services/dispatcher/provider_interface.py.
"""

from __future__ import annotations


class TaskProcError(Exception):
    """Root of taskproc's own exceptions."""


class OCSError(TaskProcError):
    """An OCS error response: HTTP status and the text for `data.message`."""

    status = 500

    def __init__(self, message: str, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(OCSError):
    """400: the request's input failed validation."""

    status = 400


class Unauthorized(OCSError):
    """401 with an OCS body: the user may not use files named in the input."""

    status = 401


class NotFound(OCSError):
    """404: no such task (or not the caller's)."""

    status = 404


class PayloadTooLarge(OCSError):
    """413: the declared or decoded body is larger than the route accepts."""

    status = 413


class UnsupportedEncoding(OCSError):
    """415: a Content-Encoding the server does not decode."""

    status = 415


class RequestTimeout(OCSError):
    """408: the client stopped sending the body."""

    status = 408


class PreconditionFailed(OCSError):
    """412 with an OCS body: the task type has no available provider."""

    status = 412


class TooManyRequests(OCSError):
    """429: a rate limit was hit; headers carry Retry-After."""

    status = 429


class NotLoggedIn(TaskProcError):
    """401 / OCS statuscode 997: no valid credentials."""


class Forbidden(TaskProcError):
    """403: logged in, but this route is not for this account (Nextcloud: meta message, no data)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LoginFailed(TaskProcError):
    """401 / OCS statuscode 997 "Unauthorised": Basic credentials that do not sign in."""


class AppAPIAuthFailed(TaskProcError):
    """401 / OCS statuscode 997 "AppAPI authentication failed": AppAPI's own routes."""


class CSRFCheckFailed(TaskProcError):
    """412 plain JSON: the OCS-APIRequest header is missing."""


class ExAppRequired(TaskProcError):
    """412 plain JSON: a provider route called without AppAPI credentials."""
