"""The HITSZ-VCM layout and its official splits: training set, and the I2V / V2I query and gallery sets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starreid.reid.data.errors import DatasetError
from starreid.reid.data.vcm_files import parse_name, read_names, read_query_idx, read_track_info

MIN_LEN = 12  # the protocol drops tracklets shorter than this everywhere (train, query, gallery)
FILES = ("train_name.txt", "track_train_info.txt", "test_name.txt", "track_test_info.txt", "query_IDX.txt")


@dataclass(frozen=True)
class TrackletRecord:
    pid: int
    camid: int
    modality: str  # 'ir' | 'rgb', taken from the frame names
    names: tuple[str, ...]
    row: int  # 1-based row in its track info file

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class VCMDataset:
    root: Path
    train: list[TrackletRecord]
    query: list[TrackletRecord]  # IR tracklets listed in query_IDX (the I2V query set)
    gallery: list[TrackletRecord]  # every other test tracklet (the I2V gallery)
    train_labels: dict[int, int]  # person id -> 0..C-1 class index

    def direction(self, name: str) -> tuple[list[TrackletRecord], list[TrackletRecord]]:
        """(query, gallery) for 'i2v' (infrared to visible) or 'v2i' (the two sets swap roles)."""
        if name == "i2v":
            return self.query, self.gallery
        if name == "v2i":
            return self.gallery, self.query
        raise ValueError(f"direction must be 'i2v' or 'v2i', not {name!r}")


def _tracklets(info, names, info_path, rows, min_len: int) -> list[TrackletRecord]:
    out = []
    for r in rows:
        _, start, end, pid, camid = (int(v) for v in info[r])
        frames = tuple(names[start - 1:end])
        if len(frames) < min_len:
            continue
        first = parse_name(frames[0])
        mods = {parse_name(n).modality for n in frames}
        if len(mods) != 1 or first.pid != pid:
            raise DatasetError(info_path, f"row mixes modalities or disagrees with its frame names (pid {pid})", r + 1)
        out.append(TrackletRecord(pid, camid, first.modality, frames, r + 1))
    return out


def load_vcm(root, min_len: int = MIN_LEN) -> VCMDataset:
    """Reads <root>/{train,test}_name.txt, track_{train,test}_info.txt and query_IDX.txt."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "dataset folder not found")
    train_names = read_names(root / FILES[0])
    train_info = read_track_info(root / FILES[1], len(train_names))
    test_names = read_names(root / FILES[2])
    test_info = read_track_info(root / FILES[3], len(test_names))
    qidx = read_query_idx(root / FILES[4], len(test_info))
    qset = set(qidx.tolist())
    train = _tracklets(train_info, train_names, root / FILES[1], range(len(train_info)), min_len)
    query = _tracklets(test_info, test_names, root / FILES[3], qidx, min_len)
    gallery = _tracklets(test_info, test_names, root / FILES[3],
                         [i for i in range(len(test_info)) if i not in qset], min_len)
    labels = {pid: i for i, pid in enumerate(sorted({t.pid for t in train}))}
    return VCMDataset(root, train, query, gallery, labels)
