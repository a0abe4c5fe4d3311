"""The default synthetic dataset must not change when options are added to the generator.

The hashes were computed from the generator as it was before `--crop detector` and the corruption options
existed (git f5c9401), with numpy 1.26.4, opencv-python 4.11.0, h5py 3.16.0 / HDF5 2.0.0. They pin the bytes
of every file (JPEG frames, the skeleton HDF5 file, the text files and synth.json). If a library upgrade
alone changes them (a new libjpeg or HDF5 writes other bytes), re-derive them by running `_digest` on a
dataset from the generator at that commit, in the new environment, never from the code under test."""
import hashlib
from pathlib import Path

from starreid.reid.synth.generate import generate
from starreid.app.cli import main

SMALL = dict(identities=5, cameras=3, train_ids=3, min_frames=12, max_frames=14, short_fraction=0.1, seed=0)
EXPECTED = {
    "jpg": "cd2e563351f4a7cbedf580df9caebd6822b106563dc5581c38e864a873c0bf55",
    "h5": "5c6d7c9b474318032d95a9d1de818d89e5e34bb5f47f3534eeca3fa09246c362",
    "txt": "450aae91a16b2354f1ce44480405fbc531939ae59c1bdca401126afde81d94e9",
    "all": "88fa90eb86648f5d386ed2e409556dd7fbdb6760e7ff94ae23f8897455ccd1a1",
}


def _digest(root: Path) -> dict[str, str]:
    """sha256 over (relative path, sha256 of the bytes) of every file, in path order, per kind and overall."""
    cats = {k: hashlib.sha256() for k in ("jpg", "h5", "txt", "all")}
    for p in sorted(Path(root).rglob("*")):
        if not p.is_file():
            continue
        h = hashlib.sha256(str(p.relative_to(root)).encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
        cat = "jpg" if p.suffix == ".jpg" else "h5" if p.suffix == ".h5" else "txt"
        cats[cat].update(h.digest())
        cats["all"].update(h.digest())
    return {k: v.hexdigest() for k, v in cats.items()}


def test_default_dataset_is_byte_identical_to_before_the_new_options(tmp_path):
    generate(tmp_path / "d", progress=False, **SMALL)
    assert sorted(p.name for p in (tmp_path / "d").iterdir() if p.is_file()) == [
        "query_IDX.txt", "skeletons_gt.h5", "synth.json", "test_name.txt", "track_test_info.txt",
        "track_train_info.txt", "train_name.txt"]  # no new files either
    assert _digest(tmp_path / "d") == EXPECTED


def test_cli_defaults_leave_the_new_options_off(tmp_path):
    out = tmp_path / "c"
    rc = main(["synth", "--out", str(out), "--identities", "5", "--cameras", "3", "--train-ids", "3",
               "--min-frames", "12", "--max-frames", "14", "--short-fraction", "0.1", "--seed", "0",
               "--workers", "2"])
    assert rc == 0
    assert _digest(out) == EXPECTED
