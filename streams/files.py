"""Offline sources: a video file or a folder of images. Every frame is processed (nothing is dropped)."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

import cv2

from starreid.streams.frame import Frame, to_rgb
from starreid.streams.images import decode_image
from starreid.streams.stats import SourceStats

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


class SourceError(RuntimeError):
    """The source cannot be opened (missing file, unsupported format)."""


def content_session(parts: Iterable[bytes]) -> str:
    """A session name that depends only on a source's content: replaying it gives the same tracklet ids."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:12]


class VideoFileSource:
    """Frames of a video file; timestamps are the start wall time plus the file's own presentation time."""

    live = False
    MAX_BAD_FRAMES = 50  # consecutive undecodable frames before the rest of the file is given up

    def __init__(self, path: str, camera: str, modality: str):
        self.path, self.camera, self.modality = str(path), camera, modality
        self.stats = SourceStats(camera, modality)

    @property
    def frame_count(self) -> int | None:
        """The frame count the file declares (None if it cannot be read)."""
        cap = cv2.VideoCapture(self.path)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
        cap.release()
        return count or None

    @property
    def session(self) -> str:
        """From the file's size and first MiB: the same file is the same session, another file another."""
        try:
            with open(self.path, "rb") as f:
                head = f.read(1 << 20)
                size = f.seek(0, 2)
        except OSError as exc:
            raise SourceError(f"camera {self.camera}: cannot read video file {self.path}: {exc}") from None
        return content_session([str(size).encode(), head])

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        cap = cv2.VideoCapture(self.path)
        if not cap.isOpened():
            self.stats.add("open_errors")
            raise SourceError(f"camera {self.camera}: cannot open video file {self.path}")
        session = self.session
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        start, index, bad, stuck_at = time.time(), 0, 0, -1
        try:
            while stop is None or not stop.is_set():
                ok, image = cap.read()
                if not ok or image is None:
                    # A failed read is a damaged frame if the decoder moved on (the next read may succeed), the
                    # end if it did not. Failures are counted once a later frame decodes, so the end of the
                    # file is not mistaken for damage.
                    position = int(cap.get(cv2.CAP_PROP_POS_FRAMES) or 0)
                    if position == stuck_at or bad >= self.MAX_BAD_FRAMES:
                        self._check_length(index, declared)
                        return
                    stuck_at, bad = position, bad + 1
                    continue
                if bad:
                    self.stats.add("decode_errors", bad)
                    log.warning("camera %s: skipped %d undecodable frame(s) before frame %d of %s", self.camera,
                                bad, int(cap.get(cv2.CAP_PROP_POS_FRAMES) or 0), self.path)
                bad, stuck_at = 0, -1
                self.stats.add("frames_read")
                msec = cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0
                yield Frame(self.camera, self.modality, index, start + msec / 1000.0, to_rgb(image, self.modality),
                            session)
                index += 1
        finally:
            cap.release()

    def _check_length(self, read: int, declared: int) -> None:
        """A file that ends well before the frame count its header declares is damaged (cut short in a copy,
        a recording that crashed): an error the operator sees, its missing frames counted as undecodable."""
        missing = declared - read
        if declared > 0 and missing > max(2, declared // 50):
            self.stats.add("decode_errors", missing)
            log.error("camera %s: %s ended after %d of the %d frames it declares (truncated or damaged)",
                      self.camera, self.path, read, declared)

    def close(self) -> None:  # nothing held between frames() calls
        pass


class ImageFolderSource:
    """Images of a folder in name order, at a nominal frame rate for timestamps; unreadable files are skipped."""

    live = False

    def __init__(self, path: str, camera: str, modality: str, fps: float):
        self.path, self.camera, self.modality, self.fps = Path(path), camera, modality, fps
        self.stats = SourceStats(camera, modality)

    def _files(self) -> list[Path]:
        if not self.path.is_dir():
            self.stats.add("open_errors")
            raise SourceError(f"camera {self.camera}: {self.path} is not a folder")
        return sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    @property
    def frame_count(self) -> int | None:
        try:
            return len(self._files())
        except SourceError:
            return None

    @property
    def session(self) -> str:
        """From the images' names and sizes: the same folder replayed is the same session."""
        return content_session(f"{p.name}:{p.stat().st_size};".encode() for p in self._files())

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        files = self._files()
        session = content_session(f"{p.name}:{p.stat().st_size};".encode() for p in files)
        start, index = time.time(), 0
        for n, file in enumerate(files):
            if stop is not None and stop.is_set():
                return
            try:
                image = decode_image(file.read_bytes())
            except OSError:
                image = None
            if image is None:
                self.stats.add("decode_errors")
                log.warning("camera %s: skipping a truncated or unreadable image %s", self.camera, file)
                continue
            if image.ndim == 3 and image.shape[2] == 4:
                image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
            self.stats.add("frames_read")
            yield Frame(self.camera, self.modality, index, start + n / self.fps, to_rgb(image, self.modality),
                        session)
            index += 1

    def close(self) -> None:
        pass
