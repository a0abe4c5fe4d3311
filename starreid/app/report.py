"""What the gallery made of the footage, for people to look at: an identity sheet (a row per identity: crops of
its sightings with camera and time), an identity timeline (identity x time, coloured by camera), and per file
camera an annotated video whose boxes carry the gallery identity of each track, in a stable colour.

Times are UTC, on the camera workers' clock: a sighting's time is its tracklet's last frame (for a file
source, the replay's start plus the position in the file)."""
from __future__ import annotations

import colorsys
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + "Z"


def identity_colour(iid: str) -> tuple[int, int, int]:
    """RGB, the same for an identity in every picture and every run."""
    h = int(hashlib.sha1(iid.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    r, g, b = colorsys.hsv_to_rgb(h, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


@dataclass
class Identity:
    iid: str
    sightings: list[dict]  # tid, camera, modality, start, end, kind, score; earliest first
    thumbs: dict[str, bytes] = field(default_factory=dict)  # tracklet id -> JPEG crop (while the log keeps it)

    @property
    def cameras(self) -> list[str]:
        return sorted({s["camera"] for s in self.sightings})


def read_gallery(client, keys, limit: int = 500) -> list[Identity]:
    """Identities with their sightings (most sightings first) and the crops the log still holds for them."""
    from starreid.storage import query

    identities = []
    for row in query.list_identities(client, keys, limit):
        seen = sorted(query.sightings(client, keys, row["id"], 10_000), key=lambda s: s["end"])
        identities.append(Identity(row["id"], seen))
    wanted = {s["tid"]: ident for ident in identities for s in ident.sightings}
    for _, fields in client.xrange(keys.log):  # a thumbnail, or the middle crop of a crop-carrying tracklet
        tid = fields.get(b"tid", b"").decode()
        if tid in wanted:
            crop = fields.get(b"thumb") or _middle_crop(fields.get(b"msg"))
            if crop:
                wanted[tid].thumbs[tid] = crop
    identities.sort(key=lambda i: (-len(i.sightings), i.sightings[0]["end"] if i.sightings else 0))
    return identities


def _middle_crop(raw: bytes | None) -> bytes | None:
    from starreid.contracts import wire

    try:
        msg = wire.decode(raw or b"")
    except wire.WireError:
        return None
    return msg.crops[len(msg.crops) // 2] if getattr(msg, "crops", None) else None


def _tile(jpeg: bytes | None, height: int, width: int) -> np.ndarray:
    if jpeg is None:
        tile = np.full((height, width, 3), 40, np.uint8)
        cv2.putText(tile, "no crop", (4, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (200, 200, 200), 1)
        return tile
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def identity_sheet(identities: list[Identity], path: Path, per_row: int = 8, rows: int = 40,
                   tile: tuple[int, int] = (128, 64)) -> Path:
    """A row per identity: its id, sightings and cameras, then crops of up to per_row sightings spread over
    its time, each captioned with camera and time."""
    h, w = tile
    label_w, caption_h = 190, 26
    lines = []
    for ident in identities[:rows]:
        picks = np.unique(np.linspace(0, len(ident.sightings) - 1, min(per_row, len(ident.sightings))).round().astype(int))
        row = np.full((h + caption_h, label_w + per_row * (w + 4), 3), 255, np.uint8)
        colour = identity_colour(ident.iid)
        cv2.rectangle(row, (0, 0), (8, h + caption_h - 1), colour, -1)
        for k, text in enumerate([ident.iid[:12], f"{len(ident.sightings)} sightings",
                                  ", ".join(ident.cameras)[:26]]):
            cv2.putText(row, text, (14, 22 + 22 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for slot, i in enumerate(picks):
            s = ident.sightings[i]
            x = label_w + slot * (w + 4)
            row[:h, x:x + w] = _tile(ident.thumbs.get(s["tid"]), h, w)
            cv2.rectangle(row, (x, 0), (x + w - 1, h - 1), colour, 2)
            cv2.putText(row, s["camera"][:10], (x, h + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 0, 0), 1)
            cv2.putText(row, when(s["end"])[11:19], (x, h + 23), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (60, 60, 60), 1)
        lines.append(row)
    if not lines:
        lines = [np.full((60, 400, 3), 255, np.uint8)]
        cv2.putText(lines[0], "no identities", (10, 35), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    sheet = np.concatenate([np.pad(r, ((2, 2), (0, 0), (0, 0)), constant_values=255) for r in lines])
    cv2.imwrite(str(path), sheet[..., ::-1])
    return path


def timeline(identities: list[Identity], path: Path, rows: int = 60) -> Path:
    """Identity (y) against time (x, UTC), a bar per sighting coloured by camera."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = identities[:rows]
    cameras = sorted({c for i in shown for c in i.cameras})
    palette = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(11, 1.5 + 0.22 * max(len(shown), 1)))
    t0 = min((s["start"] for i in shown for s in i.sightings), default=0.0)
    for y, ident in enumerate(shown):
        for s in ident.sightings:
            ax.barh(y, max(s["end"] - s["start"], 0.2), left=s["start"] - t0, height=0.7,
                    color=palette(cameras.index(s["camera"]) % 10))
    ax.set_yticks(range(len(shown)), [i.iid[:8] for i in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"seconds after {when(t0)} (UTC, camera clock)")
    ax.set_title(f"{len(identities)} identities, {sum(len(i.sightings) for i in identities)} sightings")
    for k, camera in enumerate(cameras):
        ax.barh([], [], color=palette(k % 10), label=camera)
    if cameras:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def track_identities(identities: list[Identity]) -> dict[tuple[str, str, int], list[tuple[int, str]]]:
    """(camera, session, track) -> [(window start frame, identity)] sorted: who each track was, window by
    window (a tracklet id is camera:session:track:start)."""
    out: dict[tuple[str, str, int], list[tuple[int, str]]] = {}
    for ident in identities:
        for s in ident.sightings:
            camera, session, track, start = s["tid"].rsplit(":", 3)
            out.setdefault((camera, session, int(track)), []).append((int(start), ident.iid))
    for windows in out.values():
        windows.sort()
    return out


def identity_at(windows: list[tuple[int, str]] | None, frame: int) -> str | None:
    """The identity of the window holding frame (the latest window starting at or before it)."""
    if not windows:
        return None
    found = None
    for start, iid in windows:
        if start > frame:
            break
        found = iid
    return found


def annotated_video(camera, tracker, model, identities: list[Identity], path: Path, max_frames: int | None = None,
                    progress: bool = True) -> tuple[Path, np.ndarray | None]:
    """The camera's file replayed through the same pipeline (same session, so the same track ids and
    tracklet ids), each track drawn in its gallery identity's colour with the identity's id. Returns the
    video's path and a frame with the most identities on it (for a still)."""
    from tqdm import tqdm

    from starreid.streams import open_source
    from starreid.tracker.annotate import draw_tracks
    from starreid.tracker.pipeline import CameraPipeline

    tracker = type(tracker).model_validate(tracker.model_dump() | {"pose_every": 1})
    pipeline = CameraPipeline.from_config(tracker, camera.id, camera.modality, model.height, model.width)
    source = open_source(camera)
    tracks = track_identities(identities)
    writer, best, best_count = None, None, -1
    try:
        for frame in tqdm(source.frames(), desc=f"report {camera.id}", unit="frame", disable=not progress):
            pipeline.process(frame)
            labels = {}
            for view in pipeline.views:
                iid = identity_at(tracks.get((camera.id, frame.session, view.track_id)), frame.index)
                if iid is not None:
                    labels[view.track_id] = iid
            image = draw_tracks(frame.image, pipeline.views, labels={k: v[:8] for k, v in labels.items()},
                                colours={k: identity_colour(v) for k, v in labels.items()})
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0,
                                         (image.shape[1], image.shape[0]))
            writer.write(image[..., ::-1])
            if len(set(labels.values())) > best_count:
                best, best_count = image, len(set(labels.values()))
            if max_frames is not None and frame.index + 1 >= max_frames:
                break
    finally:
        source.close()
        pipeline.detector.close()
        if writer is not None:
            writer.release()
    return path, best


def write_report(cfg, client, keys, out: Path, video: bool = True, max_frames: int | None = None,
                 progress: bool = True) -> dict:
    """The sheet, the timeline and (for file cameras, video=True) annotated videos in out; a summary dict."""
    out.mkdir(parents=True, exist_ok=True)
    identities = read_gallery(client, keys)
    summary = {"identities": len(identities), "sightings": sum(len(i.sightings) for i in identities),
               "sheet": str(identity_sheet(identities, out / "identities.png")),
               "timeline": str(timeline(identities, out / "timeline.png")), "videos": {}}
    if video:
        from starreid.app.config.resources import file_source

        for camera in cfg.cameras:
            if file_source(camera.source) is None:
                log.info("report: camera %s is live; its annotated video needs a file source", camera.id)
                continue
            path, still = annotated_video(camera, cfg.tracker, cfg.model, identities, out / f"{camera.id}.mp4",
                                          max_frames, progress)
            summary["videos"][camera.id] = str(path)
            if still is not None:
                cv2.imwrite(str(out / f"{camera.id}.png"), still[..., ::-1])
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
