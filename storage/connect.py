"""Redis clients from plain connection values, and a retry loop that rides out a restarting server."""
from __future__ import annotations

import logging
import ssl
import time
from typing import Callable, TypeVar

import redis

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, ConnectionError, OSError)
_VERIFY = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


def connect(url: str, *, socket_timeout_s: float, username: str | None = None, password: str | None = None,
            tls: bool = False, tls_ca_file: str | None = None, tls_cert_file: str | None = None,
            tls_key_file: str | None = None, tls_verify: str = "required") -> redis.Redis:
    """A client for url; explicit credentials and TLS files override what the URL says (None: the URL's)."""
    kwargs: dict = {"socket_timeout": socket_timeout_s, "socket_connect_timeout": socket_timeout_s,
                    "health_check_interval": 30}
    if username is not None:
        kwargs["username"] = username
    if password is not None:
        kwargs["password"] = password
    if tls or url.startswith("rediss://"):
        if url.startswith("redis://"):
            url = "rediss://" + url[len("redis://"):]
        kwargs.update(ssl_cert_reqs=_VERIFY[tls_verify], ssl_ca_certs=tls_ca_file,
                      ssl_certfile=tls_cert_file, ssl_keyfile=tls_key_file)
    return redis.Redis.from_url(url, **kwargs)


def retry(op: Callable[[], T], what: str, stop: Callable[[], bool] = lambda: False,
          on_error: Callable[[Exception], None] | None = None, max_wait_s: float = 2.0,
          give_up_s: float | None = None) -> T:
    """Run op until it succeeds, backing off on connection errors (a Redis restart); other errors propagate.

    stop() lets a draining daemon give up waiting; give_up_s bounds the wait for one-shot commands."""
    wait, started = 0.05, time.monotonic()
    while True:
        try:
            return op()
        except RETRYABLE as exc:
            if on_error is not None:
                on_error(exc)
            if stop() or (give_up_s is not None and time.monotonic() - started > give_up_s):
                raise
            log.warning("redis unavailable during %s (%s); retrying in %.2f s", what, exc, wait)
            time.sleep(wait)
            wait = min(max_wait_s, wait * 2)


def reachable(host: str, port: int, timeout_s: float = 0.5) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
