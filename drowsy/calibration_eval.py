"""Does a driver profile help on people the model never saw? (issue 16; scripts/calibration_eval.py)

For each person in a ZJU-style folder (clips `<person>_<COND>.mp4`, labels beside them): calibrate
on the frontal no-glasses clip (FNN) exactly as `drowsy calibrate --video` does, then run the
person's other clips (FTN, FBN: glasses; UNN: looking up) through the eval-video pass twice,
without and with the profile. Nothing is tuned here: the profile rule's constants were fixed
before this evaluation (profile.py), so every person is an unseen person for it.

Blinks (issue 11's convention, on metrics.match_events): recall counts labelled blinks whose eyes
fully close (a `closed` frame inside the event); a detection overlapping a labelled blink that never
fully closes counts neither way; a detection touching a frame without a label (clip ends) is
ignored. Frame AUC: labelled, non-ambiguous frames with a face, by the fused score. Per person it
is the same both ways (a profile moves the threshold, not the order of scores); pooled over people
'with' ranks each frame by its margin over that person's threshold.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .errors import DrowsyError
from .evalclip import Labels, read_labels
from .metrics import match_events, precision_recall, roc_figures

CALIBRATE_ON = "FNN"
TEST_ON = ("FTN", "FBN", "UNN")
_NAME = re.compile(r"^(?P<person>.+)_(?P<cond>[A-Z]{3})\.mp4$")


def people(folder: Path) -> dict[str, dict[str, Path]]:
    """{person: {condition: clip}} for people with a calibration clip and at least one test clip."""
    out: dict[str, dict[str, Path]] = {}
    for p in sorted(Path(folder).glob("*.mp4")):
        m = _NAME.match(p.name)
        if m and p.with_name(p.name + ".eyestate.csv").is_file():
            out.setdefault(m["person"], {})[m["cond"]] = p
    out = {k: v for k, v in out.items() if CALIBRATE_ON in v and any(c in v for c in TEST_ON)}
    if not out:
        raise DrowsyError(f"no person with a labelled *_{CALIBRATE_ON}.mp4 and a test clip under {folder}")
    return out


def match_blinks(detected, labels: Labels, frames: np.ndarray) -> tuple[int, int, int]:
    """(tp, fp, fn) of detected blinks (inclusive frame ranges) under issue 11's convention."""
    closed = set(labels.frame[labels.closed].tolist())
    full = [b for b in labels.blinks if any(f in closed for f in range(b[0], b[1] + 1))]
    partial = [b for b in labels.blinks if b not in full] + list(labels.other_events)
    events = list(labels.blinks) + list(labels.other_events)
    amb = labels.frame[labels.ambiguous].tolist()
    unlabelled = (set(frames.tolist()) - set(labels.frame.tolist())) | {
        f for f in amb if not any(a <= f <= b for a, b in events)}

    def overlaps(d, spans):
        return any(d[0] <= b and a <= d[1] for a, b in spans)

    keep = [d for d in detected
            if not any(d[0] <= f <= d[1] for f in unlabelled) and (overlaps(d, full) or not overlaps(d, partial))]
    return match_events(keep, full)


def f1(p: float | None, r: float | None) -> float | None:
    return None if p is None or r is None or p + r == 0 else 2 * p * r / (p + r)


def _frames(clip, labels: Labels) -> tuple[np.ndarray, np.ndarray]:
    """(closed label, fused score) of the clip's labelled, non-ambiguous frames with a face."""
    closed_of = dict(zip(labels.frame.tolist(), labels.closed.tolist()))
    amb = set(labels.frame[labels.ambiguous].tolist())
    s = clip.scores["ours"]
    use = np.array([f in closed_of and f not in amb for f in clip.frame.tolist()]) & np.isfinite(s)
    y = np.array([closed_of.get(f, False) for f in clip.frame.tolist()], bool)
    return y[use], s[use]


def calibrate_clip(video: Path, classifier, landmarker: Path, jitter: int, sha256: str):
    """The profile `drowsy calibrate --video` would write for this clip (None and the reason if refused)."""
    from .calibrate import measure
    from .calibrate_collect import collect
    from .capture import VideoSource
    from .thresholds import TemporalConfig

    with VideoSource(video) as source:
        smp = collect(source, classifier, landmarker, jitter, live=False)
    try:
        return measure(smp, False, classifier.threshold, TemporalConfig.hysteresis, video.stem, sha256,
                       f"video {video.name}"), None
    except DrowsyError as e:
        return None, str(e)


def evaluate(folder: Path, classifier, landmarker: Path, jitter: int, sha256: str, log=print) -> dict:
    """Per person and pooled: blink P/R/F1 without and with the profile, frame AUC."""
    from . import profile as prof
    from .evalclip import run_clip
    from .thresholds import TemporalConfig

    base = TemporalConfig()
    result = {"people": {}, "model_threshold": classifier.threshold}
    pooled = {"without": [0, 0, 0], "with": [0, 0, 0]}
    ys, raw, margin = [], [], []
    for person, clips in people(folder).items():
        p, why = calibrate_clip(clips[CALIBRATE_ON], classifier, landmarker, jitter, sha256)
        settings = {"without": base, "with": prof.apply(base, p) if p else base}
        row = {"profile": None if p is None else {k: getattr(p, k) for k in prof.APPLY_KEYS} | {"basis": p.basis},
               "refused": why, "clips": {}}
        counts = {k: [0, 0, 0] for k in settings}
        for cond in TEST_ON:
            if cond not in clips:
                continue
            log(f"  {person} {cond}")
            labels = read_labels(clips[cond].with_name(clips[cond].name + ".eyestate.csv"), clips[cond].name)
            row["clips"][cond] = {}
            for key, temporal in settings.items():
                clip = run_clip(clips[cond], "clean", classifier, landmarker, jitter, temporal)
                c = match_blinks(clip.blinks_ours, labels, clip.frame)
                row["clips"][cond][key] = c
                counts[key] = [a + b for a, b in zip(counts[key], c)]
            y, s = _frames(clip, labels)
            ys.append(y)
            raw.append(s)
            margin.append(s - settings["with"].closed_threshold if p else s - classifier.threshold)
            row["clips"][cond]["auc"] = roc_figures(y, s)["auc"]
        for key, c in counts.items():
            pooled[key] = [a + b for a, b in zip(pooled[key], c)]
            row[key] = _prf(c)
        y_p = np.concatenate([ys[-k] for k in range(1, len(row["clips"]) + 1)])
        s_p = np.concatenate([raw[-k] for k in range(1, len(row["clips"]) + 1)])
        row["auc"] = roc_figures(y_p, s_p)["auc"]
        result["people"][person] = row
    y, s, m = np.concatenate(ys), np.concatenate(raw), np.concatenate(margin)
    result["pooled"] = {key: _prf(c) for key, c in pooled.items()}
    result["pooled"]["auc_without"] = roc_figures(y, s)["auc"]
    result["pooled"]["auc_with"] = roc_figures(y, m)["auc"]
    return result


def _prf(c) -> dict:
    tp, fp, fn = c
    p, r = precision_recall(tp, fp, fn)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f1(p, r)}


def table(result: dict) -> str:
    """The markdown table of README's calibration section."""
    def f(v, d=3):
        return "–" if v is None else f"{v:.{d}f}"

    def prf(d):
        return f"{f(d['precision'], 2)} / {f(d['recall'], 2)} / **{f(d['f1'])}**"

    lines = ["| person | profile threshold (basis) | blinks | without: P / R / F1 | with profile: P / R / F1 | frame AUC |",
             "|---|---|---|---|---|---|"]
    for person, r in result["people"].items():
        pr = r["profile"]
        prof_s = "refused: " + r["refused"] if pr is None else f"{pr['closed_threshold']:.3f} ({pr['basis']})"
        n = r["without"]["tp"] + r["without"]["fn"]
        lines.append(f"| {person} | {prof_s} | {n} | {prf(r['without'])} | {prf(r['with'])} | {f(r['auc'])} |")
    po = result["pooled"]
    n = po["without"]["tp"] + po["without"]["fn"]
    lines.append(f"| **all** | model's {result['model_threshold']:.3f} without | {n} | {prf(po['without'])} | "
                 f"{prf(po['with'])} | {f(po['auc_without'])} / {f(po['auc_with'])} with |")
    return "\n".join(lines)
