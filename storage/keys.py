"""Every Redis key the gallery uses, in one place (documented in docs/gallery.md)."""
from __future__ import annotations

from dataclasses import dataclass

GROUP = "gallery"  # consumer group reading the tracklet log
CONSUMER = "resolver"  # one resolver per deployment: identity resolution is sequential by design


@dataclass(frozen=True)
class Keys:
    prefix: str = "starreid"

    @property
    def log(self) -> str:
        """Stream: the durable tracklet log (fields tid, msg)."""
        return f"{self.prefix}:log"

    @property
    def events(self) -> str:
        """Stream: identity events (fields iid, tid, msg)."""
        return f"{self.prefix}:events"

    @property
    def identities(self) -> str:
        """Sorted set: identity id -> last seen (gallery wall clock); drives listing and retention."""
        return f"{self.prefix}:identities"

    @property
    def control(self) -> str:
        """Stream: erasure requests for the running gallery (fields op, iid, req)."""
        return f"{self.prefix}:control"

    @property
    def alive(self) -> str:
        """String with a short TTL: present while a gallery process is running."""
        return f"{self.prefix}:gallery:alive"

    def identity(self, iid: str) -> str:
        """Hash: model, created, last_seen, sightings, cam:<camera> = 'start end' of the last sighting there,
        x:<modality>:<slot> = exemplar (float32 bytes), n:<modality>:<slot> = embeddings merged into it."""
        return f"{self.prefix}:identity:{iid}"

    def sightings(self, iid: str) -> str:
        """Sorted set: JSON sighting -> tracklet end time."""
        return f"{self.prefix}:sightings:{iid}"

    def tracklet(self, tid: str) -> str:
        """String (JSON identity event) with a TTL: the outcome of a processed tracklet; dedupes retries
        and replays, and is published again when a tracklet comes back."""
        return f"{self.prefix}:tracklet:{tid}"

    def erased(self, req: str) -> str:
        """String with a TTL: set by the gallery once an erasure request is done."""
        return f"{self.prefix}:erased:{req}"
