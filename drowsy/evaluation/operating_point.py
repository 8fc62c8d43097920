"""The closed threshold, hysteresis and eye fusion chosen on labelled video, leave people out.

These are operating points of the whole pipeline (landmarks, crops, model, temporal logic),
not of the eye model on crops, so they are chosen on clips: the recorded per-frame features of
`drowsy eval-video` (evalclip.ClipPass) are replayed through the real DrowsinessMonitor for
every candidate (fusion rule x threshold x hysteresis) — no model or landmarker reruns.

Selection rule (declared before any held-out figure was computed; see RULE):
1. A candidate that raises any alert on the dev clips (ordinary blinking) is out.
2. Score = the mean, over the pass sets clean, dark, lowres, blurgray and clean at 15 FPS, of
   the blink F1 pooled over the dev persons' clips (blinkmatch convention).
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

from .blinks import BlinkCount, dont_care_spans, match_blinks
from .clips import ClipPass, Labels, blink_frames

FUSIONS = ("mean", "reliable", "reliable_or", "max")  # simplest first: ties go to the earlier
THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.20, 0.91, 0.05))
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
    return fuse(e["p_closed"], e["spread"], e["crop_std"], rule=rule)


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


def count_blinks(spans, labels: Labels) -> BlinkCount:
    return match_blinks(spans, labels.blinks, dont_care_spans(labels.frame, labels.ambiguous, labels.other_events))


def candidate_table(passes: dict, persons: dict, temporal_cfg, fusions=FUSIONS, thresholds=THRESHOLDS,
                    hystereses=HYSTERESES) -> dict:
    """{pass set: {Candidate: {person: (BlinkCount, alerts)}}} for every candidate."""
    out = {}
    for name, clips in passes.items():
        table: dict = {}
        for clip, labels in clips:
            reasons = gate_reasons(clip, temporal_cfg)
            person = persons[clip.video]
            for fusion in fusions:
                score = fused_scores(clip, fusion)
                for h in hystereses:
                    for thr in thresholds:
                        cand = Candidate(fusion, thr, h)
                        spans, alerts = replay(clip, score, reasons, cand, temporal_cfg)
                        cell = table.setdefault(cand, {}).get(person, (BlinkCount(), 0))
                        table[cand][person] = (cell[0] + count_blinks(spans, labels), cell[1] + alerts)
        out[name] = table
    return out


def _score(table: dict, cand: Candidate, people) -> tuple[float, int]:
    f1s, alerts = [], 0
    for name in SELECT_SETS:
        if name not in table:
            continue
        total = BlinkCount()
        for p in people:
            c, a = table[name][cand].get(p, (BlinkCount(), 0))
            total, alerts = total + c, alerts + a
        f1s.append(total.f1 or 0.0)
    return (float(np.mean(f1s)) if f1s else 0.0), alerts


def select(table: dict, people) -> tuple[Candidate, float]:
    """The rule's pick on `people` (see the module docstring) and its score."""
    first = next(iter(table.values()))
    scored = [(c, *_score(table, c, people)) for c in first]
    ok = [(c, s) for c, s, alerts in scored if alerts == 0] or [(c, s) for c, s, _ in scored]
    best = max(s for _, s in ok)
    tied = [c for c, s in ok if s >= best - TIE]
    fusion = min({c.fusion for c in tied}, key=FUSIONS.index)
    hyst = sorted({c.hysteresis for c in tied if c.fusion == fusion}, key=lambda h: (h != 0.1, h))[0]
    thr = sorted(c.threshold for c in tied if c.fusion == fusion and c.hysteresis == hyst)
    return Candidate(fusion, thr[(len(thr) - 1) // 2], hyst), best


def leave_people_out(table: dict, people: list[str]) -> dict:
    """Per held-out person: the pick on the others, its dev score, and the person's counts."""
    folds = {}
    for held in people:
        dev = [p for p in people if p != held]
        cand, dev_score = select(table, dev)
        folds[held] = {"pick": cand, "dev_score": dev_score,
                       "test": {name: table[name][cand].get(held, (BlinkCount(), 0)) for name in table}}
    return folds
