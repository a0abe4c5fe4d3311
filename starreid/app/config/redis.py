"""Redis connection: the embedded redis-server, or an external Redis by URL (password, ACL user, TLS): one
server, a Redis Cluster (mode: cluster; url names one node, cluster_nodes more), or a primary found through
Redis Sentinel (mode: sentinel; sentinels and sentinel_service)."""
from typing import Annotated, Literal

from pydantic import Field, model_validator

from starreid.app.config.base import Section


HostPort = Annotated[str, Field(pattern=r"^([^\s:/\[\]]+|\[[0-9a-fA-F:]+\]):[0-9]{1,5}$")]


class RedisConfig(Section):
    mode: Literal["standalone", "cluster", "sentinel"] = Field(
        default="standalone", description="standalone: one server (url, or the embedded one); cluster: a Redis "
        "Cluster (url is one node); sentinel: the primary the sentinels name")
    url: str | None = Field(default=None, pattern=r"^(redis|rediss|unix)://",
                            description="redis:// or rediss:// (TLS) URL; unset = embedded server (standalone); "
                                        "cluster: any node")
    cluster_nodes: list[HostPort] = Field(default=[], description="cluster: more nodes (host:port) to discover the "
                                     "cluster from when the url's node is down")
    sentinels: list[HostPort] = Field(default=[], description="sentinel: the sentinels' host:port")
    sentinel_service: str | None = Field(default=None, description="sentinel: the name the sentinels monitor "
                                         "the primary under (`sentinel monitor NAME ...`)")
    sentinel_password: str | None = Field(default=None, description="sentinel: the sentinels' own password "
                                          "(requirepass of the sentinels), if any; use ${VAR}")
    db: int = Field(default=0, ge=0, description="sentinel: database number (a url carries its own; a cluster "
                                                 "has only 0)")
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

    @model_validator(mode="after")
    def _mode_needs(self):
        if self.mode == "cluster" and not self.url:
            raise ValueError("mode cluster needs url (a node of the cluster; more in cluster_nodes)")
        if self.mode == "sentinel":
            if not self.sentinels or not self.sentinel_service:
                raise ValueError("mode sentinel needs sentinels (host:port of each) and sentinel_service")
            if self.url:
                raise ValueError("mode sentinel takes the primary's address from the sentinels: leave url unset")
        if self.mode != "cluster" and self.cluster_nodes:
            raise ValueError("cluster_nodes is for mode cluster")
        if self.mode != "sentinel" and (self.sentinels or self.sentinel_service):
            raise ValueError("sentinels and sentinel_service are for mode sentinel")
        return self

    @property
    def embedded(self) -> bool:
        """Whether this deployment runs its own redis-server (`starreid redis`)."""
        return self.mode == "standalone" and not self.url
