"""Waiting for a condition, bounded in time."""
from __future__ import annotations

import time

from redis.exceptions import ConnectionError as RedisDown


def wait_for(predicate, timeout_s: float = 30.0, step_s: float = 0.05):
    """Polls until predicate() is truthy and returns its value; AssertionError after timeout_s. A predicate
    that raises OSError or redis-py's ConnectionError (a server not up yet) counts as not yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (OSError, RedisDown):
            value = None
        if value:
            return value
        time.sleep(step_s)
    raise AssertionError(f"condition not met within {timeout_s} s")
