"""What a valid config points at must also exist and load: model and skeleton files, file sources, dataset
folders, and the ports a daemon is about to bind. Checked by `config check` and by every verb at start, so a
mistake is one clear message and exit 2 instead of a traceback and a restart loop."""
from __future__ import annotations

import socket
from pathlib import Path

from starreid.app.config.loader import ConfigError

_LIVE = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://", "/dev/video")


def file_source(source: str) -> str | None:
    """A camera source that names a file or folder (not a stream or device), without a file:// prefix."""
    if source.startswith(_LIVE) or source.isdigit():
        return None
    return source[len("file://"):] if source.startswith("file://") else source


def _path_problem(path: str) -> str | None:
    """A path the OS cannot even look up (a name too long, a NUL byte) is a problem, not a traceback."""
    try:
        Path(path).exists()
    except (OSError, ValueError) as exc:
        shown = path if len(path) <= 80 else f"{path[:77]}..."
        return f"{shown!r} cannot be used as a path ({getattr(exc, 'strerror', None) or exc})"
    return None


def _source_problem(source: str) -> str | None:
    if problem := _path_problem(source):
        return problem
    path = Path(source)
    if path.is_dir():
        from starreid.streams.files import IMAGE_SUFFIXES

        if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
            return f"the folder {source} holds no images"
        return None
    if not path.is_file():
        return f"no such video file or image folder: {source}"
    import cv2

    cap = cv2.VideoCapture(source)
    ok = cap.isOpened() and cap.read()[0]
    cap.release()
    return None if ok else f"{source} is not a video OpenCV can read"


def _weights_problem(path: str) -> str | None:
    if problem := _path_problem(path):
        return problem
    p = Path(path)
    if not p.is_file():
        return f"no such file: {path}"
    if p.suffix == ".onnx":
        import onnx

        try:
            onnx.load(path, load_external_data=False)
        except Exception as exc:  # onnx raises DecodeError and others for a file that is not a model
            return f"{path} is not an ONNX model ({exc})"
    return None


def _calibration_problem(model) -> str | None:
    """A calibration stored beside the weights must be this model's (one made for other weights is refused)."""
    from starreid.app.embedding import stored_calibration
    from starreid.contracts.calibration import CalibrationError

    try:
        stored_calibration(model)
    except CalibrationError as exc:
        return str(exc)
    return None


def _h5_problem(path: str) -> str | None:
    if problem := _path_problem(path):
        return problem
    if not Path(path).is_file():
        return f"no such file: {path}"
    import h5py

    try:
        h5py.File(path, "r").close()
    except OSError as exc:
        return f"{path} is not an HDF5 file ({exc})"
    return None


def deployment_problems(cfg, cameras: list[str] | None = None, model: bool = True,
                        calibration: bool = True) -> list[tuple[str, str]]:
    """(key path, problem) for the files a deployment config names: the model's weights (model=True) and the
    calibration beside them (calibration=True; `starreid calibrate` replaces it, so it does not check it), and
    the file sources of the named cameras (default: every camera)."""
    problems = []
    if model and cfg.model.weights:
        problem = _weights_problem(cfg.model.weights) or (calibration and _calibration_problem(cfg.model)) or None
        if problem:
            problems.append(("model.weights", problem))
    for i, cam in enumerate(cfg.cameras):  # each camera's tracker: the section with the camera's own on top
        tracker = cfg.tracker_for(cam.id)
        if tracker.backend == "ultralytics" and (not tracker.weights or _path_problem(tracker.weights)
                                                 or not Path(tracker.weights).is_file()):
            key = "tracker.weights" if tracker.weights == cfg.tracker.weights else f"cameras[{i}].tracker.weights"
            problem = (key, f"the ultralytics backend needs a YOLO-pose weight file, got {tracker.weights!r}")
            if problem not in problems:
                problems.append(problem)
    for i, cam in enumerate(cfg.cameras):
        if cameras is not None and cam.id not in cameras:
            continue
        source = file_source(cam.source)
        problem = source and _source_problem(source)
        if problem:
            problems.append((f"cameras[{i}].source", problem))
    return problems


def train_problems(cfg) -> list[tuple[str, str]]:
    problems = []
    if problem := _path_problem(cfg.data.root):
        problems.append(("data.root", problem))
    elif not Path(cfg.data.root).is_dir():
        problems.append(("data.root", f"no such dataset folder: {cfg.data.root}"))
    if cfg.data.skeletons:
        problem = _h5_problem(cfg.data.skeletons)
        if problem:
            problems.append(("data.skeletons", problem))
    return problems


SKELETON_FILES = {"gt": "skeletons_gt.h5", "estimated": "skeletons_estimated.h5",
                  "mediapipe": "skeletons_mediapipe.h5"}  # as reid/data/skeleton_store.py SOURCES


def heads_problems(cfg) -> list[tuple[str, str]]:
    """The head-only ablation's two datasets, the corrupted one's sidecar and each swept skeleton file."""
    problems = []
    for key in ("clean", "corrupted"):
        root = getattr(cfg.data, key)
        if problem := _path_problem(root):
            problems.append((f"data.{key}", problem))
            continue
        if not Path(root).is_dir():
            problems.append((f"data.{key}", f"no such dataset folder: {root}"))
            continue
        needs = [SKELETON_FILES[s] for s in cfg.sweep.skeletons] + (["corruptions.h5"] if key == "corrupted" else [])
        for name in needs:
            if problem := _h5_problem(str(Path(root) / name)):
                problems.append((f"data.{key}", problem + (" (made by `starreid synth --crop detector`)"
                                                           if name != "skeletons_mediapipe.h5" else
                                                           " (made by `starreid skeletons`)")))
    return problems


def file_problems(cfg) -> list[tuple[str, str]]:
    """What `starreid config check` checks beyond the schema, chosen by the config's kind."""
    checks = {"train": train_problems, "heads": heads_problems}
    return checks.get(cfg.kind, deployment_problems)(cfg)


def port_problems(binds: list[tuple[str, str, int]]) -> list[tuple[str, str]]:
    """(key path, host, port) of addresses about to be bound: those another process holds already."""
    problems = []
    for key, host, port in binds:
        if port == 0:
            continue
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("0.0.0.0" if host in ("*", "") else host, port))
            except OSError as exc:
                problems.append((key, f"{host}:{port} cannot be bound: {exc.strerror or exc} (another process "
                                      f"holds it?)"))
    return problems


def require(path: str, problems: list[tuple[str, str]]) -> None:
    """Raise the problems as one ConfigError naming the config file."""
    if problems:
        raise ConfigError(path, [(key, None, message) for key, message in problems])
