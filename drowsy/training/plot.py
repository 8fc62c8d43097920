"""The training figure: loss and validation EER per epoch, ROC curves of the best epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_training(history: list[dict], val: dict, test: dict, best_epoch: int, path: Path) -> None:
    """history: FitResult.history; val/test: set name → (closed, p_closed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..evaluation.metrics import eer, roc_curve

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    ax[0].plot(epochs, [h["loss"] for h in history], "k-")
    ax[0].set(title="training loss (augmented, balanced batches)", xlabel="epoch", ylabel="BCE")
    for name in val:
        e = [h.get(f"val_eer_{name}") for h in history]
        ax[1].plot(epochs, [100 * v if v is not None else np.nan for v in e], "-o", ms=3, label=name)
    ax[1].axvline(best_epoch, color="grey", ls=":", label=f"best epoch {best_epoch}")
    ax[1].set(title="validation EER", xlabel="epoch", ylabel="EER (%)", ylim=(0, None))
    ax[1].legend()
    for part, style in ((val, "-"), (test, "--")):
        for name, (y, p) in part.items():
            if len(y) == 0 or y.all() or not y.any():
                continue
            fpr, tpr, _ = roc_curve(y, p)
            rate = eer(y, p)[0]
            which = "val" if part is val else "test"
            ax[2].plot(fpr, tpr, style, label=f"{name} {which} (EER {100 * rate:.2f}%)")
    ax[2].set(title=f"ROC: val at best epoch {best_epoch}, test of the saved weights",
              xlabel="open called closed (FPR)",
              ylabel="closed found (TPR)", xscale="log", xlim=(1e-4, 1), ylim=(0.8, 1.001))
    if ax[2].get_legend_handles_labels()[0]:  # a set with one class only has no ROC to label
        ax[2].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    from ..outputs import replacing

    try:
        with replacing(path, "training plot") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
