"""Errors of the OpenAI-compatible provider, all raised at the HTTP boundary.

    ProviderError (services.dispatcher.provider_interface)
    └── BackendError              the backend could not serve the request
        ├── BackendHTTPError      it answered with an error status (carries status, url, detail)
        ├── BackendTimeout        it did not answer in time
        ├── BackendUnreachable    the connection failed or broke off
        └── BadBackendResponse    it answered 2xx with something we cannot read

Every error has a `user_message` that is safe to show: no URL, no key, no stack trace.
"""

from __future__ import annotations

from services.dispatcher.provider_interface import ProviderError

_DETAIL_MAX = 300


class BackendError(ProviderError):
    """The OpenAI-compatible backend could not serve the request."""


class BackendHTTPError(BackendError):
    """The backend answered with an HTTP error status."""

    def __init__(self, status: int, url: str, detail: str, retry_after: float | None = None
                 ) -> None:
        super().__init__(f"backend {url} answered HTTP {status}: {detail}",
                         user_message_for_status(status, detail))
        self.status = status
        self.url = url
        self.detail = detail
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """429 and 5xx are worth another attempt; other 4xx will fail the same way again."""
        return self.status == 429 or self.status >= 500


class BackendTimeout(BackendError):
    """The backend did not answer (or stopped streaming) within the configured timeout."""

    def __init__(self, url: str) -> None:
        super().__init__(f"backend {url} timed out",
                         "The AI backend did not answer in time. Please try again later.")


class BackendUnreachable(BackendError):
    """The connection to the backend failed or broke off."""

    def __init__(self, url: str, reason: str, retryable: bool = False) -> None:
        super().__init__(f"backend {url} unreachable: {reason}",
                         "The AI backend is not reachable at the moment. Please try again later.")
        self.retryable = retryable
        """Only a refused connection: the request never reached the backend, so it is safe."""


class BadBackendResponse(BackendError):
    """The backend answered 2xx with a body we cannot interpret."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"backend {url} sent an unusable answer: {reason}",
                         "The AI backend sent an answer that could not be read.")


def user_message_for_status(status: int, detail: str) -> str:
    """A message for the user; the backend's own text only where it cannot hold credentials."""
    if status in (401, 403):
        return "The AI backend refused the configured credentials."
    if status == 429:
        return "The AI backend is busy or over its quota. Please try again later."
    if status >= 500:
        return f"The AI backend failed (HTTP {status}). Please try again later."
    short = detail[:_DETAIL_MAX]
    return f"The AI backend rejected the request (HTTP {status}): {short}" if short else (
        f"The AI backend rejected the request (HTTP {status}).")
