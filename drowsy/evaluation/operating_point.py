"""The closed threshold, hysteresis and eye fusion chosen on labelled video, leave people out.

These are operating points of the whole pipeline (landmarks, crops, model, temporal logic),
not of the eye model on crops, so they are chosen on clips: the recorded per-frame features of
`drowsy eval-video` (clips.ClipPass) are replayed through the real DrowsinessMonitor for
every candidate (fusion rule x threshold x hysteresis) — no model or landmarker reruns.

Selection rule (declared before any held-out figure was computed; see RULE):
1. A candidate that raises any alert on the dev clips (ordinary blinking) is out.
2. Score = the mean, over the pass sets clean, dark, lowres, blurgray and clean at 15 FPS, of
   the blink F1 pooled over the dev persons' clips (blinks.py convention).
3. Highest score wins; among candidates tied with it (within 0.001), the first fusion rule in
   FUSIONS order, then hysteresis 0.1 before others, then the median tied threshold.
Leave-people-out: each person in turn is held out, the rule picks on all the others, and the
held-out person's figures at that pick are reported; the value shipped is the rule's pick on
all persons.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .blinks import BlinkCount
from .clips import ClipPass, blink_frames
from .summary import count, frame_table, roc_summary

# Simplest first: ties go to the earlier. "mean+eyeblink" was added after the first run of the
# rule (docs/accuracy.md says which figures came before it).
FUSIONS = ("mean", "reliable", "reliable_or", "max", "mean+eyeblink")
THRESHOLDS = tuple(round(float(x), 2) for x in np.arange(0.20, 0.91, 0.05))
HYSTERESES = (0.1, 0.05, 0.2)
SELECT_SETS = ("clean", "dark", "lowres", "blurgray", "clean@15fps")
RULE = ("leave-one-person-out; on the dev persons: candidates raising any alert are out; score = mean "
        "blink F1 over " + ", ".join(SELECT_SETS) + "; ties (0.001): first fusion in " + "/".join(FUSIONS)
        + ", hysteresis 0.1 first, then the median tied threshold")
TIE = 1e-3


@dataclass(frozen=True)
class Candidate:
    fusion: str
    threshold: float
    hysteresis: float

    def to_json(self) -> dict:
        return {"fusion": self.fusion, "threshold": self.threshold, "hysteresis": self.hysteresis}


def fused_scores(clip: ClipPass, rule: str) -> np.ndarray:
    """The frame scores a fusion rule gives from the recorded per-eye features."""
    from ..runtime.fusion import fuse

    e = clip.eyes
    return fuse(e["p_closed"], e["spread"], e["crop_std"], rule=rule, blink=e.get("blink"))


def frame_auc(clips, score_of) -> float | None:
    """Pooled frame ROC AUC of the scores `score_of(clip)` over labelled, unambiguous frames
    with a face (as eval-video counts them); None without both classes."""
    ys, ss = [], []
    for clip, labels in clips:
        tb = frame_table(clip, labels)
        ys.append(tb["y"][tb["scored"]])
        ss.append(np.asarray(score_of(clip), dtype=float)[tb["scored"]])
    return roc_summary(np.concatenate(ys), np.concatenate(ss))["auc"]


def gate_reasons(clip: ClipPass, temporal_cfg) -> list[str | None]:
    """The runtime gate's verdict per recorded frame (no face, head pose, darkness)."""
    from ..runtime.gate import assessability

    out = []
    for i in range(len(clip.frame)):
        if not clip.face[i]:
            out.append("no_face")
            continue
        face = SimpleNamespace(yaw_deg=float(clip.pose[i, 0]), pitch_deg=float(clip.pose[i, 1]))
        out.append(assessability(face, SimpleNamespace(mean_gray=float(clip.mean_gray[i])), temporal_cfg))
    return out


def replay(clip: ClipPass, score: np.ndarray, reasons, cand: Candidate, temporal_cfg):
    """(blink frame spans, alert count) of the DrowsinessMonitor fed `score` at `cand`."""
    from dataclasses import replace

    from ..runtime.temporal import DrowsinessMonitor

    cfg = replace(temporal_cfg, closed_threshold=cand.threshold, hysteresis=cand.hysteresis)
    mon = DrowsinessMonitor(cfg, cand.threshold)
    events = []
    for t, s, why in zip(clip.t, score, reasons):
        events += mon.update(float(t), None if why else float(s), why).events
    if len(clip.t):
        step = float(np.median(np.diff(clip.t))) if len(clip.t) > 1 else 0.04
        events += mon.finish(float(clip.t[-1]) + step)
    return blink_frames(events, clip.t, clip.frame), sum(e.kind == "alert_on" for e in events)


def candidate_table(passes: dict, temporal_cfg, fusions=FUSIONS, thresholds=THRESHOLDS,
                    hystereses=HYSTERESES) -> dict:
    """{pass set: {Candidate: {clip: (BlinkCount, alerts)}}} for every candidate."""
    out = {}
    for name, clips in passes.items():
        table: dict = {}
        for clip, labels in clips:
            reasons = gate_reasons(clip, temporal_cfg)
            for fusion in fusions:
                score = fused_scores(clip, fusion)
                for h in hystereses:
                    for thr in thresholds:
                        if h >= thr:  # eyes would reopen only below 0: not a setting a run accepts
                            continue
                        cand = Candidate(fusion, thr, h)
                        spans, alerts = replay(clip, score, reasons, cand, temporal_cfg)
                        table.setdefault(cand, {})[clip.video] = (count(spans, labels), alerts)
        out[name] = table
    return out


def total(cells: dict, clips) -> tuple[BlinkCount, int]:
    """Summed counts and alerts of `clips` in one candidate's {clip: (BlinkCount, alerts)}."""
    counts, alerts = BlinkCount(), 0
    for c in clips:
        if c in cells:
            counts, alerts = counts + cells[c][0], alerts + cells[c][1]
    return counts, alerts


def _score(table: dict, cand: Candidate, clips) -> tuple[float, int]:
    f1s, alerts = [], 0
    for name in SELECT_SETS:
        if name in table:
            counts, a = total(table[name][cand], clips)
            f1s.append(counts.f1 or 0.0)
            alerts += a
    return (float(np.mean(f1s)) if f1s else 0.0), alerts


def select(table: dict, clips) -> tuple[Candidate, float]:
    """The rule's pick on `clips` (see the module docstring) and its score."""
    first = next(iter(table.values()))
    scored = [(c, *_score(table, c, clips)) for c in first]
    ok = [(c, s) for c, s, alerts in scored if alerts == 0] or [(c, s) for c, s, _ in scored]
    best = max(s for _, s in ok)
    tied = [c for c, s in ok if s >= best - TIE]
    fusion = min({c.fusion for c in tied}, key=FUSIONS.index)
    hyst = sorted({c.hysteresis for c in tied if c.fusion == fusion}, key=lambda h: (h != 0.1, h))[0]
    thr = sorted(c.threshold for c in tied if c.fusion == fusion and c.hysteresis == hyst)
    return Candidate(fusion, thr[(len(thr) - 1) // 2], hyst), best


def leave_people_out(table: dict, person_of: dict[str, str]) -> dict:
    """Per held-out person: the pick on everyone else's clips, its dev score, and the held-out
    clips' counts at that pick, per pass set and clip."""
    folds = {}
    for held in sorted(set(person_of.values())):
        dev = [c for c, p in person_of.items() if p != held]
        test = [c for c, p in person_of.items() if p == held]
        cand, dev_score = select(table, dev)
        folds[held] = {"pick": cand, "dev_score": dev_score,
                       "test": {name: {c: table[name][cand][c] for c in test if c in table[name][cand]}
                                for name in table}}
    return folds


META_SOURCE = "drowsy.threshold_source"
META_CROP_THRESHOLD = "drowsy.threshold_crops"


def write_operating_point(model_in, model_out, cand: Candidate, source: str) -> None:
    """Copy the ONNX model with the chosen threshold, hysteresis and fusion in its metadata
    (`drowsy.threshold`, `drowsy.hysteresis`, `drowsy.fusion`, `drowsy.threshold_source`; the
    threshold chosen on eye crops at training moves to `drowsy.threshold_crops`).
    Needs the `onnx` package (the [train] extra); the graph is left as it is."""
    import os
    from pathlib import Path

    import onnx

    from ..runtime.classify import META_FUSION, META_HYSTERESIS, META_THRESHOLD

    model = onnx.load(str(model_in))
    old = {p.key: p.value for p in model.metadata_props}
    values = {META_THRESHOLD: f"{cand.threshold:g}", META_HYSTERESIS: f"{cand.hysteresis:g}",
              META_FUSION: cand.fusion, META_SOURCE: source,
              # The threshold it replaces (the crop-level one from training), kept on reruns.
              META_CROP_THRESHOLD: old.get(META_CROP_THRESHOLD, old.get(META_THRESHOLD, ""))}
    kept = [p for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept + [onnx.StringStringEntryProto(key=k, value=v) for k, v in values.items()])
    out = Path(model_out)
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, out)  # the old file stays whole until the new one is complete
