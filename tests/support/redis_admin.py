"""A plain Redis client for tests to look at what the gallery wrote (the gallery connects through
starreid.storage.connect, with its configured timeouts and credentials)."""
import redis


def admin(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5.0)
