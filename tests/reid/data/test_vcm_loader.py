from collections import Counter

import numpy as np
import pytest

from starreid.reid.data import MIN_LEN, DatasetError, load_vcm
from starreid.reid.data.vcm_files import frame_path, parse_name, read_track_info
from starreid.reid.synth.generate import plan_dataset


def _expected(params, min_len):
    plans = plan_dataset(params["identities"], params["cameras"], params["train_ids"], params["min_frames"],
                         params["max_frames"], params["short_fraction"], params["seed"])
    return Counter((p.split, p.modality) for p in plans if p.n_frames >= min_len)


def test_counts_per_split_and_modality(tiny_vcm):
    root, params = tiny_vcm
    ds = load_vcm(root)
    exp = _expected(params, MIN_LEN)
    got = Counter(("train", t.modality) for t in ds.train)
    got.update(("test", t.modality) for t in ds.query + ds.gallery)
    assert got == exp
    assert {t.pid for t in ds.train} == set(range(1, params["train_ids"] + 1))
    assert sorted(ds.train_labels.values()) == list(range(params["train_ids"]))


def test_min_length_filter(tiny_vcm):
    root, params = tiny_vcm
    everything, filtered = load_vcm(root, min_len=1), load_vcm(root)
    n_all = len(everything.train) + len(everything.query) + len(everything.gallery)
    n_kept = len(filtered.train) + len(filtered.query) + len(filtered.gallery)
    assert n_all == sum(_expected(params, 1).values())
    short = [t for t in everything.train + everything.query + everything.gallery if len(t) < MIN_LEN]
    assert short and n_all - n_kept == len(short)
    assert min(len(t) for t in filtered.train + filtered.query + filtered.gallery) >= MIN_LEN


def test_query_gallery_split(tiny_vcm):
    root, _ = tiny_vcm
    ds = load_vcm(root)
    q_rows = {int(v) for v in (root / "query_IDX.txt").read_text().split()}
    assert all(t.modality == "ir" and t.row in q_rows for t in ds.query)
    assert all(t.row not in q_rows for t in ds.gallery)
    assert all(t.modality == "rgb" for t in ds.gallery)
    assert not {t.pid for t in ds.query} & {t.pid for t in ds.train}
    assert ds.direction("v2i") == (ds.gallery, ds.query) and ds.direction("i2v") == (ds.query, ds.gallery)
    with pytest.raises(ValueError):
        ds.direction("x")


def test_records_match_frame_names_and_files(tiny_vcm):
    root, _ = tiny_vcm
    ds = load_vcm(root)
    for t in ds.train + ds.query + ds.gallery:
        fns = [parse_name(n) for n in t.names]
        assert {(f.pid, f.modality, f.camid) for f in fns} == {(t.pid, t.modality, t.camid)}
        assert [f.frame for f in fns] == list(range(1, len(t) + 1))
        assert frame_path(root, t.names[-1]).is_file()


def _copy_layout(src, dst):
    dst.mkdir()
    for name in ("train_name.txt", "track_train_info.txt", "test_name.txt", "track_test_info.txt", "query_IDX.txt"):
        (dst / name).write_text((src / name).read_text())
    return dst


def _replace_line(path, line_no, text):
    lines = path.read_text().splitlines()
    lines[line_no - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("file,line,text,message", [
    ("train_name.txt", 3, "0001X2D3T1F1.jpg", "malformed frame name"),
    ("track_train_info.txt", 2, "1 2 3 4", "expected 5 columns"),
    ("track_train_info.txt", 1, "1 5 999999 1 1", "outside"),
    ("track_test_info.txt", 2, "1 a 3 4 5", "non-numeric"),
    ("query_IDX.txt", 1, "100000", "outside"),
])
def test_malformed_files_name_file_and_line(tiny_vcm, tmp_path, file, line, text, message):
    root = _copy_layout(tiny_vcm[0], tmp_path / "bad")
    _replace_line(root / file, line, text)
    with pytest.raises(DatasetError, match=message) as err:
        load_vcm(root)
    assert err.value.path.endswith(file) and err.value.line == line
    assert f"{file}:{line}" in str(err.value)


def test_missing_file(tiny_vcm, tmp_path):
    root = _copy_layout(tiny_vcm[0], tmp_path / "gone")
    (root / "query_IDX.txt").unlink()
    with pytest.raises(DatasetError, match="query_IDX.txt: file not found"):
        load_vcm(root)
    with pytest.raises(DatasetError, match="not found"):
        load_vcm(tmp_path / "nowhere")


def test_float_track_info_is_accepted(tmp_path):
    path = tmp_path / "info.txt"
    path.write_text("1.0 1.0 3.0 7.0 2.0\n\n")
    np.testing.assert_array_equal(read_track_info(path, 3), [[1, 1, 3, 7, 2]])
