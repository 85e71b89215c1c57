"""The exception tree of taskproc.

    TaskProcError                  root of everything we raise on purpose
    ├── OCSError                   an OCS error response (status + data.message)
    │   ├── BadRequest             400, input validation
    │   ├── Unauthorized           401, no access to referenced files
    │   ├── NotFound               404
    │   ├── RequestTimeout         408, the client stopped sending the body
    │   ├── PreconditionFailed     412, task type unavailable
    │   ├── PayloadTooLarge        413, a body or an upload over its size cap
    │   ├── UnsupportedEncoding    415, a Content-Encoding the server does not decode
    │   ├── TooManyRequests        429, rate limit
    │   └── InsufficientStorage    507, the file store's disk or the user's quota is full
    ├── NotLoggedIn                401 / statuscode 997
    ├── LoginFailed                401 / 997 "Unauthorised" + WWW-Authenticate, wrong credentials
    ├── AppAPIAuthFailed           401 / 997, an AppAPI route without ExApp credentials
    ├── Forbidden                  403, message in meta, data [] (admin-only route)
    ├── CSRFCheckFailed            412 plain JSON, missing OCS-APIRequest
    ├── ExAppRequired              412 plain JSON, provider route without AppAPI auth
    ├── ProviderUnavailable        a provider's engine is missing (dispatcher)
    ├── ProviderError              a provider failed (dispatcher)
    └── InvalidOutput              a provider's output does not fit the task type (dispatcher)

The last three live in services/dispatcher/provider_interface.py; shared/http/security.py turns
the others into Nextcloud's answers.
"""

from __future__ import annotations

from typing import Any


class TaskProcError(Exception):
    """Root of taskproc's own exceptions."""


class OCSError(TaskProcError):
    """An OCS error response: HTTP status and the text for `data.message`.

    A subclass names its status in its header: `class NotFound(OCSError, status=404)`.
    """

    status = 500

    def __init_subclass__(cls, status: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status

    def __init__(self, message: str, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(OCSError, status=400):
    """400: the request's input failed validation."""


class Unauthorized(OCSError, status=401):
    """401 with an OCS body: the user may not use files named in the input."""


class NotFound(OCSError, status=404):
    """404: no such task (or not the caller's)."""


class RequestTimeout(OCSError, status=408):
    """408: the client stopped sending the body."""


class PreconditionFailed(OCSError, status=412):
    """412 with an OCS body: the task type has no available provider."""


class PayloadTooLarge(OCSError, status=413):
    """413: a declared or decoded body, or an upload, is larger than the route accepts."""


class UnsupportedEncoding(OCSError, status=415):
    """415: a Content-Encoding the server does not decode."""


class TooManyRequests(OCSError, status=429):
    """429: a rate limit was hit; headers carry Retry-After."""


class InsufficientStorage(OCSError, status=507):
    """507: the file store's disk or the user's quota is full; nothing was stored."""


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
