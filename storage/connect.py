"""Redis clients from plain connection values, and what counts as a passing Redis outage (retried with backoff
by the gallery's loops)."""
from __future__ import annotations

import ssl

import redis

RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, ConnectionError, OSError)
REDIS_RETRY_S = (0.05, 2.0)  # first and longest wait between tries while Redis is away (a restart takes ~1 s)
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
