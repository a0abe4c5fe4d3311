"""Redis clients from plain connection values (one server, a Redis Cluster, or a primary found through Redis
Sentinel), and what counts as a passing Redis outage (retried with backoff by the gallery's loops).

Every key of one gallery shares one hash tag (starreid.storage.keys), so on a cluster each of its multi-key
operations (the commit's MULTI/EXEC, MGET of markers, erasure) stays in one slot, and one node serves it."""
from __future__ import annotations

import ssl

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import (ClusterDownError, MasterDownError, RedisClusterException, SlotNotCoveredError,
                              TryAgainError)
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelManagedSSLConnection

# A cluster node or a sentinel-watched primary that is away, a cluster that is re-forming, a failover under way.
# (RedisClusterException is also what redis-py raises for keys of several slots in one command, which the
# gallery's one hash tag rules out: tests/storage/test_redis_topologies.py checks every key shares the slot.)
RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, ConnectionError, OSError,
             ClusterDownError, TryAgainError, MasterDownError, SlotNotCoveredError, RedisClusterException,
             MasterNotFoundError, redis.ReadOnlyError)
REDIS_RETRY_S = (0.05, 2.0)  # first and longest wait between tries while Redis is away (a restart takes ~1 s)
_VERIFY = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def connect(url: str, *, socket_timeout_s: float, username: str | None = None, password: str | None = None,
            tls: bool = False, tls_ca_file: str | None = None, tls_cert_file: str | None = None,
            tls_key_file: str | None = None, tls_verify: str = "required", cluster: bool = False,
            cluster_nodes: list[str] = ()) -> redis.Redis | RedisCluster:
    """A client for url; explicit credentials and TLS files override what the URL says (None: the URL's).
    cluster=True: a RedisCluster that discovers the cluster from url's node or any of cluster_nodes."""
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
    if cluster:
        nodes = [ClusterNode(*_host_port(a)) for a in cluster_nodes]
        # a node that is down is retried by the gallery's own backoff: the client tries briefly, then says so
        return RedisCluster.from_url(url, startup_nodes=nodes or None,
                                     retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), 2), **kwargs)
    return redis.Redis.from_url(url, **kwargs)


def connect_sentinel(sentinels: list[str], service: str, *, socket_timeout_s: float, db: int,
                     username: str | None = None, password: str | None = None, sentinel_password: str | None = None,
                     tls: bool = False, tls_ca_file: str | None = None, tls_cert_file: str | None = None,
                     tls_key_file: str | None = None, tls_verify: str = "required") -> redis.Redis:
    """A client of the primary that the sentinels name `service`; it asks them again after a failover."""
    kwargs: dict = {"socket_timeout": socket_timeout_s, "socket_connect_timeout": socket_timeout_s,
                    "health_check_interval": 30, "db": db, "username": username, "password": password}
    if tls:
        kwargs.update(connection_class=SentinelManagedSSLConnection, ssl_cert_reqs=_VERIFY[tls_verify],
                      ssl_ca_certs=tls_ca_file, ssl_certfile=tls_cert_file, ssl_keyfile=tls_key_file)
    sentinel = Sentinel([_host_port(a) for a in sentinels], socket_timeout=socket_timeout_s,
                        sentinel_kwargs={"socket_timeout": socket_timeout_s, "password": sentinel_password})
    return sentinel.master_for(service, **kwargs)


def is_cluster(client) -> bool:
    return isinstance(client, RedisCluster)


def node_of(client, key: str) -> dict:
    """Keyword arguments that send a server command (INFO, BGREWRITEAOF) to the node holding key's slot on a
    cluster (every key of a gallery shares that slot); nothing for one server."""
    return {"target_nodes": client.get_node_from_key(key)} if is_cluster(client) else {}
