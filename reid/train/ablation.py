"""The ablation's bookkeeping: baseline, +FG, +SG and full STAR, several seeds each, summarised as a table and
a bar plot. Each run is an ordinary training run with its own derived config and out_dir (run by `starreid
ablate`, which starts them); a run that finished leaves result.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

VARIANTS = ("baseline", "fg", "sg", "full")
LABELS = {"baseline": "baseline (SAD)", "fg": "+FG", "sg": "+SG", "full": "full STAR"}
COLUMNS = (("i2v", "rank1"), ("i2v", "mAP"), ("v2i", "rank1"), ("v2i", "mAP"))


def run_dir(out: Path, variant: str, seed: int) -> Path:
    return out / "runs" / f"{variant}-seed{seed}"


def derived_config(base: dict, out: Path, variant: str, seed: int) -> dict:
    cfg = json.loads(json.dumps(base))  # deep copy of plain data
    cfg["model"] = {**cfg.get("model", {}), "variant": variant}
    cfg["seed"] = seed
    cfg["out_dir"] = str(run_dir(out, variant, seed))
    return cfg


def training_minutes(out: Path, results: list[dict]) -> list[float]:
    """Each run's training time (epochs and evaluations, from its log), in minutes."""
    minutes = []
    for r in results:
        lines = (run_dir(out, r["variant"], r["seed"]) / "train_log.jsonl").read_text().splitlines()
        minutes.append(sum(json.loads(line)["seconds"] for line in lines) / 60)
    return minutes


def summarise(results: list[dict]) -> dict:
    """{variant: {(direction, metric): (mean, std)}} over seeds, in percent."""
    table = {}
    for variant in VARIANTS:
        runs = [r for r in results if r["variant"] == variant]
        if runs:
            table[variant] = {(d, m): (100 * float(np.mean([r["final"][d][m] for r in runs])),
                                       100 * float(np.std([r["final"][d][m] for r in runs])), len(runs))
                              for d, m in COLUMNS}
    return table


def markdown_table(table: dict, chance: dict | None = None) -> str:
    head = "| variant | seeds | " + " | ".join(f"{d.upper()} {m}" for d, m in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for variant, cells in table.items():
        n = next(iter(cells.values()))[2]
        lines.append(f"| {LABELS[variant]} | {n} | " +
                     " | ".join(f"{mean:.1f} ± {std:.1f}" for mean, std, _ in cells.values()) + " |")
    if chance:
        lines.append("| chance | - | " + " | ".join(f"{100 * chance[d][m]:.1f}" for d, m in COLUMNS) + " |")
    return "\n".join(lines)


def pose_table(results: list[dict]) -> str:
    """mAP (%) with the skeletons given, withheld and another person's, mean over seeds, both directions."""
    lines = ["| variant | I2V mAP given | none | shuffled | V2I mAP given | none | shuffled |", "|" + "---|" * 7]
    for variant in VARIANTS:
        runs = [r for r in results if r["variant"] == variant and "poses" in r]
        if not runs:
            continue
        cells = []
        for d in ("i2v", "v2i"):
            for source in ("given", "none", "shuffled"):
                values = [(r["final"] if source == "given" else r["poses"][source])[d]["mAP"] for r in runs]
                cells.append(f"{100 * float(np.mean(values)):.1f}")
        lines.append(f"| {LABELS[variant]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_plot(table: dict, path: Path, chance: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(len(table), 1)
    x = np.arange(len(COLUMNS))
    for i, (variant, cells) in enumerate(table.items()):
        means = [cells[c][0] for c in COLUMNS]
        stds = [cells[c][1] for c in COLUMNS]
        ax.bar(x + i * width, means, width, yerr=stds, capsize=3, label=LABELS[variant])
    if chance:  # the floor, drawn across each metric's group of bars
        for j, (d, m) in enumerate(COLUMNS):
            ax.hlines(100 * chance[d][m], x[j] - width / 2, x[j] + width * (len(table) - 0.5), colors="black",
                      linestyles="dashed", label="chance" if j == 0 else None)
    ax.set_xticks(x + width * (len(table) - 1) / 2, [f"{d.upper()} {m}" for d, m in COLUMNS])
    ax.set_ylabel("%")
    ax.set_title("Ablation on the synthetic RGB-IR benchmark (mean ± std over seeds)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=len(table) + 1, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def chance_level(data_root: str, min_len: int = 12, draws: int = 5) -> dict:
    """Metrics of random embeddings on the test split (the floor any trained model must clear)."""
    from starreid.reid.data.vcm import load_vcm
    from starreid.reid.eval import evaluate_features

    ds = load_vcm(data_root, min_len=min_len)
    q = (np.array([r.pid for r in ds.query]), np.array([r.camid for r in ds.query]))
    g = (np.array([r.pid for r in ds.gallery]), np.array([r.camid for r in ds.gallery]))
    rng = np.random.default_rng(0)
    sums = {d: {"rank1": 0.0, "mAP": 0.0} for d in ("i2v", "v2i")}
    for _ in range(draws):
        qf, gf = rng.standard_normal((len(q[0]), 64)), rng.standard_normal((len(g[0]), 64))
        for d, (a, af, b, bf) in {"i2v": (q, qf, g, gf), "v2i": (g, gf, q, qf)}.items():
            res = evaluate_features(af, bf, a[0], b[0], a[1], b[1])
            sums[d]["rank1"] += res.rank(1) / draws
            sums[d]["mAP"] += float(res.mAP) / draws
    return sums
