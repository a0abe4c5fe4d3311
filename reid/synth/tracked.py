"""Detector-like crops (`starreid synth --crop detector`): the person walks across the camera's scene, a
simulated detector/tracker box follows them with realistic centre and scale error, and the crop is that box
padded and grown to the frame's aspect (the rule of tracker/crops.py), resized to the frame size. Optionally
some frames are misdetected (reid/synth/corrupt.py): background clutter, another person, a truncated box or
a heavy occluder. Returns, besides frames and ground-truth keypoints, the keypoints a pose estimator would
give and per-frame facts for the corruption sidecar.

Coordinates: the scene is the camera background enlarged SCENE_ZOOM times (so it is SS * SCENE_ZOOM times the
frame height, plus reflected margins above and below); a rendering window of the scene around whoever is
shown is rasterised, only the crop (plus a blur margin) is coloured, then area-resized to the frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import cv2
import numpy as np

from starreid.reid.synth import corrupt as C
from starreid.reid.synth.body import P, body_points, face_visibility, project
from starreid.reid.synth.identity import Identity, sample_identity
from starreid.reid.synth.raster import BG, DROPPABLE, OCCLUDER, Canvas, rasterise
from starreid.reid.synth.render import SS, _colour_ir, _colour_rgb, _degrade
from starreid.reid.synth.scene import Camera

SCENE_ZOOM = 2
# Detector box error, per frame: centre x in box widths, centre y in box heights, log width, log height;
# an AR(1) process (a tracker smooths its boxes) with coefficient JITTER_AR, clipped at JITTER_CLIP sigmas.
JITTER_SIGMA = np.array([0.05, 0.03, 0.08, 0.05])
JITTER_AR = 0.6
JITTER_CLIP = 2.5
CROP_PAD = 0.1  # as tracker/crops.py: the box widened by 10%, then grown to the frame's aspect ratio
PERSON_SCALE = 1.25  # pixels per body unit relative to the pan mode's: a crop is ~2x the frame height
TRUNCATE_SIDES = (("legs", 0.5), ("head", 0.2), ("left", 0.15), ("right", 0.15))  # the side that is cut off
TRUNCATE_KEEP = (0.4, 0.7)  # share of the box (height or width) left inside the crop
OCCLUDE_SIDES = (("bottom", 0.5), ("left", 0.25), ("right", 0.25))  # where the large occluder comes from
OCCLUDE_COVER = (0.55, 0.8)  # its initial extent over the person's box; grown until the body is mostly hidden
OCCLUDE_MAX_VISIBLE = 0.45  # heavy occlusion leaves at most this share of the silhouette visible


@dataclass(frozen=True)
class Scene:
    """A camera's background at scene resolution (zoomed, with reflected margins above and below)."""
    rgb: np.ndarray  # (Hs, Wb, 3) float32
    ir: np.ndarray  # (Hs, Wb) float32
    pad: int  # rows of margin above the zoomed background (also below)
    inner: int  # rows of the zoomed background


def make_scene(cam: Camera) -> Scene:
    rgb = cv2.resize(cam.bg_rgb, None, fx=SCENE_ZOOM, fy=SCENE_ZOOM, interpolation=cv2.INTER_LINEAR)
    ir = cv2.resize(cam.bg_ir, None, fx=SCENE_ZOOM, fy=SCENE_ZOOM, interpolation=cv2.INTER_LINEAR)
    pad = rgb.shape[0] // 4
    rgb = cv2.copyMakeBorder(rgb, pad, pad, 0, 0, cv2.BORDER_REFLECT)
    ir = cv2.copyMakeBorder(ir, pad, pad, 0, 0, cv2.BORDER_REFLECT)
    return Scene(rgb, ir, pad, rgb.shape[0] - 2 * pad)


@dataclass(frozen=True)
class Corruption:
    """What `render_detector_tracklet` needs to corrupt frames: the schedule's rate and kind weights, and the
    people an identity switch may jump to (same camera, modality and split)."""
    rate: float = 0.0
    kinds: tuple = C.DEFAULT_KINDS
    others: tuple[int, ...] = ()


@dataclass
class Walker:
    ident: Identity
    yaw: float
    cadence: float
    phase: float
    px: float
    foot_y: float
    x0: float
    vx: float
    t0: int = 0  # frame at which phase and x are as given

    def points(self, t: int):
        """Scene pixel coordinates (N, 2) and depths of the body at frame t."""
        uv_u, depth = project(body_points(self.ident, self.phase + 2 * np.pi * self.cadence * (t - self.t0)),
                              self.yaw)
        x = self.x0 + self.vx * (t - self.t0)
        return np.stack([x + uv_u[:, 0] * self.px, self.foot_y - uv_u[:, 1] * self.px], axis=1), depth

    def centre_x(self, t: int) -> float:
        return self.x0 + self.vx * (t - self.t0)


def _walk_speed(ident: Identity, yaw: float, px: float, cadence: float) -> float:
    """Image-x speed (scene px per frame) of a walker: two steps per gait cycle, seen at this yaw."""
    step = 2 * (ident.thigh + ident.shin) * np.sin(ident.hip_swing) * ident.stature
    return float(np.sin(yaw) * 2 * step * cadence * px)


def _pick(rng: np.random.Generator, table):
    names, p = zip(*table)
    return names[int(rng.choice(len(names), p=np.asarray(p) / np.sum(p)))]


def _iou(a, b) -> float:
    ix = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    iy = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _crop_rect(box, height: int, width: int):
    """(x0, y0, w, h) of box (x1, y1, x2, y2) widened by CROP_PAD and grown to the frame aspect (tracker/crops.py)."""
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1, 1.0) * (1 + CROP_PAD), max(y2 - y1, 1.0) * (1 + CROP_PAD)
    aspect = width / height
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return [cx - w / 2, cy - h / 2, w, h]


def _jitter_box(box, e):
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2 + e[0] * w, (y1 + y2) / 2 + e[1] * h
    w, h = w * np.exp(e[2]), h * np.exp(e[3])
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def _norm_box(box, crop):
    x0, y0, w, h = crop
    return [(box[0] - x0) / w, (box[1] - y0) / h, (box[2] - x0) / w, (box[3] - y0) / h]


class _Window:
    """A full-height vertical strip of the scene around a horizontal position, rasterised at scene scale."""

    def __init__(self, scene: Scene, cx: float, width: int):
        hs, wb = scene.rgb.shape[:2]
        self.w = min(width, wb)
        self.x0 = int(np.clip(round(cx - self.w / 2), 0, wb - self.w))
        self.h = hs
        self.canvas = None
        self.silhouette = None

    def draw(self, walker: Walker, t: int, dropped=frozenset()):
        uv, depth = walker.points(t)
        uvw = uv - np.array([self.x0, 0.0])
        self.canvas = rasterise(walker.ident, uvw, depth, walker.yaw, walker.px, self.h, self.w, dropped)
        self.silhouette = self.canvas.label != BG
        x, y, w, h = cv2.boundingRect(self.silhouette.view(np.uint8))
        return uvw, [x + self.x0, y, x + w + self.x0, y + h]  # box in scene edge coordinates

    def empty(self):
        self.canvas = Canvas(self.h, self.w)
        self.silhouette = np.zeros((self.h, self.w), bool)


def render_detector_tracklet(ident: Identity, cam: Camera, scene: Scene, modality: str, n_frames: int,
                             height: int, width: int, rng_key: tuple, pid: int = 0, box_jitter: float = 1.0,
                             corruption: Corruption = Corruption(), identity_of=None):
    """One tracklet with detector-like crops. rng_key (ints) seeds every draw: the tracklet's base stream
    (pose, path, box error, light occluders, degradations: independent of the corruption settings, so a
    frame left clean is the same with any rate) and its corruption stream.

    Returns frames (T, H, W, 3) uint8, ground-truth keypoints (T, 17, 3) and estimator-like keypoints
    (T, 17, 3) (output pixels, score), and info: per-frame arrays code, person (pid shown in the crop: `pid`,
    another person's, or 0 for none), iou, visible, det_box,
    person_box (sidecar fields) plus joints (T, 17, 2: the shown person's joints in output pixels, also
    those hidden or outside the crop) and occluded (T, 17: joints under an occluder).
    identity_of(pid) gives the Identity of a person an identity switch shows (from corruption.others)."""
    if corruption.others and identity_of is None:
        raise ValueError("identity_of (pid -> Identity) is needed to render identity switches")
    base = np.random.default_rng([*rng_key, 0])
    crng = np.random.default_rng([*rng_key, 1])
    wb = scene.rgb.shape[1]

    # The tracked person: direction, gait, scale, and a path across the scene that fits inside it.
    yaw = cam.yaw + base.normal(0, np.deg2rad(10))
    if base.random() < 0.5:
        yaw = -yaw
    cadence = ident.cadence * base.normal(1.0, 0.04)
    phase = base.uniform(0, 2 * np.pi)
    px_cam = PERSON_SCALE * SS * height * cam.height_frac
    px = px_cam * base.normal(1.0, 0.03)
    foot_y = scene.pad + scene.inner * base.uniform(0.68, 0.76)
    win_w = int(1.6 * px_cam)
    vx = _walk_speed(ident, yaw, px, cadence)
    room = max(wb - win_w, 1.0)
    if abs(vx) * max(n_frames - 1, 1) > room:
        vx *= room / (abs(vx) * max(n_frames - 1, 1))
    span = abs(vx) * (n_frames - 1)
    start = win_w / 2 + base.uniform(0, max(room - span, 0.0))
    walker = Walker(ident, yaw, cadence, phase, px, foot_y, start if vx >= 0 else start + span, vx)
    occ = None
    if base.random() < 0.3:  # a pole or low wall crossing part of the tracklet (as in the pan mode)
        a = int(base.integers(0, n_frames))
        occ = (a, a + int(base.integers(3, 12)), base.random() < 0.5, base.uniform(0.2, 0.8), base.uniform(-0.05, 0.05))
    occ_rgb = tuple(float(v) for v in base.uniform(0.05, 0.6, 3))
    e = base.normal(0, 1, 4) * JITTER_SIGMA * box_jitter

    # Corruption schedule and per-run parameters.
    runs = C.plan_corruptions(n_frames, corruption.rate, corruption.kinds, crng)
    codes = C.codes_from_runs(n_frames, runs)
    run_of = np.full(n_frames, -1)
    params = []
    for r, (s, length, code) in enumerate(runs):
        run_of[s:s + length] = r
        p = {}
        if code in (C.BACKGROUND, C.OTHER):
            # Somewhere else in the scene, clear of the tracked person during the run.
            xs = [walker.centre_x(t) for t in range(s, s + length)]
            lo, hi = win_w / 2, wb - win_w / 2
            best = None
            for _ in range(20):
                x = crng.uniform(lo, hi)
                d = min(abs(x - v) for v in xs)
                if best is None or d > best[1]:
                    best = (x, d)
                if d >= 0.8 * px_cam:
                    break
            p["x"] = best[0]
        if code == C.OTHER:
            others = corruption.others or ()
            p["pid"] = int(crng.choice(others)) if others else 0
            other = identity_of(p["pid"]) if others else sample_identity(crng)
            oyaw = cam.yaw + crng.normal(0, np.deg2rad(10))
            oyaw = -oyaw if crng.random() < 0.5 else oyaw
            ocad = other.cadence * crng.normal(1.0, 0.04)
            opx = px_cam * crng.normal(1.0, 0.03)
            p["walker"] = Walker(other, oyaw, ocad, crng.uniform(0, 2 * np.pi), opx, foot_y, p["x"],
                                 _walk_speed(other, oyaw, opx, ocad), t0=s)
        elif code == C.TRUNCATED:
            p["side"], p["keep"] = _pick(crng, TRUNCATE_SIDES), crng.uniform(*TRUNCATE_KEEP)
        elif code == C.OCCLUDED:
            p["side"], p["cover"] = _pick(crng, OCCLUDE_SIDES), crng.uniform(*OCCLUDE_COVER)
            p["rgb"] = tuple(float(v) for v in crng.uniform(0.05, 0.6, 3))
        params.append(p)

    frames = np.zeros((n_frames, height, width, 3), np.uint8)
    gt = np.zeros((n_frames, 17, 3), np.float32)
    est = np.zeros((n_frames, 17, 3), np.float32)
    info = dict(code=codes, person=np.zeros(n_frames, np.int32), iou=np.zeros(n_frames, np.float32),
                visible=np.zeros(n_frames, np.float32), det_box=np.zeros((n_frames, 4), np.float32),
                person_box=np.zeros((n_frames, 4), np.float32), joints=np.zeros((n_frames, 17, 2), np.float32),
                occluded=np.zeros((n_frames, 17), bool))
    for t in range(n_frames):
        frng = np.random.default_rng([*rng_key, 0, t + 1])
        e = JITTER_AR * e + np.sqrt(1 - JITTER_AR ** 2) * frng.normal(0, 1, 4) * JITTER_SIGMA * box_jitter
        e = np.clip(e, -JITTER_CLIP * JITTER_SIGMA * box_jitter, JITTER_CLIP * JITTER_SIGMA * box_jitter)
        dropped = frozenset([str(frng.choice(sorted(DROPPABLE)))]) if frng.random() < 0.05 else frozenset()
        code = int(codes[t])
        p = params[run_of[t]] if run_of[t] >= 0 else {}
        cfr = np.random.default_rng([*rng_key, 1, t + 1])

        # The tracked person's true box (always: the IoU and a background box's size refer to it).
        own = _Window(scene, walker.centre_x(t), win_w)
        own_uv, true_box = own.draw(walker, t, dropped)
        if code == C.OTHER:
            win = _Window(scene, p["walker"].centre_x(t), win_w)
            uvw, shown_box = win.draw(p["walker"], t)
            shown, shown_pid = p["walker"], p["pid"]
        elif code == C.BACKGROUND:
            win = _Window(scene, p["x"], win_w)
            win.empty()
            w, h = true_box[2] - true_box[0], true_box[3] - true_box[1]
            shown_box = [p["x"] - w / 2, true_box[1], p["x"] + w / 2, true_box[3]]
            uvw, shown, shown_pid = None, None, 0
        else:
            win, uvw, shown_box, shown, shown_pid = own, own_uv, true_box, walker, pid
        det = _jitter_box(shown_box, e)
        x0, y0, cw, ch = _crop_rect(det, height, width)
        if code == C.TRUNCATED:  # move the crop so that the cut line is its edge
            bx1, by1, bx2, by2 = true_box
            bw, bh = bx2 - bx1, by2 - by1
            side, keep = p["side"], p["keep"]
            if side == "legs":
                dx, dy = 0.0, (by1 + keep * bh) - (y0 + ch)
            elif side == "head":
                dx, dy = 0.0, (by2 - keep * bh) - y0
            elif side == "left":
                dx, dy = (bx2 - keep * bw) - x0, 0.0
            else:
                dx, dy = (bx1 + keep * bw) - (x0 + cw), 0.0
            x0, y0 = x0 + dx, y0 + dy
            det = [det[0] + dx, det[1] + dy, det[2] + dx, det[3] + dy]
        # Keep the crop inside the rendering window; integer canvas pixels from here on.
        cw, ch = min(cw, win.w), min(ch, win.h)
        x0 = float(np.clip(x0, win.x0, win.x0 + win.w - cw))
        y0 = float(np.clip(y0, 0, win.h - ch))
        wi, hi = max(int(round(cw)), 1), max(int(round(ch)), 1)
        xi0 = int(np.clip(round(x0) - win.x0, 0, win.w - wi))
        yi0 = int(np.clip(round(y0), 0, win.h - hi))
        crop = (xi0 + win.x0, yi0, wi, hi)  # scene coordinates of the crop actually taken
        label = win.canvas.label
        rgb_occ = occ_rgb
        if code in (C.CLEAN, C.TRUNCATED, C.OCCLUDED) and occ is not None and occ[0] <= t <= occ[1]:
            _, _, pole, pos, speed = occ
            x = int(xi0 + (pos + speed * (t - occ[0])) * wi)
            if pole:
                _occlude(win.canvas, slice(None), slice(max(x - wi // 8, 0), max(x + wi // 8 + 1, 0)))
            else:
                _occlude(win.canvas, slice(int(yi0 + hi * (0.55 + 0.3 * pos)), None), slice(None))
        ys, xs = slice(yi0, yi0 + hi), slice(xi0, xi0 + wi)
        total = max(int(np.count_nonzero(win.silhouette)), 1)
        if code == C.OCCLUDED:
            seen = win.silhouette[ys, xs] & (label[ys, xs] != OCCLUDER)
            _heavy_occluder(win.canvas, seen, (xi0, yi0), total, true_box, win.x0, p)
            rgb_occ = p["rgb"]
        if code in (C.CLEAN, C.TRUNCATED, C.OCCLUDED):
            info["iou"][t] = _iou(det, true_box)
            info["visible"][t] = np.count_nonzero(win.silhouette[ys, xs] & (label[ys, xs] != OCCLUDER)) / total
        info["person"][t] = shown_pid
        info["det_box"][t] = _norm_box(det, (crop[0], crop[1], wi, hi))
        if code != C.BACKGROUND:
            info["person_box"][t] = _norm_box(shown_box, (crop[0], crop[1], wi, hi))

        # Colour only the crop and a margin for the blurs, then area-resize it to the frame.
        m = 8
        rx0, rx1 = max(xi0 - m, 0), min(xi0 + wi + m, win.w)
        ry0, ry1 = max(yi0 - m, 0), min(yi0 + hi + m, win.h)
        sub = SimpleNamespace(label=np.ascontiguousarray(label[ry0:ry1, rx0:rx1]),
                              shade=np.ascontiguousarray(win.canvas.shade[ry0:ry1, rx0:rx1]))
        person = shown.ident if shown is not None else ident
        origin = (uvw[P["neck"]] - (rx0, ry0)) if uvw is not None else (0.0, 0.0)
        period = person.texture_period * SS * height / 128.0 * (px_cam / (SS * height * cam.height_frac))
        sx = slice(win.x0 + rx0, win.x0 + rx1)
        if modality == "rgb":
            img = _colour_rgb(person, sub, np.ascontiguousarray(scene.rgb[ry0:ry1, sx]), origin, period, rgb_occ,
                              cam.light)
        else:
            img = _colour_ir(person, sub, np.ascontiguousarray(scene.ir[ry0:ry1, sx]), cam)
        img = img[yi0 - ry0:yi0 - ry0 + hi, xi0 - rx0:xi0 - rx0 + wi]
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
        img = _degrade(img, modality, cam, frng)
        frames[t] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)

        # Keypoints of whoever is shown: ground truth, and what an estimator would return.
        if shown is None:
            body_uv, _ = project(body_points(sample_identity(cfr), cfr.uniform(0, 2 * np.pi)),
                                 cfr.uniform(-np.pi, np.pi))
            est[t] = C.spurious_pose(body_uv[:17], height, width, cfr)
            continue
        xy = (uvw[:17] + 0.5 - (xi0, yi0)) * (width / wi, height / hi) - 0.5
        info["joints"][t] = xy
        vis = np.ones(17, bool)
        vis[:5] = face_visibility(shown.yaw)
        if shown is walker:
            for part in dropped:
                vis[P[DROPPABLE[part]]] = False
        xr, yr = np.round(uvw[:17, 0]).astype(int), np.round(uvw[:17, 1]).astype(int)
        inside = (xr >= xi0) & (xr < xi0 + wi) & (yr >= yi0) & (yr < yi0 + hi)
        under = np.zeros(17, bool)
        under[inside] = label[yr[inside], xr[inside]] == OCCLUDER
        info["occluded"][t] = vis & inside & under
        vis &= inside & ~under
        gt[t, vis, 0] = np.clip(xy[vis, 0], 0, width - 1)
        gt[t, vis, 1] = np.clip(xy[vis, 1], 0, height - 1)
        gt[t, vis, 2] = 1.0
        est[t] = gt[t]
        if code == C.OCCLUDED:  # the estimator guesses occluded joints near where they are, or drops them
            occl = info["occluded"][t]
            est[t, occl, :2] = xy[occl]
            est[t] = C.guess_occluded(est[t], occl, height, width, cfr)
    return frames, gt, est, info


def _occlude(canvas: Canvas, rows: slice, cols: slice) -> None:
    """An occluder over these canvas pixels: flat shading, so the body behind it leaves no trace."""
    canvas.label[rows, cols] = OCCLUDER
    canvas.shade[rows, cols] = 0.75


def _heavy_occluder(canvas: Canvas, visible: np.ndarray, offset, total: int, box, wx0: int, p: dict) -> None:
    """Paints a large occluder from one side of the person's box, growing it until at most
    OCCLUDE_MAX_VISIBLE of the silhouette (`total` pixels) stays visible. `visible`: the silhouette pixels
    visible so far inside the crop, whose top-left corner is at window pixel `offset`."""
    x1, y1, x2, y2 = box[0] - wx0, box[1], box[2] - wx0, box[3]
    h, w = canvas.label.shape
    rows, cols = np.zeros(h, np.int64), np.zeros(w, np.int64)
    rows[offset[1]:offset[1] + visible.shape[0]] = visible.sum(axis=1)
    cols[offset[0]:offset[0] + visible.shape[1]] = visible.sum(axis=0)
    cover = p["cover"]
    while True:
        if p["side"] == "bottom":
            cut = int(np.clip(round(y2 - cover * (y2 - y1)), 0, h))
            left = rows[:cut].sum()
        elif p["side"] == "left":
            cut = int(np.clip(round(x1 + cover * (x2 - x1)), 0, w))
            left = cols[cut:].sum()
        else:
            cut = int(np.clip(round(x2 - cover * (x2 - x1)), 0, w))
            left = cols[:cut].sum()
        if left <= OCCLUDE_MAX_VISIBLE * total or cover >= 1.0:
            break
        cover += 0.05
    if p["side"] == "bottom":
        _occlude(canvas, slice(cut, None), slice(None))
    elif p["side"] == "left":
        _occlude(canvas, slice(None), slice(None, cut))
    else:
        _occlude(canvas, slice(None), slice(cut, None))
