"""Eye-model scores on a labelled set (numpy only): EER, AUC and the operating point.

Built on drowsy.evaluation.metrics (ROC, AUC, EER). Positive class = closed, score = P(closed); a crop
is called closed when P(closed) >= threshold.
"""

from __future__ import annotations

import numpy as np

from .metrics import roc_figures


def at_threshold(closed, p_closed, threshold: float) -> dict:
    """Accuracy, F1 (closed = positive), false-closed and missed-closed rates."""
    y = np.asarray(closed).astype(bool).ravel()
    pred = np.asarray(p_closed).ravel() >= threshold
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    tn = int(np.sum(~pred & ~y))
    return {"accuracy": (tp + tn) / max(len(y), 1), "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
            "false_closed": fp / max(fp + tn, 1), "missed_closed": fn / max(fn + tp, 1)}


def summary(closed, p_closed, threshold: float) -> dict:
    """n, class counts, EER (and where), ROC AUC, then the metrics at `threshold`.
    EER and AUC are None when the set holds one class only."""
    y = np.asarray(closed).astype(bool).ravel()
    out: dict = {"n": int(len(y)), "closed": int(y.sum()), "open": int((~y).sum())}
    out.update(roc_figures(y, p_closed))
    out.update(at_threshold(y, p_closed, threshold))
    return out


def balanced_threshold(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """One threshold for several data sets: where the false-closed rate averaged over the
    sets equals their averaged missed-closed rate, each set weighing the same whatever its
    size. Returns (that error rate, threshold)."""
    grid = np.unique(np.concatenate([np.asarray(s, dtype=np.float64).ravel() for _, s in parts]))[::-1]
    fpr = np.zeros(len(grid))
    fnr = np.zeros(len(grid))
    for y, s in parts:
        y = np.asarray(y).astype(bool).ravel()
        s = np.asarray(s, dtype=np.float64).ravel()
        neg, pos = np.sort(s[~y]), np.sort(s[y])
        fpr += (len(neg) - np.searchsorted(neg, grid, side="left")) / max(len(neg), 1)
        fnr += np.searchsorted(pos, grid, side="left") / max(len(pos), 1)
    fpr, fnr = fpr / len(parts), fnr / len(parts)
    k = int(np.argmin(np.abs(fnr - fpr)))
    return float((fpr[k] + fnr[k]) / 2), float(grid[k])
