"""Parsers for the HITSZ-VCM text files: name lists, track info and query indices (errors name file and line)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from starreid.reid.data.errors import DatasetError

# e.g. 0001M2D3T1F1.jpg: person 0001, modality digit 2 (1 = IR, anything else RGB), camera 3, tracklet 1, frame 1
NAME_RE = re.compile(r"^(\d{4})M(\d)D(\d+)T(\d+)F(\d+)\.(jpg|jpeg|png)$", re.IGNORECASE)


@dataclass(frozen=True)
class FrameName:
    pid: int
    modality: str  # 'ir' | 'rgb'
    camid: int
    tracklet: int
    frame: int


def format_name(pid: int, modality: str, camid: int, tracklet: int, frame: int, ext: str = "jpg") -> str:
    return f"{pid:04d}M{1 if modality == 'ir' else 2}D{camid}T{tracklet}F{frame}.{ext}"


def parse_name(name: str, path=None, line: int | None = None) -> FrameName:
    m = NAME_RE.match(name)
    if not m:
        raise DatasetError(path or "<name>", f"malformed frame name {name!r}", line)
    pid, mod, cam, trk, frm = (int(g) for g in m.groups()[:5])
    return FrameName(pid, "ir" if mod == 1 else "rgb", cam, trk, frm)


def frame_path(root, name: str) -> Path:
    """Where a frame lives: <root>/<pid>/<ir|rgb>/D<cam>/<name>."""
    fn = parse_name(name)
    return Path(root) / name[:4] / fn.modality / f"D{fn.camid}" / name


def read_names(path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "file not found")
    names = []
    for i, raw in enumerate(path.read_text().splitlines(), 1):
        s = raw.strip()
        if not s:
            continue
        parse_name(s, path, i)
        names.append(s)
    return names


def read_track_info(path, n_names: int) -> np.ndarray:
    """(N, 5) int64 rows `m start end pid camid`; start/end are 1-based inclusive into the name list."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "file not found")
    rows = []
    for i, raw in enumerate(path.read_text().splitlines(), 1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise DatasetError(path, f"expected 5 columns 'm start end pid camid', got {len(parts)}", i)
        try:
            row = [int(float(p)) for p in parts]  # some releases write these as floats
        except ValueError:
            raise DatasetError(path, f"non-numeric value in {raw.strip()!r}", i) from None
        _, start, end, _, _ = row
        if not 1 <= start <= end <= n_names:
            raise DatasetError(path, f"frame range {start}..{end} outside 1..{n_names}", i)
        rows.append(row)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 5)


def read_query_idx(path, n_tracks: int) -> np.ndarray:
    """0-based row indices into track_test_info (the file holds 1-based ones)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "file not found")
    idx = []
    for i, raw in enumerate(path.read_text().splitlines(), 1):
        for tok in raw.split():
            try:
                v = int(float(tok))
            except ValueError:
                raise DatasetError(path, f"non-numeric index {tok!r}", i) from None
            if not 1 <= v <= n_tracks:
                raise DatasetError(path, f"index {v} outside 1..{n_tracks}", i)
            idx.append(v - 1)
    return np.asarray(idx, dtype=np.int64)
