"""Rasterises a projected body into a part-label map and a shading map (shared by the RGB and IR renderers)."""
from __future__ import annotations

import cv2
import numpy as np

from starreid.reid.synth.body import P, face_visibility
from starreid.reid.synth.identity import Identity

# Part labels: what each pixel shows. Colour (RGB) and temperature (IR) are looked up from these.
BG, SKIN, TOP, BOTTOM, HAIR, SHOE, FEATURE, OCCLUDER = range(8)
DROPPABLE = {"left_forearm": "left_wrist", "right_forearm": "right_wrist",
             "left_shin": "left_ankle", "right_shin": "right_ankle"}


class Canvas:
    """Label and shading images at the supersampled resolution; parts are painted far to near."""

    def __init__(self, height: int, width: int):
        self.label = np.zeros((height, width), np.uint8)
        self.shade = np.zeros((height, width), np.float32)

    def capsule(self, a, b, thickness: float, label: int) -> None:
        t = max(int(round(thickness)), 1)
        pa, pb = tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b)
        cv2.line(self.label, pa, pb, label, t)
        cv2.line(self.shade, pa, pb, 0.62, t)
        # A brighter, thinner core nudged toward the light (upper left) reads as a lit cylinder.
        off = np.array([-0.18, -0.12]) * t
        qa = tuple(int(round(v)) for v in np.asarray(a) + off)
        qb = tuple(int(round(v)) for v in np.asarray(b) + off)
        cv2.line(self.shade, qa, qb, 1.0, max(int(t * 0.45), 1))

    def polygon(self, pts, label: int) -> None:
        poly = np.round(np.asarray(pts)).astype(np.int32)
        cv2.fillConvexPoly(self.label, poly, label)
        cv2.fillConvexPoly(self.shade, poly, 0.7)
        centre = poly.mean(axis=0)
        inner = centre + (poly - centre) * 0.6 + np.array([-0.12, -0.05]) * np.ptp(poly[:, 0])
        cv2.fillConvexPoly(self.shade, np.round(inner).astype(np.int32), 1.0)

    def ellipse(self, centre, axes, label: int, shade: float = 0.9) -> None:
        c = tuple(int(round(v)) for v in centre)
        ax = tuple(max(int(round(v)), 1) for v in axes)
        cv2.ellipse(self.label, c, ax, 0, 0, 360, label, -1)
        cv2.ellipse(self.shade, c, ax, 0, 0, 360, shade, -1)
        hi = (c[0] - ax[0] // 4, c[1] - ax[1] // 4)
        cv2.ellipse(self.shade, hi, (max(ax[0] // 2, 1), max(ax[1] // 2, 1)), 0, 0, 360, 1.0, -1)


def rasterise(ident: Identity, uv: np.ndarray, depth: np.ndarray, yaw: float, px: float,
              height: int, width: int, dropped: frozenset[str] = frozenset()) -> Canvas:
    """Paints the body whose image points are `uv` (N, 2 pixels) at `px` pixels per body unit."""
    cv = Canvas(height, width)
    lw = ident.limb_w * px * ident.stature
    parts = []  # (depth, painter)

    def add(names, fn):
        parts.append((float(np.mean([depth[P[n]] for n in names])), fn))

    for side in ("left", "right"):
        sh, el, wr = (P[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist"))
        hip, kn, an, toe = (P[f"{side}_{j}"] for j in ("hip", "knee", "ankle", "toe"))
        fore = SKIN if not ident.long_sleeves else TOP
        shin = SKIN if ident.shorts else BOTTOM
        add([f"{side}_shoulder", f"{side}_elbow"], lambda sh=sh, el=el: cv.capsule(uv[sh], uv[el], lw * 0.95, TOP))
        if f"{side}_forearm" not in dropped:
            add([f"{side}_elbow", f"{side}_wrist"], lambda el=el, wr=wr, f=fore: (
                cv.capsule(uv[el], uv[wr], lw * 0.8, f), cv.capsule(uv[wr], uv[wr], lw * 0.9, SKIN)))
        add([f"{side}_hip", f"{side}_knee"], lambda hip=hip, kn=kn: cv.capsule(uv[hip], uv[kn], lw * 1.3, BOTTOM))
        if f"{side}_shin" not in dropped:
            add([f"{side}_knee", f"{side}_ankle"], lambda kn=kn, an=an, toe=toe, s=shin: (
                cv.capsule(uv[kn], uv[an], lw * 1.05, s), cv.capsule(uv[an], uv[toe], lw * 0.85, SHOE)))

    # Torso: a quad whose width blends shoulder breadth and chest depth with the viewing angle.
    c, s = abs(np.cos(yaw)), abs(np.sin(yaw))
    w_sh = px * ident.stature * np.hypot(ident.shoulder_w * c, 0.09 * ident.torso_w * s) + lw * 0.35
    w_hip = px * ident.stature * np.hypot((ident.hip_w + 0.02) * c, 0.08 * ident.torso_w * s) + lw * 0.45
    top_c = uv[P["neck"]] + np.array([0.0, 0.02 * px])
    hip_c = (uv[P["left_hip"]] + uv[P["right_hip"]]) / 2
    waist = hip_c + (top_c - hip_c) * 0.25
    axis = top_c - hip_c
    nrm = np.array([-axis[1], axis[0]]) / (np.linalg.norm(axis) + 1e-6)

    def torso():
        cv.polygon([top_c + nrm * w_sh, top_c - nrm * w_sh, waist - nrm * w_hip * 1.05, waist + nrm * w_hip * 1.05], TOP)
        cv.polygon([waist + nrm * w_hip * 1.05, waist - nrm * w_hip * 1.05,
                    hip_c - nrm * w_hip - axis * 0.08, hip_c + nrm * w_hip - axis * 0.08], BOTTOM)
        cv.capsule(uv[P["neck"]], uv[P["head"]], lw * 0.9, SKIN)

    parts.append((0.0, torso))

    def head():
        r = ident.head_r * ident.stature * px
        h = uv[P["head"]]
        vis = face_visibility(yaw)
        back = uv[P["hair_back"]] - h
        cv.ellipse(h + back * 0.45 + np.array([0, -0.2 * r]), (r * 1.0, r * 1.05), HAIR, 0.8)
        if np.cos(yaw) > -0.35:  # some face shows: a skin oval shifted toward where the face points
            face = h + (uv[P["nose"]] - h) * 0.35 + np.array([0, 0.12 * r])
            cv.ellipse(face, (r * (0.55 + 0.3 * abs(np.cos(yaw))), r * 0.95), SKIN, 0.95)
        for j, name in enumerate(("left_eye", "right_eye")):
            if vis[1 + j]:
                cv.ellipse(uv[P[name]], (max(r * 0.14, 1), max(r * 0.1, 1)), FEATURE, 0.6)
        if vis[0]:
            mouth = uv[P["nose"]] + np.array([0, 0.45 * r])
            cv.capsule(mouth - np.array([0.2 * r * abs(np.cos(yaw)), 0]), mouth + np.array([0.2 * r * abs(np.cos(yaw)), 0]),
                       max(r * 0.1, 1), FEATURE)

    parts.append((float(depth[P["head"]]) + 0.05, head))
    if ident.hair_long:  # hangs behind the head: hidden by the torso from the front, over it from behind
        def hair():
            r = ident.head_r * ident.stature * px
            h = uv[P["head"]] + (uv[P["hair_back"]] - uv[P["head"]]) * 0.5
            cv.capsule(h, h + np.array([0, 1.5 * r]), r * 1.9, HAIR)
        parts.append((float(depth[P["hair_back"]]) - 0.02, hair))
    for _, fn in sorted(parts, key=lambda p: p[0]):
        fn()
    return cv
