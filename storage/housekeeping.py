"""Periodic work of the gallery loop: heartbeat, erasure requests, retention, stream trimming, gauges."""
from __future__ import annotations

import logging
import os
import time

import redis

from starreid.storage import log as durable
from starreid.storage import metrics as M
from starreid.storage.connect import node_of
from starreid.storage.erase import compact_on_disk, erase_identities
from starreid.storage.keys import GROUP, Keys
from starreid.storage.resolver import Resolver

log = logging.getLogger(__name__)
ALIVE_TTL_S = 5
MEMORY_TIGHT = 0.9  # share of maxmemory past which the log is trimmed down to what is not yet processed


class Housekeeper:
    def __init__(self, client: redis.Redis, keys: Keys, resolver: Resolver, retention_s: float | None,
                 retention_sweep_s: float, log_retention_s: float, events_retention_s: float):
        self.client, self.keys, self.resolver = client, keys, resolver
        self.retention_s, self.retention_sweep_s = retention_s, retention_sweep_s
        self.log_retention_s, self.events_retention_s = log_retention_s, events_retention_s
        self._due = {"beat": 0.0, "retention": 0.0, "trim": 0.0, "memory": 0.0}
        self.memory_tight = False  # past MEMORY_TIGHT of Redis's maxmemory: processed entries are trimmed early

    def tick(self, now: float) -> None:
        mono = time.monotonic()
        if mono >= self._due["beat"]:
            self._due["beat"] = mono + 1.0
            self.client.set(self.keys.alive, f"{os.getpid()}", ex=ALIVE_TTL_S)
            self.requests()
            M.PENDING.set(durable.pending_count(self.client, self.keys))
            M.INDEX_SIZE.set(self.resolver.index_size())
            M.IDENTITIES.set(len(self.resolver.identities))
        if self.retention_s is not None and mono >= self._due["retention"]:
            self._due["retention"] = mono + self.retention_sweep_s
            self.expire(now)
        if mono >= self._due["memory"]:
            self._due["memory"] = mono + 5.0
            self.memory()
        if mono >= self._due["trim"]:
            self._due["trim"] = mono + (1.0 if self.memory_tight else 10.0)
            self.trim(now)

    def memory(self) -> None:
        """Redis's memory against its cap, as metrics (an alert watches the headroom)."""
        info = self.client.info("memory", **node_of(self.client, self.keys.log))
        used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
        M.REDIS_MEMORY.set(used)
        M.REDIS_MEMORY_LIMIT.set(limit)
        tight = limit > 0 and used > MEMORY_TIGHT * limit
        if tight and not self.memory_tight:
            log.warning("redis uses %.0f of its %.0f MB: trimming processed log entries before their retention "
                        "time", used / 2**20, limit / 2**20)
        self.memory_tight = tight

    def erase(self, iids: list[str], reason: str) -> dict[str, int]:
        for iid in iids:
            self.resolver.drop(iid)
        counts = erase_identities(self.client, self.keys, iids)
        M.ERASURES.labels(reason).inc(counts["identities"])
        return counts

    def requests(self) -> None:
        """Erasure requests written by `starreid forget` while this gallery runs (it is the only writer)."""
        for eid, fields in self.client.xrange(self.keys.control, count=100):
            iid, req = fields.get(b"iid", b"").decode(), fields.get(b"req", b"").decode()
            if fields.get(b"op") == b"forget" and iid:
                counts = self.erase([iid], "forget")
                compact_on_disk(self.client, self.keys)
                log.info("erased identity %s on request: %s", iid, counts)
            if req:
                self.client.set(self.keys.erased(req), "1", ex=300)
            self.client.xdel(self.keys.control, eid)

    def expire(self, now: float) -> None:
        """Erase identities idle longer than the retention time."""
        while True:
            idle = [i.decode() for i in self.client.zrangebyscore(
                self.keys.identities, "-inf", now - self.retention_s, start=0, num=500)]
            if not idle:
                return
            counts = self.erase(idle, "retention")
            log.info("retention erased %d idle identities (%s)", len(idle), counts)

    def trim(self, now: float) -> None:
        """Keep processed log entries for log_retention_s (any age while Redis is near its memory cap: they are
        committed already) and events for events_retention_s; never trim an entry that is not yet acknowledged."""
        safe = now if self.memory_tight else now - self.log_retention_s
        try:
            groups = {g["name"].decode(): g for g in self.client.xinfo_groups(self.keys.log)}
        except redis.ResponseError:
            return
        group = groups.get(GROUP)
        if group is None:
            return
        safe = min(safe, durable.entry_time(group["last-delivered-id"]))
        pend = self.client.xpending(self.keys.log, GROUP)
        if pend["pending"]:
            safe = min(safe, durable.entry_time(pend["min"]))
        if safe > 0:
            durable.trim_before(self.client, self.keys.log, safe)
        durable.trim_before(self.client, self.keys.events, now - self.events_retention_s)
