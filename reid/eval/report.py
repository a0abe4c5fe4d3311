"""Result tables and CMC plots."""
from __future__ import annotations

from starreid.reid.eval.metrics import RANKS, EvalResult


def format_table(results: dict[str, EvalResult]) -> str:
    head = ["direction"] + [f"R{r}" for r in RANKS] + ["mAP", "mINP", "queries"]
    lines = ["  ".join(f"{h:>9}" for h in head)]
    for name, res in results.items():
        cells = [name] + [f"{100 * res.rank(r):.2f}" for r in RANKS]
        cells += [f"{100 * res.mAP:.2f}", f"{100 * res.mINP:.2f}", f"{res.num_valid}/{res.num_query}"]
        lines.append("  ".join(f"{c:>9}" for c in cells))
    return "\n".join(lines)


def plot_cmc(results: dict[str, EvalResult], path, title: str = "CMC") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    for name, res in results.items():
        ranks = range(1, len(res.cmc) + 1)
        ax.plot(ranks, 100 * res.cmc, marker="o", ms=3, label=f"{name} (R1 {100 * res.rank(1):.1f}, mAP {100 * res.mAP:.1f})")
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
