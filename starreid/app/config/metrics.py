"""Prometheus metrics ports (/metrics, /healthz, /readyz): one per process."""
from pydantic import Field

from starreid.app.config.base import Section


class MetricsConfig(Section):
    host: str = "127.0.0.1"
    gallery_port: int = Field(default=9400, ge=0, le=65535)
    worker_port_base: int = Field(default=9401, ge=0, le=65535, description="worker i serves on base + i")
    supervisor_port: int = Field(default=9399, ge=0, le=65535,
                                 description="`starreid run`'s own port: restarts and up-ness of its children")
