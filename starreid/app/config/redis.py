"""Redis connection: an external server by URL (password, ACL user, TLS), or the embedded redis-server."""
from typing import Literal

from pydantic import Field

from starreid.app.config.base import Section


class RedisConfig(Section):
    url: str | None = Field(default=None, pattern=r"^(redis|rediss|unix)://",
                            description="redis:// or rediss:// (TLS) URL; unset = embedded server")
    username: str | None = Field(default=None, description="ACL user (overrides the URL's)")
    password: str | None = Field(default=None, description="password (overrides the URL's); use ${VAR}")
    password_file: str | None = Field(default=None, description="file holding the password (first line)")
    tls: bool = Field(default=False, description="use TLS even with a redis:// URL")
    tls_ca_file: str | None = Field(default=None, description="CA bundle that signed the server's certificate")
    tls_cert_file: str | None = Field(default=None, description="client certificate (mutual TLS)")
    tls_key_file: str | None = Field(default=None, description="client certificate's private key")
    tls_verify: Literal["required", "optional", "none"] = "required"
    key_prefix: str = Field(default="starreid", pattern=r"^[A-Za-z0-9_.-]+$", description="prefix of every key")
    socket_timeout_s: float = Field(default=5.0, gt=0)
    data_dir: str = Field(default="./data/redis", description="embedded server's data directory")
    port: int = Field(default=6399, ge=1, le=65535, description="embedded server's port (127.0.0.1)")
    maxmemory_mb: int | None = Field(default=2048, ge=16, description="embedded server's memory cap; past it "
                                     "writes are refused (never evicted) and the gallery holds new tracklets back "
                                     "until trimming frees room; null = no cap")
