"""Walking kinematics: a 3D stick body in a sagittal gait cycle, turned by the camera's yaw and projected."""
from __future__ import annotations

import numpy as np

from starreid.reid.data.coco import JOINT
from starreid.reid.synth.identity import Identity

# Extra points beyond COCO-17 used for drawing: neck, head centre, toes, hands.
EXTRA = ("neck", "head", "left_toe", "right_toe", "hair_back")
N_POINTS = 17 + len(EXTRA)
P = {**JOINT, **{name: 17 + i for i, name in enumerate(EXTRA)}}


def _limb(start: np.ndarray, length: float, angle: float) -> np.ndarray:
    # Angle 0 points straight down; positive swings forward (+z) in the sagittal plane.
    return start + length * np.array([0.0, -np.cos(angle), np.sin(angle)])


def body_points(ident: Identity, phase: float) -> np.ndarray:
    """(N_POINTS, 3) body-frame points at gait phase `phase` (radians): x = person's left, y = up, z = forward."""
    s = ident.stature
    pts = np.zeros((N_POINTS, 3))
    leg = (ident.thigh + ident.shin) * 0.98
    pelvis_y = leg + ident.bob * np.cos(2 * phase)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        ph = phase if side == "left" else phase + np.pi
        thigh_a = ident.hip_swing * np.sin(ph)
        # Knee bends most in swing (thigh moving forward) and a little at heel strike.
        knee = ident.knee_flex * (0.5 + 0.5 * np.sin(ph + np.pi / 2)) ** 2 + 0.05
        hip = np.array([sign * ident.hip_w, pelvis_y, 0.0])
        kn = _limb(hip, ident.thigh, thigh_a)
        an = _limb(kn, ident.shin, thigh_a - knee)
        pts[P[f"{side}_hip"]], pts[P[f"{side}_knee"]], pts[P[f"{side}_ankle"]] = hip, kn, an
        pts[P[f"{side}_toe"]] = an + np.array([0.0, -0.01, 0.05])
    lean = ident.lean
    up = np.array([0.0, np.cos(lean), np.sin(lean)])
    chest = np.array([0.0, pelvis_y, 0.0]) + ident.torso * up
    neck = chest + ident.neck * up
    head = neck + ident.head_r * 1.15 * up
    pts[P["neck"]], pts[P["head"]] = chest, head
    for side, sign in (("left", 1.0), ("right", -1.0)):
        ph = phase + np.pi + ident.arm_lag if side == "left" else phase + ident.arm_lag
        arm_a = ident.arm_swing * np.sin(ph)
        sh = chest + np.array([sign * ident.shoulder_w, -0.01, 0.0])
        el = _limb(sh, ident.upper_arm, arm_a)
        wr = _limb(el, ident.forearm, arm_a + ident.elbow_bend * (1.0 + 0.5 * np.sin(ph)))
        pts[P[f"{side}_shoulder"]], pts[P[f"{side}_elbow"]], pts[P[f"{side}_wrist"]] = sh, el, wr
    r = ident.head_r
    pts[P["nose"]] = head + np.array([0.0, -0.15 * r, 1.0 * r])
    pts[P["left_eye"]] = head + np.array([0.38 * r, 0.2 * r, 0.85 * r])
    pts[P["right_eye"]] = head + np.array([-0.38 * r, 0.2 * r, 0.85 * r])
    pts[P["left_ear"]] = head + np.array([0.95 * r, 0.05 * r, 0.0])
    pts[P["right_ear"]] = head + np.array([-0.95 * r, 0.05 * r, 0.0])
    pts[P["hair_back"]] = head + np.array([0.0, 0.1 * r, -0.5 * r])
    return pts * s


def project(points: np.ndarray, yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """Orthographic view from a camera on the +z axis after turning the body by `yaw` (0 = facing camera).

    Returns (N, 2) (right, up) coordinates and (N,) depth toward the camera (larger is nearer)."""
    c, s = np.cos(yaw), np.sin(yaw)
    x = c * points[:, 0] + s * points[:, 2]
    z = -s * points[:, 0] + c * points[:, 2]
    return np.stack([x, points[:, 1]], axis=1), z


def face_visibility(yaw: float) -> np.ndarray:
    """Which of the five face joints a camera sees at this yaw (COCO convention: self-occluded = unlabelled)."""
    facing = np.cos(yaw)  # 1 facing the camera, -1 facing away
    side = -np.sin(yaw)  # > 0: the person's left side turned toward the camera
    nose = facing > -0.2
    left_eye = facing > -0.1 and side > -0.75
    right_eye = facing > -0.1 and side < 0.75
    left_ear = side > -0.35
    right_ear = side < 0.35
    return np.array([nose, left_eye, right_eye, left_ear, right_ear])
