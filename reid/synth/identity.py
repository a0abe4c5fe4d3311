"""What makes one synthetic person: body shape, gait and clothing, drawn once per identity."""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

TEXTURES = ("plain", "hstripes", "vstripes", "checks", "dots")


@dataclass(frozen=True)
class Identity:
    # Body shape, in units of a nominal standing height of 1.0 before `stature` scaling.
    stature: float  # overall size relative to the population mean
    head_r: float
    neck: float
    torso: float
    shoulder_w: float  # half width
    hip_w: float  # half width
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    limb_w: float  # limb thickness; build
    torso_w: float  # torso thickness factor
    # Gait.
    cadence: float  # gait cycles per frame
    hip_swing: float  # radians, amplitude of thigh swing
    knee_flex: float  # radians, peak knee bend
    arm_swing: float  # radians
    elbow_bend: float  # radians, resting elbow bend
    arm_lag: float  # radians, arm phase offset against the opposite leg
    bob: float  # vertical bounce amplitude
    lean: float  # forward torso lean, radians
    # Clothing and appearance (visible only in RGB except for sleeve/leg length and insulation).
    top_rgb: tuple[float, float, float]
    bottom_rgb: tuple[float, float, float]
    top_texture: str
    bottom_texture: str
    texture_period: float  # pixels at 128-pixel frame height
    texture_rgb: tuple[float, float, float]
    skin_rgb: tuple[float, float, float]
    hair_rgb: tuple[float, float, float]
    shoe_rgb: tuple[float, float, float]
    long_sleeves: bool
    shorts: bool
    hair_long: bool
    # Thermal appearance (IR): insulation dims the body heat through clothes; independent of colour.
    body_heat: float
    top_insulation: float
    bottom_insulation: float


def _colour(rng: np.random.Generator, sat=(0.3, 0.95), val=(0.2, 0.95)) -> tuple[float, float, float]:
    rgb = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val))
    return tuple(float(c) for c in rgb)


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draws one identity; every field varies so that shape and motion alone can tell people apart."""
    skin_v = rng.uniform(0.35, 0.95)
    skin = colorsys.hsv_to_rgb(rng.uniform(0.04, 0.09), rng.uniform(0.3, 0.6), skin_v)
    torso = rng.uniform(0.27, 0.34)
    return Identity(
        stature=rng.uniform(0.86, 1.0),
        head_r=rng.uniform(0.055, 0.072),
        neck=rng.uniform(0.025, 0.05),
        torso=torso,
        shoulder_w=rng.uniform(0.085, 0.13),
        hip_w=rng.uniform(0.055, 0.09),
        upper_arm=rng.uniform(0.16, 0.2),
        forearm=rng.uniform(0.14, 0.18),
        thigh=rng.uniform(0.22, 0.27),
        shin=rng.uniform(0.21, 0.26),
        limb_w=rng.uniform(0.04, 0.07),
        torso_w=rng.uniform(0.85, 1.3),
        cadence=rng.uniform(1 / 26, 1 / 12),
        hip_swing=np.deg2rad(rng.uniform(14, 34)),
        knee_flex=np.deg2rad(rng.uniform(25, 65)),
        arm_swing=np.deg2rad(rng.uniform(6, 42)),
        elbow_bend=np.deg2rad(rng.uniform(5, 45)),
        arm_lag=rng.uniform(-0.5, 0.5),
        bob=rng.uniform(0.004, 0.02),
        lean=np.deg2rad(rng.uniform(-2, 9)),
        top_rgb=_colour(rng),
        bottom_rgb=_colour(rng, sat=(0.1, 0.8), val=(0.1, 0.8)),
        top_texture=str(rng.choice(TEXTURES)),
        bottom_texture=str(rng.choice(TEXTURES[:2], p=[0.8, 0.2])),
        texture_period=rng.uniform(3.0, 9.0),
        texture_rgb=_colour(rng),
        skin_rgb=tuple(float(c) for c in skin),
        hair_rgb=_colour(rng, sat=(0.2, 0.7), val=(0.05, 0.5)),
        shoe_rgb=_colour(rng, sat=(0.0, 0.5), val=(0.05, 0.6)),
        long_sleeves=bool(rng.random() < 0.6),
        shorts=bool(rng.random() < 0.25),
        hair_long=bool(rng.random() < 0.35),
        body_heat=rng.uniform(0.8, 1.0),
        top_insulation=rng.uniform(0.2, 0.7),
        bottom_insulation=rng.uniform(0.2, 0.7),
    )
