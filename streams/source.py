"""The source contract: what a camera worker reads frames from."""
from __future__ import annotations

import threading
from typing import Iterator, Protocol, runtime_checkable

from starreid.streams.frame import Frame


@runtime_checkable
class Source(Protocol):
    """frames() yields Frames until the source ends (files) or `stop` is set (live sources never end; they
    reconnect). live says which: a live source drops stale frames instead of queueing them. session names
    this run of the source (see Frame.session). stats counts frames read, dropped and undecodable."""

    camera: str
    modality: str
    live: bool

    @property
    def session(self) -> str: ...

    @property
    def frame_count(self) -> int | None: ...  # frames a file source holds (for progress); None when live

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]: ...

    def close(self) -> None: ...
