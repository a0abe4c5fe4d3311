"""Cameras, as whole processes (bench/bench_worker.py times the camera pipeline in-process, without embedding):

1. camera fps: one `starreid worker` on a vtest.avi clip (a file source: every frame, as fast as it goes) with
   the offline backends (HOG, MediaPipe pose, ByteTrack), embedding off and on; frames per second from its
   first frame until every frame is processed and every tracklet embedded and sent. Reference, measured in the
   same run: decoding the same clip alone.
2. cameras per machine: `starreid run` (the embedded Redis, the gallery, one worker per camera) with N live
   cameras, vtest.avi looped over the loopback MJPEG server at 10 fps each, embedding on; N = 1, 2, ... until a
   camera falls below 9.5 fps processed (a worker that lags takes the newest frame and counts the skipped ones
   as dropped). The answer is the largest N at which every camera keeps >= 9.5 fps over the window. The peak
   resident memory (VmHWM) of every process of each deployment is recorded too.

The model: `--model tiny` (a random tiny STAR exported here, 64 x 32, as the tests use), `--model imagenet`
(`starreid export --pretrained imagenet --backbone mobilenetv2 --variant baseline`, 288 x 144, heads untrained)
or `--model-config FILE` (the model section of a deployment config).

    python bench/bench_cameras.py [--frames 300] [--max-cameras 4] [--window 60] [--model tiny] [--json OUT]
    python bench/bench_cameras.py --skip-per-machine        # camera fps only
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the shared test doubles: tests/support

import argparse
import json
import os
import signal
import subprocess
import tempfile
import threading
import time

import zmq

from support.cameras import cameras as live_cameras
from support.deployment import scrape, write_deployment
from support.faults import TRACKER, clip
from support.footage import VTEST
from support.net import free_port, free_tcp
from support.procstat import descendants, peak_rss_mb, role
from support.tiny_model import TINY_MODEL, export_tiny

GOAL_FPS = 10.0
SUSTAINED = 0.95 * GOAL_FPS


def model_section(kind: str, workdir: Path, config: str | None) -> dict:
    if config:
        import yaml

        return yaml.safe_load(Path(config).read_text())["model"]
    if kind == "tiny":
        try:
            weights = export_tiny(str(workdir / "tiny"))
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None
        return {**TINY_MODEL, "weights": weights, "backend": "onnx", "batch_size": 4}
    if kind == "imagenet":
        prefix = workdir / "mobilenetv2-imagenet"
        out = subprocess.run([sys.executable, "-m", "starreid", "export", "--pretrained", "imagenet", "--backbone",
                              "mobilenetv2", "--variant", "baseline", "--out", str(prefix)], capture_output=True,
                             text=True, timeout=1200)
        if out.returncode:
            raise SystemExit(f"exporting the ImageNet model failed: {out.stderr[-2000:]}")
        return {"backbone": "mobilenetv2", "variant": "baseline", "weights": f"{prefix}.onnx", "backend": "onnx"}
    raise SystemExit(f"unknown --model {kind!r}")


def _sink(endpoint: str, stop: threading.Event) -> threading.Thread:
    """A PULL socket taking whatever the worker sends (nobody confirms: the worker is not waited for)."""
    def run():
        pull = zmq.Context.instance().socket(zmq.PULL)
        pull.bind(endpoint)
        while not stop.is_set():
            if pull.poll(100):
                pull.recv()
        pull.close(0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def decode_fps(video: str) -> tuple[float, int]:
    import cv2

    cap, n = cv2.VideoCapture(video), 0
    start = time.perf_counter()
    while cap.read()[0]:
        n += 1
    return n / (time.perf_counter() - start), n


def camera_fps(video: str, frames: int, model: dict | None, workdir: Path) -> dict:
    """One worker process on the clip: frames per second from its first frame to the last tracklet sent."""
    mport = free_port()
    z = {"tracklets": free_tcp(), "events": free_tcp()}
    cfg = write_deployment(workdir / f"camera-{'on' if model else 'off'}.yaml", cameras=[
        {"id": "cam0", "source": video, "modality": "rgb"}], zmq=z, tracker={**TRACKER, "flush_timeout_s": 0},
        metrics={"worker_port_base": mport}, logging={"level": "WARNING"}, **({"model": model} if model else {}))
    stop = threading.Event()
    sink = _sink(z["tracklets"], stop)
    proc = subprocess.Popen([sys.executable, "-m", "starreid", "--log-level", "WARNING", "worker", "--config", cfg,
                             "--camera", "cam0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = last = caught_up = peak = None
    seen = {}
    try:
        while proc.poll() is None:
            try:  # while it lives: a worker on a file exits once the file is done
                peak = peak_rss_mb(proc.pid)
            except (OSError, KeyError):  # gone, or a zombie (no VmHWM)
                pass
            try:
                m = scrape(mport, camera=None)
            except OSError:
                time.sleep(0.05)
                continue
            seen = m
            done = m.get("starreid_worker_frames_processed_total", 0)
            if first is None and done >= 1:
                first = (time.perf_counter(), done)
            if m.get("starreid_worker_tracklets_sent_total", 0) >= m.get("starreid_worker_tracklets_emitted_total", 0):
                caught_up = (time.perf_counter(), done)  # everything cut so far is sent
                if done >= frames:
                    last = caught_up
                    break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        stop.set()
        sink.join(5)
    if last is None and caught_up is not None and caught_up[1] >= frames - 1:
        last = caught_up  # the worker finished the clip and exited between two scrapes (the last frame can be EOF)
    if first is None or last is None:
        raise SystemExit(f"the worker did not get through the clip (exit {proc.returncode}; metrics {seen})")
    return {"fps": (last[1] - first[1]) / (last[0] - first[0]), "frames": int(last[1]),
            "tracklets": int(seen.get("starreid_worker_tracklets_emitted_total", 0)), "peak_rss_mb": peak,
            "ratio_to_goal": (last[1] - first[1]) / (last[0] - first[0]) / GOAL_FPS}


def per_machine(cameras: int, model: dict, workdir: Path, warmup_s: float, window_s: float) -> dict:
    """`starreid run` with `cameras` live cameras at 10 fps: each camera's processed fps over the window, and
    the peak RSS of every process."""
    servers = live_cameras(str(VTEST), cameras, fps=GOAL_FPS)
    base, redis_port = free_port(), free_port()
    cfg = write_deployment(
        workdir / f"run-{cameras}.yaml", model=model, tracker=TRACKER, logging={"level": "WARNING"},
        cameras=[{"id": f"cam{i}", "source": s.url, "modality": "rgb"} for i, s in enumerate(servers)],
        redis={"data_dir": str(workdir / f"redis-{cameras}"), "port": redis_port, "key_prefix": "bench"},
        zmq={"tracklets": free_tcp(), "events": free_tcp()},
        metrics={"gallery_port": free_port(), "worker_port_base": base, "supervisor_port": free_port()})
    proc = subprocess.Popen([sys.executable, "-m", "starreid", "--log-level", "WARNING", "run", "--config", cfg],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def counts():
        out = []
        for i in range(cameras):
            m = scrape(base + i, camera=None)
            out.append((m.get("starreid_worker_frames_processed_total", 0),
                        m.get("starreid_stream_frames_dropped_total", 0)))
        return out

    try:
        deadline = time.monotonic() + 600
        while True:  # every worker up and processing (model loaded)
            try:
                if all(f > 0 for f, _ in counts()):
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"`starreid run` with {cameras} cameras did not start (exit {proc.poll()})")
            time.sleep(1.0)
        time.sleep(warmup_s)
        t0, c0 = time.monotonic(), counts()
        time.sleep(window_s)
        t1, c1 = time.monotonic(), counts()
        peaks = {}
        for pid in [proc.pid, *descendants(proc.pid)]:
            try:
                name = "supervisor" if pid == proc.pid else role(pid)
                if name in ("supervisor", "redis", "gallery") or name.startswith("worker:"):  # not a passing helper
                    peaks[name] = peak_rss_mb(pid)
            except OSError:
                pass
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for s in servers:
            s.stop()
    fps = [(b[0] - a[0]) / (t1 - t0) for a, b in zip(c0, c1)]
    dropped = [(b[1] - a[1]) / max(1.0, (b[0] - a[0]) + (b[1] - a[1])) for a, b in zip(c0, c1)]
    return {"cameras": cameras, "fps": fps, "min_fps": min(fps), "dropped_share": dropped,
            "sustained": min(fps) >= SUSTAINED, "peak_rss_mb": peaks, "window_s": t1 - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(VTEST), help="the footage (vtest.avi)")
    ap.add_argument("--frames", type=int, default=300, help="frames of the clip for camera fps")
    ap.add_argument("--model", default="tiny", help="tiny | imagenet (see above)")
    ap.add_argument("--model-config", default=None, help="use the model section of this deployment config")
    ap.add_argument("--max-cameras", type=int, default=4, help="most cameras tried per machine")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds after every worker is up, before measuring")
    ap.add_argument("--window", type=float, default=60.0, help="seconds measured per number of cameras")
    ap.add_argument("--skip-camera-fps", action="store_true")
    ap.add_argument("--skip-per-machine", action="store_true")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = ap.parse_args()
    res = {"goal_fps": GOAL_FPS, "sustained_fps": SUSTAINED, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = model_section(args.model, work, args.model_config)
        res["model"] = {k: v for k, v in model.items() if k != "weights"} | {"kind": args.model_config or args.model}
        if not args.skip_camera_fps:
            video = clip(work / "clip.avi", args.frames, 0) if args.video == str(VTEST) else args.video
            ref, frames = decode_fps(video)
            res["camera"] = {"frames": frames, "decode_fps": ref}
            for label, section in (("embedding_off", None), ("embedding_on", model)):
                row = res["camera"][label] = camera_fps(video, frames, section, work)
                row["ratio_to_decode"] = row["fps"] / ref
                print(f"camera fps, {label.replace('_', ' ')}: {row['fps']:.1f} fps (x{row['ratio_to_goal']:.2f} of "
                      f"the {GOAL_FPS:.0f} fps goal; decoding alone {ref:.0f} fps), {row['tracklets']} tracklets, "
                      f"peak RSS {row['peak_rss_mb'] or 0:.0f} MiB", flush=True)
        if not args.skip_per_machine:
            trials, best = [], 0
            for n in range(1, args.max_cameras + 1):
                trial = per_machine(n, model, work, args.warmup, args.window)
                trials.append(trial)
                print(f"{n} camera{'s' * (n > 1)} at {GOAL_FPS:.0f} fps, embedding on: processed "
                      f"{', '.join(f'{f:.1f}' for f in trial['fps'])} fps (dropped "
                      f"{', '.join(f'{d:.0%}' for d in trial['dropped_share'])}); "
                      f"{'sustained' if trial['sustained'] else 'NOT sustained'}; peak RSS MiB: "
                      f"{', '.join(f'{k} {v:.0f}' for k, v in sorted(trial['peak_rss_mb'].items()))}", flush=True)
                if not trial["sustained"]:
                    break
                best = n
            res["per_machine"] = {"trials": trials, "max_cameras": best,
                                  "note": f"largest N with every camera >= {SUSTAINED} fps processed"}
            print(f"cameras per machine (every camera >= {SUSTAINED} fps, embedding on, {os.cpu_count()} cores): "
                  f"{best}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
