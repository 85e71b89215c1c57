"""Route access rules and the middleware that applies them and maps errors to OCS responses.

Checks run in Nextcloud's order (its SecurityMiddleware): ExApp-only routes, then login, then admin,
then the CSRF rule (OCS-APIRequest header, or Bearer / AppAPI credentials).
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Middleware

from shared.errors import (
    AppAPIAuthFailed,
    CSRFCheckFailed,
    ExAppRequired,
    Forbidden,
    LoginFailed,
    NotLoggedIn,
    OCSError,
    TaskProcError,
)
from shared.http import ocs
from shared.http.auth import GUEST, Principal, login_failed
from shared.http.clientaddr import ClientAddressResolver, client_address_middleware
from shared.http.context import SERVICES
from shared.http.guard import MULTIPART_OVERHEAD, check_declared, quiet_parser_errors
from shared.http.params import PARAMS, read_params
from shared.http.routes import Access, Handler, Route, rule_of
from shared.redis import REDIS_DOWN
from shared.settings import Settings

log = logging.getLogger(__name__)
PRINCIPAL = web.RequestKey("principal", Principal)


def gateway_middlewares(settings: Settings) -> list[Middleware]:
    """The middlewares of both HTTP roles, outermost first: client address, then OCS."""
    quiet_parser_errors()
    resolver = ClientAddressResolver(settings.trusted_proxies, settings.forwarded_header)
    return [client_address_middleware(resolver), ocs_middleware]


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def _check(request: web.Request, rule: Route, who: Principal | None) -> Principal:
    if rule.access in (Access.EXAPP, Access.APPAPI):
        return _exapp_only(rule.access, who)
    if who is None:
        who = _guest(request, rule.access)
    if rule.access is Access.ADMIN and not who.admin:
        raise Forbidden("Logged in account must be an admin")
    if rule.csrf and not _csrf_ok(request, who):
        raise CSRFCheckFailed()
    return who


def _exapp_only(level: Access, who: Principal | None) -> Principal:
    """ExApp and AppAPI routes: only a caller with AppAPI credentials."""
    if who is None or not who.app_api:
        raise ExAppRequired() if level is Access.EXAPP else AppAPIAuthFailed()
    return who


def _guest(request: web.Request, level: Access) -> Principal:
    """No credentials: a guest where the route lets one in, else not logged in."""
    guests = request.app[SERVICES].settings.guests
    if level is Access.PUBLIC or (level is Access.GUEST_OK and guests
                                  and not login_failed(request)):
        return GUEST
    raise NotLoggedIn()


def _csrf_ok(request: web.Request, who: Principal) -> bool:
    """The OCS-APIRequest header, or credentials a browser does not send by itself."""
    return request.headers.get("OCS-APIRequest", "") != "" or who.bearer or who.app_api


def _challenge(request: web.Request) -> str:
    """Nextcloud's challenge; a script (X-Requested-With) gets one browsers do not prompt for."""
    xhr = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    return ('DummyBasic' if xhr else 'Basic') + ' realm="Authorisation Required"'


async def _prepare(request: web.Request) -> None:
    """Refuse a body by its headers, authenticate, check access, read the parameters."""
    rule = rule_of(request)
    settings = request.app[SERVICES].settings
    check_declared(request, settings.max_body_bytes if rule.body
                   else settings.max_upload_bytes + MULTIPART_OVERHEAD)
    who = await request.app[SERVICES].auth.authenticate(request)
    request[PRINCIPAL] = _check(request, rule, who)
    request[PARAMS] = (await read_params(request, settings.body_timeout_seconds) if rule.body
                       else ocs.query_params(request.query))


@web.middleware
async def ocs_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, check access, parse parameters; render errors as Nextcloud does."""
    request[PARAMS] = {}
    if (unmatched := request.match_info.http_exception) is not None:
        return _no_route(request, unmatched)
    try:
        await _prepare(request)
        return await handler(request)
    except TaskProcError as exc:
        return _refusal(request, exc)
    except web.HTTPRequestEntityTooLarge:
        return ocs.render(request, 413, {"message": "Request body too large"})
    except (web.HTTPException, ConnectionResetError):
        raise  # a client that went away gets no answer (aiohttp logs it at debug level)
    except Exception as exc:
        return _server_side(request, exc)


def _no_route(request: web.Request, exc: web.HTTPException) -> web.Response:
    """An unknown /ocs/ path gets Nextcloud's OCS 998 answer; anything else aiohttp's own."""
    if request.path.startswith("/ocs/") and exc.status == 404:
        return ocs.render(request, 404, [], message="Invalid query, please check the syntax. "
                          "API specifications are here: "
                          "http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.",
                          ocs_code=998)
    raise exc


NOT_SIGNED_IN = {NotLoggedIn: "Current user is not logged in",
                 AppAPIAuthFailed: "AppAPI authentication failed"}
"""The 401 / OCS statuscode 997 answers with no challenge, by error."""
PLAIN_412 = {CSRFCheckFailed: "CSRF check failed", ExAppRequired: "ExApp required"}
"""The non-OCS 412 answers, by error."""


def _refusal(request: web.Request, exc: TaskProcError) -> web.Response:
    """Nextcloud's answer to each of our errors (shared/errors.py); a 500 for the others."""
    params = request[PARAMS]
    if isinstance(exc, OCSError):
        return ocs.render(request, exc.status, {"message": exc.message}, headers=exc.headers,
                          params=params)
    if isinstance(exc, Forbidden):
        return ocs.render(request, 403, [], message=exc.message, params=params)
    if isinstance(exc, LoginFailed):
        return ocs.render(request, 401, [], message="Unauthorised", ocs_code=997,
                          headers={"WWW-Authenticate": _challenge(request)})
    if (message := NOT_SIGNED_IN.get(type(exc))) is not None:
        return ocs.render(request, 401, [], message=message, ocs_code=997, params=params)
    if (message := PLAIN_412.get(type(exc))) is not None:
        return ocs.plain_json(412, message)
    return _server_side(request, exc)


def _server_side(request: web.Request, exc: Exception) -> web.Response:
    """Redis unreachable: 503 with Retry-After, logged once per outage. Anything else: 500,
    logged with its traceback."""
    if isinstance(exc, REDIS_DOWN):
        outage = request.app[SERVICES].outage
        outage.failed(exc)
        return outage.response(request, request[PARAMS])
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return ocs.render(request, 500, {"message": "Internal server error"},
                      params=request[PARAMS])
