"""Bind a role's listening socket before anything else starts, so a taken port is one line
naming the setting to change instead of a traceback after a banner.
"""

from __future__ import annotations

import errno
import socket


class CannotListen(RuntimeError):
    """The address cannot be bound; the message names the setting that chose it."""


def bind(host: str, port: int, setting: str) -> socket.socket:
    """A listening TCP socket on host:port (SO_REUSEADDR as aiohttp sets it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}; "
                           "set TASKPROC_HOST to an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            hint = f"set {setting} to a free port"
        elif exc.errno == errno.EACCES:
            hint = f"set {setting} to a port above 1023 (or run with the right to bind it)"
        else:
            hint = f"check TASKPROC_HOST and {setting}"
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}; {hint}") from None
    sock.setblocking(False)
    return sock
