"""A model's calibration: where its embeddings sit (a centre per modality, subtracted before normalising) and
the cosine a match needs per modality pair. Embeddings of every model lie in a narrow cone (ImageNet features
of any two people have cosine 0.85-0.93), so a fixed threshold means nothing until they are centred; each
model needs its own, learnt from a site's footage (`starreid calibrate`).

Stored as JSON beside the model's weights (`<weights>.calibration.json`), keyed by the model id it was made
for: the embedder centres with it, the gallery takes its thresholds, and both refuse one made for another
model. A calibrated model embeds into a space of its own, so its model id carries the calibration's."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PAIRS = ("rgb_rgb", "ir_ir", "rgb_ir")


class CalibrationError(ValueError):
    """A calibration file that cannot be used: unreadable, malformed, or made for another model."""


@dataclass
class Calibration:
    model_id: str  # the uncalibrated model's id (name and weight hash)
    centres: dict[str, np.ndarray]  # modality -> (D,) float32 mean embedding; a modality without one is not centred
    thresholds: dict[str, float]  # modality pair -> cosine a match needs (pairs without data are left out)
    stats: dict = field(default_factory=dict)  # what it was learnt from and how well it separates

    @property
    def digest(self) -> str:
        payload = json.dumps({"centres": {m: np.round(c, 6).tolist() for m, c in sorted(self.centres.items())},
                              "thresholds": self.thresholds}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:8]

    def calibrated_id(self) -> str:
        """The model id of embeddings centred by this calibration (never compared with uncentred ones)."""
        return f"{self.model_id}-cal{self.digest}"  # wire names allow [A-Za-z0-9_.:-]

    def centre(self, vectors: np.ndarray, modalities: list[str]) -> np.ndarray:
        """(B, D) unit embeddings -> centred and normalised again."""
        out = np.asarray(vectors, np.float32).copy()
        for i, m in enumerate(modalities):
            if m in self.centres:
                out[i] -= self.centres[m]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        data = {"format": "starreid-calibration-1", "model_id": self.model_id,
                "centres": {m: c.astype(float).tolist() for m, c in self.centres.items()},
                "thresholds": self.thresholds, "stats": self.stats}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)
        path.chmod(0o644)  # read by the service user of every daemon
        return path


def calibration_path(weights: str | Path) -> Path:
    return Path(f"{weights}.calibration.json")


def load(path: str | Path, model_id: str) -> Calibration:
    """The calibration at path, checked against the model it is to be used with."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read calibration {path}: {exc}") from None
    try:
        if data.get("format") != "starreid-calibration-1":
            raise ValueError(f"format {data.get('format')!r}")
        centres = {str(m): np.asarray(c, np.float32) for m, c in data["centres"].items()}
        thresholds = {str(k): float(v) for k, v in data["thresholds"].items()}
        if set(thresholds) - set(PAIRS) or not all(-1 <= v <= 1 and math.isfinite(v) for v in thresholds.values()):
            raise ValueError(f"thresholds {thresholds}")
        cal = Calibration(str(data["model_id"]), centres, thresholds, dict(data.get("stats", {})))
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"calibration {path} is malformed: {exc}") from None
    if cal.model_id != model_id:
        raise CalibrationError(f"calibration {path} was made for model {cal.model_id}, not {model_id}: run "
                               f"`starreid calibrate` for this model")
    return cal


def find(weights: str | None, model_id: str) -> Calibration | None:
    """The calibration stored beside the weights, if there is one (checked against model_id)."""
    if not weights or not calibration_path(weights).exists():
        return None
    return load(calibration_path(weights), model_id)
