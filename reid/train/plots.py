"""Loss and metric curves of a training run, as one PNG."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_curves(history: list[dict], path: Path) -> None:
    epochs = [h["epoch"] + 1 for h in history]
    fig, (ax_loss, ax_eval) = plt.subplots(1, 2, figsize=(11, 4))
    terms = [k for k in history[0] if k not in ("epoch", "lr", "seconds", "steps", "eval")] if history else []
    for key in terms:  # the total, then the model's own terms
        ax_loss.plot(epochs, [h[key] for h in history], label=key, lw=2 if key == "loss" else 1)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="training loss")
    ax_loss.legend()
    evaluated = [h for h in history if "eval" in h]
    for direction in ("i2v", "v2i"):
        for metric, style in (("rank1", "-o"), ("mAP", "--s")):
            values = [100 * h["eval"][direction][metric] for h in evaluated]
            if values:
                ax_eval.plot([h["epoch"] + 1 for h in evaluated], values, style, label=f"{direction} {metric}")
    ax_eval.set(xlabel="epoch", ylabel="%", title="evaluation (test set)")
    if evaluated:
        ax_eval.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
