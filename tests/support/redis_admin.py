"""A plain Redis client for tests to look at what the gallery wrote (the gallery connects through
starreid.storage.connect, with its configured timeouts and credentials), and the gallery's own client, for
a URL or any of the test servers (conftest's redis_server: one server, or a LocalCluster)."""
import redis


def admin(server) -> redis.Redis:
    """An admin client of a URL, an EmbeddedRedis, or a LocalCluster (a RedisCluster client)."""
    if isinstance(server, str):
        return redis.Redis.from_url(server, socket_timeout=5.0)
    if hasattr(server, "client"):
        return server.client()
    return redis.Redis.from_url(server.url, socket_timeout=5.0)


def gallery_connect(server):
    """connect() -> the client the gallery would use (starreid.storage.connect) for a URL or a test server."""
    from starreid.storage.connect import connect

    if isinstance(server, str):
        return lambda: connect(server, socket_timeout_s=2.0)
    if hasattr(server, "connect"):
        return server.connect
    return lambda: connect(server.url, socket_timeout_s=2.0)


def redis_section(server) -> dict:
    """The deployment config's redis section that reaches a URL (None: embedded) or a test server."""
    if server is None or isinstance(server, str):
        return {"url": server}
    return dict(getattr(server, "section", {"url": server.url}))
