"""Every Redis key the gallery uses, in one place (documented in docs/gallery.md).

Every key starts with the prefix as a Redis Cluster hash tag, `{prefix}:` (e.g. `{starreid}:log`): a cluster
hashes only the tag, so all of one gallery's keys live in one slot and every multi-key operation (the commit's
MULTI/EXEC of markers, identities, sightings, events and the log's XACK; MGET of markers; erasure) is legal
there. The price: one gallery's state lives on one cluster node (with its replicas), which takes all of its
writes; docs/gallery.md ("Redis Cluster") says what that allows and what a sharded layout would need.
Keys written before the tag (`prefix:log`, ...) are renamed once by storage.store.migrate_untagged."""
from __future__ import annotations

from dataclasses import dataclass

GROUP = "gallery"  # consumer group reading the tracklet log
CONSUMER = "resolver"  # one resolver per deployment: identity resolution is sequential by design


@dataclass(frozen=True)
class Keys:
    prefix: str = "starreid"

    @property
    def tag(self) -> str:
        """What every key starts with: the prefix as a hash tag."""
        return "{%s}" % self.prefix

    @property
    def log(self) -> str:
        """Stream: the durable tracklet log (fields tid, msg)."""
        return f"{self.tag}:log"

    @property
    def events(self) -> str:
        """Stream: identity events (fields iid, tid, msg)."""
        return f"{self.tag}:events"

    @property
    def identities(self) -> str:
        """Sorted set: identity id -> last seen (gallery wall clock); drives listing and retention."""
        return f"{self.tag}:identities"

    @property
    def control(self) -> str:
        """Stream: erasure requests for the running gallery (fields op, iid, req)."""
        return f"{self.tag}:control"

    @property
    def alive(self) -> str:
        """String with a short TTL: present while a gallery process is running."""
        return f"{self.tag}:gallery:alive"

    def identity(self, iid: str) -> str:
        """Hash: model, created, last_seen, sightings, cam:<camera> = 'start end' of the last sighting there,
        x:<modality>:<slot> = exemplar (float32 bytes), n:<modality>:<slot> = embeddings merged into it."""
        return f"{self.tag}:identity:{iid}"

    def sightings(self, iid: str) -> str:
        """Sorted set: JSON sighting -> tracklet end time."""
        return f"{self.tag}:sightings:{iid}"

    def tracklet(self, tid: str) -> str:
        """String (JSON identity event) with a TTL: the outcome of a processed tracklet; dedupes retries
        and replays, and is published again when a tracklet comes back."""
        return f"{self.tag}:tracklet:{tid}"

    def erased(self, req: str) -> str:
        """String with a TTL: set by the gallery once an erasure request is done."""
        return f"{self.tag}:erased:{req}"
