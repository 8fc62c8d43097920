"""Frame AUC of the calibration evaluation (evaluation/calibration.py): a person's labelled test
frames under one candidate, and the pooled figures against the EAR and eyeBlink baselines."""

from __future__ import annotations

import numpy as np

from .metrics import roc_figures


def person_frames(r: dict, conds, k: str | None = None):
    """(labels, scores under candidate k, [-EAR, eyeBlink]) pooled over a person's clips `conds`."""
    conds = [c for c in conds if c in r["y"]]
    if not conds:
        return np.zeros(0, bool), np.zeros(0), np.zeros((0, 2))
    return (np.concatenate([r["y"][c] for c in conds]), np.concatenate([r["s"][c][k or "none"] for c in conds]),
            np.concatenate([r["base"][c] for c in conds]))


def auc(y, s):
    ok = np.isfinite(s)
    return roc_figures(y[ok], s[ok])["auc"]


def pooled_auc(rows: dict, rules: dict, conds, prefix: str, profile_rules) -> dict:
    """Pooled frame AUC over clips `conds`: without a profile, with (each frame's margin over its
    person's threshold under the LOPO-chosen candidate; also with every person on each
    candidate), and the two baselines."""
    parts = {p: person_frames(r, conds) for p, r in rows.items()}
    y = np.concatenate([v[0] for v in parts.values()])
    base = np.concatenate([v[2] for v in parts.values()])

    def margin(k_of):
        return np.concatenate([person_frames(r, conds, k_of(p))[1] - r["thr"][k_of(p)]
                               for p, r in rows.items()])

    out = {f"{prefix}auc_without": auc(y, np.concatenate([v[1] for v in parts.values()])),
           f"{prefix}auc_with": auc(y, margin(lambda p: rules[p])),
           f"{prefix}auc_ear": auc(y, base[:, 0]), f"{prefix}auc_eyeblink": auc(y, base[:, 1])}
    for k in profile_rules:
        out[f"{prefix}auc_with_{k}"] = auc(y, margin(lambda p, k=k: k))
    return out
