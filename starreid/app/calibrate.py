"""Learning a model's calibration from a site's own footage, without labels: the tracker gives them for free.
Two tracks seen at the same time by one camera are two people (negative pairs, and sure ones); windows of
one track far apart in time are mostly one person (positive pairs: a track that slid from one person to
another makes some of them wrong). The centre of each modality is the mean embedding of its tracklets.

The threshold of a modality pair is chosen the way the gallery will use it: the calibration footage is
replayed through the gallery's own identity resolution (same exemplars, merging and search) at each
candidate threshold. Among the thresholds that keep at least `min_apart` of the sure negative pairs in
different identities (merging two people is the error a gallery cannot undo; splitting one is recovered
later when the pieces meet again), the one that puts the most pairs of both kinds on the right side is
taken. The shares are reported with it, and so is how well a single cosine separates the two pair sets."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from starreid.contracts.calibration import Calibration
from starreid.contracts.wire import Tracklet


@dataclass
class Pairs:
    positive: np.ndarray  # (P, 2) indices of tracklets of one person
    negative: np.ndarray  # (N, 2) indices of tracklets of two people


def free_pairs(tracklets: list[Tracklet], min_gap_frames: int) -> Pairs:
    """Positive: two windows of one track (same camera and session) whose starts are at least min_gap_frames
    apart. Negative: windows of two tracks of one camera whose times overlap (both people were in view)."""
    def key(t: Tracklet):
        camera, session, track, start = t.id.rsplit(":", 3)
        return camera, session, int(track), int(start)

    keys = [key(t) for t in tracklets]
    positive, negative = [], []
    for i in range(len(tracklets)):
        for j in range(i + 1, len(tracklets)):
            (ci, si, ti, fi), (cj, sj, tj, fj) = keys[i], keys[j]
            if (ci, si) != (cj, sj):
                continue
            if ti == tj:
                if abs(fi - fj) >= min_gap_frames:
                    positive.append((i, j))
            elif tracklets[i].start_ts <= tracklets[j].end_ts and tracklets[j].start_ts <= tracklets[i].end_ts:
                negative.append((i, j))
    as_array = lambda p: np.asarray(p, np.int64).reshape(-1, 2)  # noqa: E731
    return Pairs(as_array(positive), as_array(negative))


def pair_similarities(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return np.einsum("nd,nd->n", vectors[pairs[:, 0]], vectors[pairs[:, 1]]) if len(pairs) else np.zeros(0)


def best_threshold(positive: np.ndarray, negative: np.ndarray) -> tuple[float, float, float]:
    """(threshold, share of positives at or above it, share of negatives below it), the threshold maximising
    the mean of the two shares (midway between neighbouring similarities)."""
    candidates = np.unique(np.concatenate([positive, negative]))
    cuts = np.concatenate([[candidates[0] - 1e-3], (candidates[1:] + candidates[:-1]) / 2, [candidates[-1] + 1e-3]])
    pos_ok = (positive[None, :] >= cuts[:, None]).mean(axis=1)
    neg_ok = (negative[None, :] < cuts[:, None]).mean(axis=1)
    best = int(np.argmax(pos_ok + neg_ok))
    return float(cuts[best]), float(pos_ok[best]), float(neg_ok[best])


def replay(tracklets: list[Tracklet], centred: np.ndarray, gallery, threshold: float) -> list[str]:
    """Identity of each tracklet when the footage is resolved, in time order, by a Resolver built from the
    gallery section with this threshold for every modality pair."""
    from starreid.storage.resolver import Observation, Resolver

    section = gallery.model_copy(update={"thresholds": gallery.thresholds.model_copy(
        update={"rgb_rgb": threshold, "ir_ir": threshold, "rgb_ir": threshold})})
    resolver = Resolver.from_config(section)
    who = [""] * len(tracklets)
    for k in sorted(range(len(tracklets)), key=lambda i: tracklets[i].end_ts):
        t = tracklets[k]
        (decision,) = resolver.resolve([Observation(t.id, t.camera, t.modality, t.start_ts, t.end_ts,
                                                    centred[k].astype(np.float32), "calibration")], t.end_ts)
        who[k] = decision.iid
    return who


def replay_threshold(tracklets: list[Tracklet], centred: np.ndarray, pairs: Pairs, gallery, min_apart: float,
                     grid=np.round(np.arange(-0.2, 0.9, 0.02), 2)) -> dict:
    """Among thresholds whose replay keeps at least min_apart of the negative pairs apart (all of them, if none
    does), those with the most pairs on the right side (positives together plus negatives apart); of those, the
    middle one (a plateau of equally good thresholds is left with the most room on both sides). Returns what
    it does: {threshold, negative_apart, positive_together, identities}."""
    rows = []
    for threshold in grid:
        who = replay(tracklets, centred, gallery, float(threshold))
        rows.append({"threshold": float(threshold),
                     "negative_apart": round(float(np.mean([who[a] != who[b] for a, b in pairs.negative])), 4),
                     "positive_together": round(float(np.mean([who[a] == who[b] for a, b in pairs.positive])), 4),
                     "identities": len(set(who))})
    feasible = [r for r in rows if r["negative_apart"] >= min_apart] or rows
    score = lambda r: r["negative_apart"] + r["positive_together"]  # noqa: E731
    best = max(map(score, feasible))
    ties = [r for r in feasible if score(r) >= best - 0.005]
    return ties[len(ties) // 2]


def fit(model_id: str, vectors: np.ndarray, modalities: list[str], pairs: Pairs, tracklets: list[Tracklet],
        gallery, min_apart: float = 0.95, min_pairs: int = 5) -> Calibration:
    """The calibration of raw unit embeddings (N, D) of these tracklets. A modality pair gets a threshold only
    when it has at least min_pairs of both kinds (free pairs are within one camera, so only same-modality
    pairs ever do; rgb_ir keeps the configured threshold)."""
    vectors = np.asarray(vectors, np.float32)
    mods = np.asarray(modalities)
    centres = {m: vectors[mods == m].mean(axis=0) for m in sorted(set(modalities))}
    cal = Calibration(model_id, centres, {}, {})
    centred = cal.centre(vectors, list(modalities))
    stats = {"tracklets": int(len(vectors)), "pairs": {}}
    for m in sorted(set(modalities)):
        pos = pairs.positive[mods[pairs.positive[:, 0]] == m] if len(pairs.positive) else pairs.positive
        neg = pairs.negative[mods[pairs.negative[:, 0]] == m] if len(pairs.negative) else pairs.negative
        entry = {"positive": int(len(pos)), "negative": int(len(neg))}
        if len(pos) >= min_pairs and len(neg) >= min_pairs:
            raw_p, raw_n = pair_similarities(vectors, pos), pair_similarities(vectors, neg)
            p, n = pair_similarities(centred, pos), pair_similarities(centred, neg)
            rows = np.flatnonzero(mods == m)
            index = {int(k): i for i, k in enumerate(rows)}  # the modality's tracklets, renumbered
            sub = Pairs(np.vectorize(index.get)(pos).reshape(-1, 2), np.vectorize(index.get)(neg).reshape(-1, 2))
            chosen = replay_threshold([tracklets[k] for k in rows], centred[rows], sub, gallery, min_apart)
            cal.thresholds[f"{m}_{m}"] = chosen["threshold"]
            split, pos_ok, neg_ok = best_threshold(p, n)
            entry.update(**chosen, positive_above=round(float((p >= chosen["threshold"]).mean()), 4),
                         negative_below=round(float((n < chosen["threshold"]).mean()), 4),
                         pair_separation={"raw": round(sum(best_threshold(raw_p, raw_n)[1:]) / 2, 4),
                                          "centred": round((pos_ok + neg_ok) / 2, 4)},
                         raw_mean={"positive": round(float(raw_p.mean()), 4), "negative": round(float(raw_n.mean()), 4)},
                         centred_mean={"positive": round(float(p.mean()), 4), "negative": round(float(n.mean()), 4)})
        stats["pairs"][f"{m}_{m}"] = entry
    cal.stats = stats
    return cal


def plot(vectors: np.ndarray, modalities: list[str], pairs: Pairs, cal: Calibration, path) -> None:
    """The two free pair sets' cosine, raw and centred, with the chosen threshold (one row per modality)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mods = np.asarray(modalities)
    rows = [m for m in sorted(set(modalities)) if f"{m}_{m}" in cal.thresholds]
    fig, axes = plt.subplots(max(len(rows), 1), 2, figsize=(10, 3.2 * max(len(rows), 1)), squeeze=False)
    centred = cal.centre(vectors, list(modalities))
    for r, m in enumerate(rows):
        pos = pairs.positive[mods[pairs.positive[:, 0]] == m]
        neg = pairs.negative[mods[pairs.negative[:, 0]] == m]
        for c, (name, v) in enumerate((("raw", vectors), ("centred", centred))):
            ax = axes[r][c]
            bins = np.linspace(-1, 1, 81)
            ax.hist(pair_similarities(v, pos), bins, alpha=0.6, density=True, label=f"same track ({len(pos)})")
            ax.hist(pair_similarities(v, neg), bins, alpha=0.6, density=True, label=f"seen together ({len(neg)})")
            if name == "centred":
                ax.axvline(cal.thresholds[f"{m}_{m}"], color="black", linestyle="--", label="threshold")
            ax.set_title(f"{m.upper()}: {name} cosine")
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
