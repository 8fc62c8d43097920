"""Metrics shared by evaluation and scripts (numpy only): ROC, AUC, EER, event matching.

Positive class = 1 (eye closed); a sample is called positive when score >= threshold.
ROC points are taken at every distinct score, so ties move both rates together and the
AUC counts a tied positive/negative pair as half won.
"""

from __future__ import annotations

import numpy as np


def _check(y, s) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).ravel()
    s = np.asarray(s, dtype=np.float64).ravel()
    if len(y) != len(s):
        raise ValueError(f"labels and scores differ in length: {len(y)} vs {len(s)}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("ROC needs both classes")
    return y, s


def roc_curve(y, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds): thresholds descending from +inf, one point per distinct score."""
    y, s = _check(y, s)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    fpr = np.r_[0.0, fp / (~y).sum()]
    tpr = np.r_[0.0, tp / y.sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]


def roc_auc(y, s) -> float:
    fpr, tpr, _ = roc_curve(y, s)
    return float(np.trapezoid(tpr, fpr))


def eer(y, s) -> tuple[float, float]:
    """(equal error rate, threshold). The rate is interpolated where the miss rate crosses
    the false positive rate; the threshold is the nearer of the two scores around it."""
    fpr, tpr, thr = roc_curve(y, s)
    fnr = 1.0 - tpr
    d = fnr - fpr  # 1 at +inf, falls to -1 at the lowest score
    k = int(np.flatnonzero(d <= 0)[0])
    if d[k] == 0:
        return float(fpr[k]), float(thr[k])
    w = d[k - 1] / (d[k - 1] - d[k])
    rate = fpr[k - 1] + w * (fpr[k] - fpr[k - 1])
    near = k - 1 if (w < 0.5 and np.isfinite(thr[k - 1])) else k
    return float(rate), float(thr[near])


def roc_figures(y, s) -> dict:
    """EER, its threshold and ROC AUC; all None when y holds one class only (no ROC exists)."""
    y = np.asarray(y).astype(bool)
    if y.all() or not y.any():
        return {"eer": None, "eer_threshold": None, "auc": None}
    rate, thr = eer(y, s)
    return {"eer": rate, "eer_threshold": thr, "auc": roc_auc(y, s)}


def intervals(flags) -> list[tuple[int, int]]:
    """Runs of true values as inclusive (start, end) index pairs."""
    f = np.asarray(flags).astype(bool).ravel()
    if not len(f):
        return []
    edges = np.diff(np.r_[0, f.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def match_events(detected, labelled) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of detected vs labelled inclusive
    intervals: a labelled event is found when a detection overlaps it; each event counts
    once, so a second detection on an already found event is a false positive."""
    found = [False] * len(labelled)
    tp = fp = 0
    for a0, a1 in detected:
        hit = None
        for k, (b0, b1) in enumerate(labelled):
            if a0 <= b1 and b0 <= a1 and not found[k]:
                hit = k
                break
        if hit is None:
            fp += 1
        else:
            found[hit] = True
            tp += 1
    return tp, fp, len(labelled) - sum(found)


def precision_recall(tp: int, fp: int, fn: int) -> tuple[float | None, float | None]:
    """(precision, recall), None where the denominator is zero."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    return p, r
