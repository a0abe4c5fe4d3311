"""The head-only ablation's statistics: per cell (skeleton source, m) each arm's mAP and its paired difference
from the baseline over seeds, with a 95% percentile-bootstrap interval; Markdown tables and the delta-vs-m plot.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DIRECTIONS = ("i2v", "v2i")
LABELS = {"baseline": "baseline (adapter + GeM)", "fg": "+FG", "sg": "+SG", "full": "full STAR",
          "skeleton": "skeleton only (positive control)", "shuffled": "full STAR, shuffled skeletons (negative control)",
          "sg-uniform": "+SG, SG weights uniform", "full-uniform": "full STAR, SG weights uniform"}
COLOURS = {"fg": "tab:blue", "sg": "tab:orange", "full": "tab:green", "skeleton": "tab:red", "shuffled": "tab:purple",
           "sg-uniform": "tab:brown", "full-uniform": "tab:pink"}  # one colour per arm in every plot
ANY_SOURCE = "any"  # the baseline reads no skeleton: one set of runs serves every source


def read_results(path) -> list[dict]:
    """The runs of results.jsonl; a last line cut short (the sweep killed while writing it) is left out, so
    that run is trained again."""
    path = Path(path)
    if not path.exists():
        return []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    out = []
    for i, line in enumerate(lines):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i != len(lines) - 1:
                raise
    return out


def bootstrap_ci(diffs: np.ndarray, resamples: int, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean of paired differences, resampling the seeds."""
    diffs = np.asarray(diffs, float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), (resamples, len(diffs)))].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def _values(results, arm: str, source: str, m: int, direction: str) -> dict[int, float]:
    """seed -> mAP (%) of an arm (or 'sg-uniform' / 'full-uniform') in one cell."""
    base, uniform = (arm[:-8], True) if arm.endswith("-uniform") else (arm, False)
    want = ANY_SOURCE if base == "baseline" else source
    out = {}
    for r in results:
        if r["arm"] == base and r["source"] == want and str(m) in r["m"]:
            cell = r["m"][str(m)]["uniform" if uniform else "metrics"]
            out[r["seed"]] = 100 * cell[direction]["mAP"]
    return out


def cells(results, sources, ms, arms, resamples: int) -> dict:
    """{(source, m, arm, direction): {mean, n, delta, lo, hi}} with delta = arm - baseline, paired by seed."""
    rows = list(arms) + [f"{a}-uniform" for a in ("sg", "full") if a in arms]
    out = {}
    for source in sources:
        for m in ms:
            for d in DIRECTIONS:
                base = _values(results, "baseline", source, m, d)
                for arm in rows:
                    vals = _values(results, arm, source, m, d)
                    if not vals:
                        continue
                    entry = {"mean": float(np.mean(list(vals.values()))), "n": len(vals)}
                    paired = sorted(set(vals) & set(base))
                    if arm != "baseline" and len(paired) >= 2:
                        diffs = np.array([vals[s] - base[s] for s in paired])
                        entry["delta"] = float(diffs.mean())
                        entry["lo"], entry["hi"] = bootstrap_ci(diffs, resamples)
                    out[(source, m, arm, d)] = entry
    return out


def markdown(table: dict, source: str, ms, direction: str, chance: float | None) -> str:
    head = "| arm | seeds | " + " | ".join(f"m = {m}" for m in ms) + " |"
    lines = [head, "|" + "---|" * (len(ms) + 2)]
    arms = list(dict.fromkeys(a for (s, _, a, d) in table if s == source and d == direction))
    for arm in arms:
        cells_ = [table.get((source, m, arm, direction)) for m in ms]
        n = max(c["n"] for c in cells_ if c)
        text = []
        for c in cells_:
            if c is None:
                text.append("-")
            elif "delta" in c:
                text.append(f"{c['mean']:.1f} ({c['delta']:+.1f} [{c['lo']:+.1f}, {c['hi']:+.1f}])")
            else:
                text.append(f"{c['mean']:.1f}")
        lines.append(f"| {LABELS.get(arm, arm)} | {n} | " + " | ".join(text) + " |")
    if chance is not None:
        lines.append("| chance (random embeddings) | - | " + " | ".join(f"{chance:.1f}" for _ in ms) + " |")
    return "\n".join(lines)


def delta_plot(table: dict, sources, ms, arms, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [a for a in arms if a != "baseline"] + [f"{a}-uniform" for a in ("sg", "full") if a in arms]
    height = 3.6 * len(sources) + 1.0  # the legend gets the bottom inch
    fig, axes = plt.subplots(len(sources), 2, figsize=(11, height), squeeze=False)
    for i, source in enumerate(sources):
        for j, d in enumerate(DIRECTIONS):
            ax = axes[i][j]
            for arm in shown:
                pts = [(m, table[(source, m, arm, d)]) for m in ms
                       if "delta" in table.get((source, m, arm, d), {})]
                if not pts:
                    continue
                x = [m for m, _ in pts]
                line, = ax.plot(x, [c["delta"] for _, c in pts], marker="o", label=LABELS.get(arm, arm),
                                color=COLOURS.get(arm))
                ax.fill_between(x, [c["lo"] for _, c in pts], [c["hi"] for _, c in pts], alpha=0.15,
                                color=line.get_color())
            ax.axhline(0, color="black", lw=0.8)
            ax.set_title(f"{d.upper()}, skeletons: {source}")
            ax.set_xlabel("corrupted frames per 12-frame test clip (m)")
            ax.set_ylabel("mAP - baseline mAP (points)")
            ax.set_xticks(list(ms))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=3, frameon=False, fontsize=8)
    fig.suptitle("Paired difference from the baseline, mean over seeds with 95% bootstrap interval")
    fig.tight_layout(rect=(0, 1.0 / height, 1, 1 - 0.3 / height))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def bone_ratios(keypoints: np.ndarray, aspect: float, threshold: float = 0.3) -> np.ndarray:
    """(N, T, 17, 3) -> (N, 12): per tracklet the median over its fully posed frames of the 12 limb and torso
    bone lengths (BONES[:12], in pixels) divided by their sum; z-scored over the tracklets (a tracklet without a
    fully posed frame gets the mean). Body proportions with no training: the positive control's yardstick."""
    from starreid.reid.skeleton import BONES

    src = np.array([b[0] for b in BONES[:12]])
    dst = np.array([b[1] for b in BONES[:12]])
    a, b = keypoints[..., src, :], keypoints[..., dst, :]
    length = np.hypot((b[..., 0] - a[..., 0]) * aspect, b[..., 1] - a[..., 1])
    ok = ((a[..., 2] >= threshold) & (b[..., 2] >= threshold)).all(-1)
    ratio = length / np.maximum(length.sum(-1, keepdims=True), 1e-9)
    ratio = np.where(ok[..., None], ratio, np.nan)
    feats = np.full((len(keypoints), len(src)), np.nan)
    has = ok.any(1)
    feats[has] = np.nanmedian(ratio[has], axis=1)
    mean, std = np.nanmean(feats, 0), np.nanstd(feats, 0)
    feats = np.where(np.isnan(feats), mean, feats)
    return (feats - mean) / np.maximum(std, 1e-9)


def contrast(results, arm: str, other: str, sources, ms, resamples: int) -> dict:
    """{(source, m, direction): {delta, lo, hi, n}}: arm minus other, paired by seed (e.g. full STAR minus the
    same model trained on shuffled skeletons: what the skeleton's information adds beyond the heads' capacity)."""
    out = {}
    for source in sources:
        for m in ms:
            for d in DIRECTIONS:
                a, b = _values(results, arm, source, m, d), _values(results, other, source, m, d)
                paired = sorted(set(a) & set(b))
                if len(paired) >= 2:
                    diffs = np.array([a[s] - b[s] for s in paired])
                    lo, hi = bootstrap_ci(diffs, resamples)
                    out[(source, m, d)] = {"delta": float(diffs.mean()), "lo": lo, "hi": hi, "n": len(paired)}
    return out


def contrast_markdown(table: dict, sources, ms, title: str) -> str:
    lines = [f"| {title} | seeds | " + " | ".join(f"m = {m}" for m in ms) + " |", "|" + "---|" * (len(ms) + 2)]
    for source in sources:
        for d in DIRECTIONS:
            row = [table.get((source, m, d)) for m in ms]
            if not any(row):
                continue
            n = max(c["n"] for c in row if c)
            lines.append(f"| {d.upper()}, {source} | {n} | " + " | ".join(
                "-" if c is None else f"{c['delta']:+.1f} [{c['lo']:+.1f}, {c['hi']:+.1f}]" for c in row) + " |")
    return "\n".join(lines)
