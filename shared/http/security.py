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
    level = rule.access
    settings = request.app[SERVICES].settings
    if level in (Access.EXAPP, Access.APPAPI):
        if who is None or not who.app_api:
            raise ExAppRequired() if level is Access.EXAPP else AppAPIAuthFailed()
        return who
    if who is None:
        guest_ok = level is Access.GUEST_OK and settings.guests and not login_failed(request)
        if level is Access.PUBLIC or guest_ok:
            who = GUEST
        else:
            raise NotLoggedIn()
    if level is Access.ADMIN and not who.admin:
        raise Forbidden("Logged in account must be an admin")
    csrf_ok = (request.headers.get("OCS-APIRequest", "") != "" or who.bearer or who.app_api)
    if rule.csrf and not csrf_ok:
        raise CSRFCheckFailed()
    return who


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
    if request.match_info.http_exception is not None:
        if request.path.startswith("/ocs/") and request.match_info.http_exception.status == 404:
            return ocs.render(request, 404, [], message="Invalid query, please check the syntax. "
                              "API specifications are here: "
                              "http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.",
                              ocs_code=998)
        raise request.match_info.http_exception
    try:
        await _prepare(request)
        return await handler(request)
    except OCSError as exc:
        return ocs.render(request, exc.status, {"message": exc.message}, headers=exc.headers,
                          params=request[PARAMS])
    except Forbidden as exc:
        return ocs.render(request, 403, [], message=exc.message, params=request[PARAMS])
    except NotLoggedIn:
        return ocs.render(request, 401, [], message="Current user is not logged in",
                          ocs_code=997, params=request[PARAMS])
    except LoginFailed:
        return ocs.render(request, 401, [], message="Unauthorised", ocs_code=997,
                          headers={"WWW-Authenticate": _challenge(request)})
    except AppAPIAuthFailed:
        return ocs.render(request, 401, [], message="AppAPI authentication failed",
                          ocs_code=997, params=request[PARAMS])
    except CSRFCheckFailed:
        return ocs.plain_json(412, "CSRF check failed")
    except ExAppRequired:
        return ocs.plain_json(412, "ExApp required")
    except web.HTTPRequestEntityTooLarge:
        return ocs.render(request, 413, {"message": "Request body too large"})
    except (web.HTTPException, ConnectionResetError):
        raise  # a client that went away gets no answer (aiohttp logs it at debug level)
    except Exception as exc:
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
