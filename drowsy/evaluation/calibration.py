"""Does a driver profile help on people the model never saw? (issue 16; scripts/calibration_eval.py)

For each person in a ZJU-style folder (clips `<person>_<COND>.mp4`, labels beside them): calibrate
on the frontal no-glasses clip (FNN) exactly as `drowsy calibrate --video` does, then run the
person's other clips (FTN, FBN: glasses; UNN: looking up) through the real pipeline once and replay
its temporal stage without and with the profile. The threshold rule's constants were fixed before
this evaluation; the one choice made here, the hysteresis rule, is picked leave-one-person-out
(lopo_rules), so every person's 'with' figures come from a choice made on the other people only.

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

from ..errors import DrowsyError
from .clips import Labels, read_labels
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


def calibrate_clip(video: Path, classifier, landmarker: Path, jitter: int, sha256: str) -> tuple[dict, str | None]:
    """The profiles `drowsy calibrate --video` would write for this clip, one per hysteresis rule
    (empty, and the reason, if it refuses)."""
    from ..runtime import profile as prof
    from ..runtime.calibrate import measure
    from ..runtime.calibrate_collect import collect
    from ..runtime.capture import VideoSource

    with VideoSource(video) as source:
        smp = collect(source, classifier, landmarker, jitter, live=False)
    try:
        return {rule: measure(smp, False, classifier.threshold, classifier.hysteresis, video.stem, sha256,
                              f"video {video.name}", rule) for rule in prof.HYSTERESIS_RULES}, None
    except DrowsyError as e:
        return {}, str(e)


def one_pass(video: Path, classifier, landmarker: Path, jitter: int) -> tuple[list, float]:
    """Every FrameResult of the real pipeline over a clip, and the end-of-input time."""
    from ..runtime.capture import VideoSource
    from ..runtime.crop import Cropper
    from ..runtime.landmarks import Landmarker
    from ..runtime.pipeline import Pipeline
    from ..runtime.temporal import DrowsinessMonitor
    from ..settings import TemporalConfig

    pipeline = Pipeline(Landmarker(landmarker, blendshapes=False), Cropper(classifier.spec, jitter), classifier,
                        DrowsinessMonitor(TemporalConfig(), classifier.threshold, classifier.hysteresis))
    with pipeline, VideoSource(video) as source:
        results = [pipeline(frame) for frame in source]
        step_s = 1.0 / (source.fps or 25.0)
    if not results:
        raise DrowsyError(f"{video}: no frame decoded")
    return results, results[-1].frame.t + step_s  # as eval-video: a closure open at the end covers the last frame


def replay(results: list, end_t: float, temporal, model_threshold: float) -> tuple[tuple[int, int], ...]:
    """The temporal stage (gate + monitor) under other settings over one pass: blink frame ranges."""
    from ..runtime.gate import assessability
    from ..runtime.temporal import DrowsinessMonitor
    from .clips import frames_between

    monitor, events = DrowsinessMonitor(temporal, model_threshold), []
    for r in results:  # as Pipeline.__call__ does
        reason = assessability(r.face, r.crops, temporal)
        events += monitor.update(r.frame.t, r.scores.fused if reason is None else None, reason).events
    events += monitor.finish(end_t)
    t = np.array([r.frame.t for r in results])
    frames = np.array([r.frame.index for r in results])
    spans = (frames_between(t, float(e.data["start"]), float(e.data["start"]) + float(e.data["duration_s"]))
             for e in events if e.kind == "blink")
    return tuple((int(frames[i]), int(frames[j])) for i, j in (s for s in spans if s is not None))


def _scores(results: list, labels: Labels) -> tuple[np.ndarray, np.ndarray]:
    """(closed label, fused score) of the clip's labelled, non-ambiguous frames with a face."""
    closed_of = dict(zip(labels.frame.tolist(), labels.closed.tolist()))
    amb = set(labels.frame[labels.ambiguous].tolist())
    keep = [r for r in results if r.frame.index in closed_of and r.frame.index not in amb and r.scores is not None]
    return (np.array([closed_of[r.frame.index] for r in keep], bool),
            np.array([r.scores.fused for r in keep], float))


def person(clips: dict, classifier, landmarker: Path, jitter: int, sha256: str, log=print) -> dict:
    """One person: profiles from the FNN clip; per test clip, blink counts under each setting."""
    from ..runtime import profile as prof
    from ..settings import TemporalConfig

    base = TemporalConfig()
    profiles, why = calibrate_clip(clips[CALIBRATE_ON], classifier, landmarker, jitter, sha256)
    settings = {"without": base, **{rule: prof.apply(base, p) if p else base for rule, p in profiles.items()}}
    for rule in prof.HYSTERESIS_RULES:  # refused: the run goes on without a profile
        settings.setdefault(rule, base)
    out = {"profiles": {r: {k: getattr(p, k) for k in prof.APPLY_KEYS} | {"basis": p.basis, "note": p.note}
                        for r, p in profiles.items()}, "refused": why, "clips": {}, "y": [], "s": [], "thr": {}}
    for cond in TEST_ON:
        if cond not in clips:
            continue
        log(f"  {clips[cond].name}")
        labels = read_labels(clips[cond].with_name(clips[cond].name + ".eyestate.csv"), clips[cond].name)
        results, end_t = one_pass(clips[cond], classifier, landmarker, jitter)
        frames = np.array([r.frame.index for r in results])
        out["clips"][cond] = {k: match_blinks(replay(results, end_t, t, classifier.threshold), labels, frames)
                              for k, t in settings.items()}
        y, s = _scores(results, labels)
        out["y"].append(y)
        out["s"].append(s)
    out["thr"] = {k: (t.closed_threshold if t.closed_threshold is not None else classifier.threshold)
                  for k, t in settings.items()}
    return out


def _sum(counts) -> list[int]:
    counts = list(counts)
    return [sum(c[i] for c in counts) for i in range(3)]


def lopo_rules(tot: dict, candidates: tuple[str, ...]) -> dict[str, str]:
    """{person: rule}: for each person, the rule with the best pooled blink F1 over everyone else
    (tot: {person: {rule: [tp, fp, fn]}}); a tie goes to the earlier candidate."""
    out = {}
    for p in tot:
        f1s = {k: _prf(_sum(tot[q][k] for q in tot if q != p))["f1"] or 0.0 for k in candidates}
        out[p] = max(candidates, key=lambda k: (f1s[k], -candidates.index(k)))
    return out


def evaluate(folder: Path, classifier, landmarker: Path, jitter: int, sha256: str, log=print) -> dict:
    """Per person and pooled: blink P/R/F1 without a profile, with each rule, and with the rule
    chosen leave-one-person-out (the best pooled F1 on the other people; ties: the first rule)."""
    from ..runtime.profile import HYSTERESIS_RULES

    rows = {p: person(c, classifier, landmarker, jitter, sha256, log) for p, c in people(folder).items()}
    tot = {p: {k: _sum(clip[k] for clip in r["clips"].values()) for k in ("without", *HYSTERESIS_RULES)}
           for p, r in rows.items()}
    result = {"model_threshold": classifier.threshold, "people": {}, "pooled": {}}
    rules = lopo_rules(tot, HYSTERESIS_RULES)
    for p, r in rows.items():
        y, s = np.concatenate(r["y"]), np.concatenate(r["s"])
        result["people"][p] = {"profiles": r["profiles"], "refused": r["refused"], "rule": rules[p],
                               "clips": r["clips"], "auc": roc_figures(y, s)["auc"],
                               "without": _prf(tot[p]["without"]), "with": _prf(tot[p][rules[p]]),
                               **{f"with_{k}": _prf(tot[p][k]) for k in HYSTERESIS_RULES}}
    chosen_counts = [tot[p][rules[p]] for p in rows]
    result["pooled"] = {"without": _prf(_sum(t["without"] for t in tot.values())), "with": _prf(_sum(chosen_counts)),
                        **{f"with_{k}": _prf(_sum(t[k] for t in tot.values())) for k in HYSTERESIS_RULES}}
    y = np.concatenate([np.concatenate(r["y"]) for r in rows.values()])
    raw = np.concatenate([np.concatenate(r["s"]) for r in rows.values()])
    # 'with': each frame's margin over its person's threshold (the LOPO-chosen rule's; rules share it).
    margin = np.concatenate([np.concatenate(r["s"]) - r["thr"][result["people"][p]["rule"]]
                             for p, r in rows.items()])
    result["pooled"]["auc_without"] = roc_figures(y, raw)["auc"]
    result["pooled"]["auc_with"] = roc_figures(y, margin)["auc"]
    return result


def _prf(c) -> dict:
    tp, fp, fn = c
    p, r = precision_recall(tp, fp, fn)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f1(p, r)}


def by_condition(result: dict) -> dict:
    """Pooled blink figures per test condition, without a profile and with (the LOPO-chosen rule)."""
    out = {}
    for cond in TEST_ON:
        rows = [(r["clips"][cond], r["rule"]) for r in result["people"].values() if cond in r["clips"]]
        out[cond] = {"without": _prf(_sum(c["without"] for c, _ in rows)),
                     "with": _prf(_sum(c[rule] for c, rule in rows))}
    return out


def table(result: dict) -> str:
    """The markdown table of README's calibration section."""
    def f(v, d=3):
        return "–" if v is None else f"{v:.{d}f}"

    def prf(d):
        return f"{f(d['precision'], 2)} / {f(d['recall'], 2)} / **{f(d['f1'])}**"

    lines = ["| person | profile: threshold, hysteresis (rule) | blinks | without: P / R / F1 | "
             "with profile: P / R / F1 | frame AUC |", "|---|---|---|---|---|---|"]
    for name, r in result["people"].items():
        pr = r["profiles"].get(r["rule"])
        desc = ("refused: " + r["refused"].split(";")[0] if pr is None else
                f"{pr['closed_threshold']:.3f}, {pr['hysteresis']:.3f} ({r['rule']})")
        n = r["without"]["tp"] + r["without"]["fn"]
        lines.append(f"| {name} | {desc} | {n} | {prf(r['without'])} | {prf(r['with'])} | {f(r['auc'])} |")
    po = result["pooled"]
    n = po["without"]["tp"] + po["without"]["fn"]
    lines.append(f"| **all** | without: the model's {result['model_threshold']:.3f}, 0.1 | {n} | {prf(po['without'])} | "
                 f"{prf(po['with'])} | {f(po['auc_without'])} (with: {f(po['auc_with'])}) |")
    for rule in [k[5:] for k in po if k.startswith("with_")]:
        lines.append(f"| all, every person on rule '{rule}' | | {n} | | {prf(po['with_' + rule])} | |")
    for cond, r in by_condition(result).items():
        n = r["without"]["tp"] + r["without"]["fn"]
        lines.append(f"| all, {cond} clips only | | {n} | {prf(r['without'])} | {prf(r['with'])} | |")
    return "\n".join(lines)
