"""Figures of one pass set of `drowsy eval-video` (one condition at one frame rate): frame ROC
AUC / EER and blink precision / recall / F1 for ours and the two baselines, pooled, per clip,
per person and per clip group (glasses none / thin / black, upward).

Which frames count: kept frames with a label, minus `partial_ambiguous` ones. Frames without a
face have no score for any method (all three share the landmarker); they are left out of
AUC/EER and counted.
Blinks (blinks.py): ours = the DrowsinessMonitor's blink events at the model's threshold,
hysteresis and head-pose gate, exactly as `drowsy run` reports them; a baseline = runs of frames
with score >= its threshold, that threshold fitted on the very clips evaluated (the one with the
best pooled blink F1 of the pass set), which favours the baselines.
"""

from __future__ import annotations

import numpy as np

from .blinks import BlinkCount, dont_care_spans, match_blinks
from .clips import METHODS, ClipInfo, ClipPass, Labels, threshold_blinks
from .metrics import roc_figures

QUANTILES = np.linspace(0.70, 0.999, 120)  # baseline thresholds tried: closed frames are rare


def frame_table(clip: ClipPass, labels: Labels) -> dict:
    """Which of the clip's frames count, and their ground truth."""
    closed_of = dict(zip(labels.frame.tolist(), labels.closed.tolist()))
    ambiguous = set(labels.frame[labels.ambiguous].tolist())
    labelled = np.array([f in closed_of for f in clip.frame.tolist()], dtype=bool)
    amb = np.array([f in ambiguous for f in clip.frame.tolist()], dtype=bool)
    y = np.array([closed_of.get(f, False) for f in clip.frame.tolist()], dtype=bool)
    use = labelled & ~amb
    return {"y": y, "use": use, "scored": use & clip.face, "ambiguous": int(amb.sum()),
            "unlabelled": int((~labelled).sum()), "no_face": int((use & ~clip.face).sum())}


def roc_summary(y: np.ndarray, s: np.ndarray) -> dict:
    ok = np.isfinite(s)
    return {**roc_figures(y[ok], s[ok]), "n": int(ok.sum()), "unscored": int((~ok).sum())}


def count(detected, labels: Labels) -> BlinkCount:
    return match_blinks(detected, labels.blinks, dont_care_spans(labels.frame, labels.ambiguous, labels.other_events))


def fit_baseline_threshold(passes, method: str) -> float | None:
    """The threshold with the best pooled blink F1 over these clips (fitted on them)."""
    s = np.concatenate([c.scores[method] for c, _ in passes])
    s = s[np.isfinite(s)]
    if not len(s):
        return None
    best, best_thr = -1.0, None
    for thr in np.unique(np.quantile(s, QUANTILES)):
        total = sum((count(threshold_blinks(c, method, thr), lab) for c, lab in passes), BlinkCount())
        if (total.f1 or 0.0) > best:
            best, best_thr = total.f1 or 0.0, float(thr)
    return best_thr


def _detections(passes, thresholds: dict) -> dict:
    """method → per clip detected blink spans."""
    out = {}
    for m in METHODS:
        if m == "ours":
            out[m] = [c.blinks_ours for c, _ in passes]
        else:
            thr = thresholds[m]
            out[m] = [threshold_blinks(c, m, thr) if thr is not None else () for c, _ in passes]
    return out


def _figures(rows, tables, dets, keep) -> dict:
    """AUC/EER and blink counts per method over the clips with keep[i] True."""
    idx = [i for i, k in enumerate(keep) if k]
    y = np.concatenate([tables[i]["y"][tables[i]["scored"]] for i in idx]) if idx else np.zeros(0, bool)
    out = {}
    for m in METHODS:
        s = np.concatenate([rows[i][0].scores[m][tables[i]["scored"]] for i in idx]) if idx else np.zeros(0)
        blinks = sum((count(dets[m][i], rows[i][1]) for i in idx), BlinkCount())
        out[m] = {**roc_summary(y, s), "blinks": blinks.to_json()}
    out["closed"], out["open"] = int(y.sum()), int((~y).sum())
    return out


def summarise(passes: list[tuple[ClipPass, Labels]], infos: dict[str, ClipInfo] | None = None) -> dict:
    """Pooled, per-clip, per-person and per-group figures of one pass set."""
    infos = infos or {}
    tables = [frame_table(c, lab) for c, lab in passes]
    thresholds = {m: fit_baseline_threshold(passes, m) for m in METHODS if m != "ours"}
    dets = _detections(passes, thresholds)
    pooled = _figures(passes, tables, dets, [True] * len(passes))
    out = {"frames": int(sum(tb["use"].sum() for tb in tables)), "closed": pooled.pop("closed"),
           "open": pooled.pop("open"), "no_face": sum(tb["no_face"] for tb in tables),
           "excluded_ambiguous": sum(tb["ambiguous"] for tb in tables),
           "unlabelled": sum(tb["unlabelled"] for tb in tables),
           "alerts_ours": sum(c.alerts for c, _ in passes),
           "driver_events_ours": sum(c.driver_events for c, _ in passes),  # head_drop, slump, looking_down
           # Frames the runtime's gate refused (no face, head pose, too dark): ours cannot see
           # a blink there; the baselines are scored without a gate.
           "not_judged_ours": sum(int((tb["use"] & ~c.judged).sum()) for (c, _), tb in zip(passes, tables)
                                  if c.judged is not None),
           "size": sorted({f"{c.size[0]}x{c.size[1]}" for c, _ in passes}), "methods": pooled}
    for m in METHODS:
        out["methods"][m]["excluded_no_face"] = out["no_face"]
        out["methods"][m]["blinks"]["rule"] = ("monitor blink events" if m == "ours"
                                               else f"score >= {thresholds[m]} (best blink F1 on these clips)")
    aucs = {m: out["methods"][m]["auc"] for m in METHODS}
    # Our frame AUC at least that of each baseline (None: no AUC to compare).
    out["ours_at_least_baselines"] = None if None in aucs.values() else all(
        aucs["ours"] >= aucs[m] for m in METHODS if m != "ours")
    out["clips"] = {c.video: _figures(passes, tables, dets, [i == k for i in range(len(passes))])
                    for k, (c, _) in enumerate(passes)}
    for key, attr in (("persons", "person"), ("groups", "group")):
        names = sorted({getattr(infos[c.video], attr) for c, _ in passes if c.video in infos})
        out[key] = {n: _figures(passes, tables, dets, [c.video in infos and getattr(infos[c.video], attr) == n
                                                       for c, _ in passes]) for n in names}
    return out
