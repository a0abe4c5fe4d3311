"""Renders one tracklet: a walking identity seen by one camera in RGB or IR, with per-frame degradations."""
from __future__ import annotations

import cv2
import numpy as np

from starreid.reid.synth.body import P, body_points, face_visibility, project
from starreid.reid.synth.identity import Identity
from starreid.reid.synth.raster import (BG, BOTTOM, DROPPABLE, FEATURE, HAIR, OCCLUDER, SHOE, SKIN, TOP,
                               rasterise)
from starreid.reid.synth.scene import Camera

SS = 2  # supersampling factor: draw at twice the size, area-downsample for anti-aliasing


def _texture(kind: str, period: float, h: int, w: int, origin) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = x - origin[0], y - origin[1]
    if kind == "hstripes":
        return (np.floor(y / period) % 2).astype(bool)
    if kind == "vstripes":
        return (np.floor(x / period) % 2).astype(bool)
    if kind == "checks":
        return ((np.floor(x / period) + np.floor(y / period)) % 2).astype(bool)
    if kind == "dots":
        return ((x % period - period / 2) ** 2 + (y % period - period / 2) ** 2) < (period / 3.2) ** 2
    return np.zeros((h, w), bool)


def _colour_rgb(ident, cv, bg, origin, period, occ_rgb, light) -> np.ndarray:
    pal = np.zeros((8, 3), np.float32)
    pal[SKIN], pal[TOP], pal[BOTTOM] = ident.skin_rgb, ident.top_rgb, ident.bottom_rgb
    pal[HAIR], pal[SHOE], pal[FEATURE], pal[OCCLUDER] = ident.hair_rgb, ident.shoe_rgb, (0.1, 0.07, 0.06), occ_rgb
    h, w = cv.label.shape
    col = pal[cv.label]
    for label, kind in ((TOP, ident.top_texture), (BOTTOM, ident.bottom_texture)):
        if kind != "plain":
            m = _texture(kind, period, h, w, origin) & (cv.label == label)
            col[m] = ident.texture_rgb
    shade = cv2.GaussianBlur(cv.shade, (0, 0), 1.2 * SS)
    person = col * (0.3 + 0.75 * shade)[..., None] * np.asarray(light, np.float32)
    fg = (cv.label != BG)[..., None]
    return np.where(fg, person, bg * np.asarray(light, np.float32))


def _colour_ir(ident, cv, bg, cam) -> np.ndarray:
    heat = ident.body_heat
    temp = np.zeros(8, np.float32)
    # Eye sockets, mouth and hair run cooler than skin, which keeps a face-like pattern in the heat image.
    temp[SKIN], temp[FEATURE], temp[HAIR] = heat, heat * 0.5, heat * 0.4
    temp[TOP] = heat * (0.5 + 0.45 * (1 - ident.top_insulation))
    temp[BOTTOM] = heat * (0.5 + 0.45 * (1 - ident.bottom_insulation))
    temp[SHOE], temp[OCCLUDER] = heat * 0.4, 0.22
    t = temp[cv.label] * (0.6 + 0.4 * cv.shade)  # skin facing the sensor reads warmer
    t = np.where(cv.label != BG, t, bg)
    t = cv2.GaussianBlur(t, (0, 0), 0.5 * SS)  # thermal halo: heat bleeds past the silhouette
    return np.repeat((cam.ir_offset + cam.ir_gain * t)[..., None], 3, axis=2)


def render_tracklet(ident: Identity, cam: Camera, modality: str, n_frames: int, height: int, width: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Returns frames (T, H, W, 3) uint8 RGB and ground-truth keypoints (T, 17, 3): x, y pixels, visibility 0/1."""
    H, W = height * SS, width * SS
    yaw = cam.yaw + rng.normal(0, np.deg2rad(10))
    if rng.random() < 0.5:
        yaw = -yaw  # the same camera sees people walk both ways
    cadence = ident.cadence * rng.normal(1.0, 0.04)
    phase = rng.uniform(0, 2 * np.pi)
    pan_x = rng.uniform(0, cam.bg_rgb.shape[1] - W)
    pan_v = rng.uniform(-3, 3) * SS
    occ = None
    if rng.random() < 0.3:  # an occluder crossing part of the tracklet
        a = int(rng.integers(0, n_frames))
        occ = (a, a + int(rng.integers(3, 12)), rng.random() < 0.5, rng.uniform(0.2, 0.8), rng.uniform(-0.05, 0.05))
    occ_rgb = tuple(float(v) for v in rng.uniform(0.05, 0.6, 3))
    period = ident.texture_period * SS * height / 128.0
    jitter = np.zeros(3)
    frames = np.zeros((n_frames, height, width, 3), np.uint8)
    kps = np.zeros((n_frames, 17, 3), np.float32)
    for t in range(n_frames):
        jitter = 0.7 * jitter + 0.3 * rng.normal(0, [0.02 * W, 0.012 * H, 0.025])
        px = cam.height_frac * H * (1 + jitter[2])
        uv_u, depth = project(body_points(ident, phase + 2 * np.pi * cadence * t), yaw)
        uv = np.stack([W / 2 + cam.x_off * W + jitter[0] + uv_u[:, 0] * px,
                       cam.foot_frac * H + jitter[1] - uv_u[:, 1] * px], axis=1)
        dropped = frozenset([str(rng.choice(sorted(DROPPABLE)))]) if rng.random() < 0.05 else frozenset()
        cv = rasterise(ident, uv, depth, yaw, px, H, W, dropped)
        if occ is not None and occ[0] <= t <= occ[1]:
            _, _, pole, pos, speed = occ
            x = int((pos + speed * (t - occ[0])) * W)
            if pole:
                cv2.rectangle(cv.label, (x - W // 8, 0), (x + W // 8, H), OCCLUDER, -1)
            else:
                cv2.rectangle(cv.label, (0, int(H * (0.55 + 0.3 * pos))), (W, H), OCCLUDER, -1)
        x0 = int(np.clip(pan_x + pan_v * t, 0, cam.bg_rgb.shape[1] - W))
        origin = uv[P["neck"]]
        if modality == "rgb":
            img = _colour_rgb(ident, cv, cam.bg_rgb[:, x0:x0 + W], origin, period, occ_rgb, cam.light)
        else:
            img = _colour_ir(ident, cv, cam.bg_ir[:, x0:x0 + W], cam)
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
        img = _degrade(img, modality, cam, rng)
        frames[t] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
        kps[t] = _ground_truth(uv[:17], cv.label, yaw, dropped, H, W)
    return frames, kps


def _degrade(img: np.ndarray, modality: str, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.12:  # motion blur
        k = int(rng.integers(3, 6))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1.0 / k
        img = cv2.filter2D(img, -1, kernel)
    if rng.random() < 0.12:  # low contrast
        m = img.mean()
        img = m + rng.uniform(0.3, 0.6) * (img - m)
    sigma = cam.ir_noise if modality == "ir" else 0.012
    img = img + rng.normal(0, sigma, img.shape[:2] + (1 if modality == "ir" else 3,)).astype(np.float32)
    return img


def _ground_truth(uv: np.ndarray, label: np.ndarray, yaw: float, dropped, H: int, W: int) -> np.ndarray:
    """COCO-17 in output pixels; a joint is visible unless out of frame, occluded, dropped or facing away."""
    vis = np.ones(17, bool)
    vis[:5] = face_visibility(yaw)
    for part in dropped:
        vis[P[DROPPABLE[part]]] = False
    xi, yi = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
    inside = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
    vis &= inside
    vis[inside] &= label[yi[inside], xi[inside]] != OCCLUDER
    xy = (uv + 0.5) / SS - 0.5  # supersampled pixel centres to output pixel centres
    out = np.zeros((17, 3), np.float32)
    out[vis, :2] = xy[vis]
    out[vis, 2] = 1.0
    return out
