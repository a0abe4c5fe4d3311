"""Tracklets sent to the gallery but not yet confirmed, kept on disk: one file each, written before the send
and removed when the gallery's identity event confirms it. A worker that stops, is killed or crashes with
tracklets unconfirmed resends them at its next start (tracklet ids make a repeat harmless)."""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from starreid.contracts import wire

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, tracklet_id: str) -> Path:
        return self.folder / f"{hashlib.sha1(tracklet_id.encode()).hexdigest()[:20]}.msg"

    def put(self, tracklet_id: str, data: bytes) -> None:
        path = self._path(tracklet_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a crash leaves the old file or the new one, never half of one

    def done(self, tracklet_id: str) -> None:
        self._path(tracklet_id).unlink(missing_ok=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*.msg"))

    def pending(self) -> list[tuple[str, bytes]]:
        """(tracklet id, wire bytes) of every kept tracklet, oldest first; unreadable files are set aside."""
        out = []
        for path in sorted(self.folder.glob("*.msg"), key=lambda p: p.stat().st_mtime):
            data = path.read_bytes()
            try:
                msg = wire.decode(data)
            except wire.WireError as exc:
                log.error("spool file %s is not a tracklet (%s); moved aside", path, exc)
                path.rename(path.with_suffix(".bad"))
                continue
            out.append((msg.id, data))
        return out
