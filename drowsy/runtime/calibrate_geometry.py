"""Which calibration frames are open and which closed, from the landmarks alone (issue 21).

Calibration used to find a driver's open frames by the eye model's own score, so a driver whose
open eyes the model reads as closed (narrow or hooded eyes, some glasses) got too few "open"
frames and no profile: the very drivers a profile is for. Here the model is not asked; the
face mesh's lids are:
- the mean eye aspect ratio (EAR) of both eyes, relative to the driver's own open plateau (its
  median over the frames with a judged face; blinks are short, so the plateau dominates), and,
  when the landmarker gives them, the eyeBlink blendshapes relative to their own median, as a
  second cue (the two z-scores are averaged);
- a closure is a run of frames whose cue reaches 1 (EAR EAR_DROP below the plateau), counted
  only if it peaks at PEAK (a lone frame of landmark noise is not a blink); its closed frames are
  those at least half-way to its peak;
- open frames are those at rest (cue below OPEN_BAND) and more than GUARD_S from any closure.
The threshold is then placed between the model's scores on these frames (profile.derive), so a
driver whose open eyes score high gets a threshold above them, and the lid geometry can join the
fused score (fusion.Geometry) by the fusion rules below.

The constants and rules were written down before any calibration figure was computed
(docs/calibrate.md): a full blink drops the EAR by half or more, landmark noise at 320x240 by
about a tenth.
"""

from __future__ import annotations

import numpy as np

from .fusion import Geometry, eyeblink

EAR_DROP = 0.30  # a closure: the mean EAR this fraction below the driver's open plateau ...
BLINK_RISE = 0.30  # ... or the eyeBlink blendshape this much above its median (second cue)
PEAK = 1.5  # a closure's cue must reach this (an EAR drop of 45 %)
OPEN_BAND = 0.5  # open frames: the cue below this (lids at rest)
GUARD_S = 0.1  # and this far in time from any closure (lids moving)
CLOSED_LEVEL = 1.0 - 2 * EAR_DROP  # closed EAR / open EAR assumed when no closure was seen
# The fusion rules (a driver's weight of the lid geometry in the fused score), in tie order:
# "cnn": never; "ear-needed": only when the model misreads this driver's open eyes (the 99th
# percentile of their CNN scores plus profile.MARGIN reaches the model's threshold); "ear": always.
FUSION_RULES = ("cnn", "ear-needed", "ear")
GEOMETRY_WEIGHT = 0.5  # half the CNN, half the lids: neither alone decides


def lids(face) -> tuple[float, float]:
    """(mean eye aspect ratio, mean eyeBlink blendshape) of both eyes of a face; nan without one
    (the eyeBlink also without blendshapes)."""
    from .crop import eye_aspect_ratio

    if face is None:
        return np.nan, np.nan
    b = eyeblink(face.blendshapes)
    return float(np.mean(eye_aspect_ratio(face.landmarks))), np.nan if b is None else float(np.mean(b))


def cue(ear: np.ndarray, blink: np.ndarray | None, ref: np.ndarray) -> np.ndarray:
    """Per frame, how closed the lids look in units of a closure's bar (0: the plateau of the
    `ref` frames, 1: a closure); nan where the EAR is unknown."""
    ear = np.asarray(ear, float)
    plateau = float(np.median(ear[ref])) if ref.any() else np.nan
    z = (1.0 - ear / plateau) / EAR_DROP if plateau > 0 else np.full(len(ear), np.nan)
    if blink is not None:
        blink = np.asarray(blink, float)
        has = ref & np.isfinite(blink)
        if has.sum() >= max(1, ref.sum() // 2):  # blendshapes on most frames: the second cue counts
            zb = (blink - float(np.median(blink[has]))) / BLINK_RISE
            z = np.where(np.isfinite(zb), (z + zb) / 2, z)
    return z


def find_closures(t: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(open mask, closed mask, number of closures) from the cue z (nan: not usable)."""
    ok = np.isfinite(z)
    closed, near = np.zeros(len(z), bool), np.zeros(len(z), bool)
    high = np.r_[0, (ok & (z >= 1.0)).astype(np.int8), 0]
    runs = [(a, b) for a, b in zip(np.flatnonzero(np.diff(high) == 1), np.flatnonzero(np.diff(high) == -1) - 1)
            if z[a:b + 1].max() >= PEAK]
    for a, b in runs:
        seg = z[a:b + 1]
        closed[a:b + 1] = seg >= 0.5 * seg.max()
        near |= (t >= t[a] - GUARD_S) & (t <= t[b] + GUARD_S)
    # Frames of a sub-PEAK dip (z >= OPEN_BAND) are neither: the lids were moving.
    return ok & ~near & (np.nan_to_num(z, nan=np.inf) < OPEN_BAND), closed, len(runs)


def geometry(ear: np.ndarray, open_m: np.ndarray, closed_m: np.ndarray, weight: float) -> Geometry:
    """The driver's lid geometry: median EAR of the open and of the closed frames (no closure seen:
    CLOSED_LEVEL of the open one)."""
    ear_open = float(np.median(ear[open_m]))
    ear_closed = float(np.median(ear[closed_m])) if closed_m.any() else CLOSED_LEVEL * ear_open
    ear_closed = min(ear_closed, 0.9 * ear_open)  # a closed level at the open one would divide by ~0
    return Geometry(ear_open=round(ear_open, 4), ear_closed=round(ear_closed, 4), weight=weight)


def fusion_weight(rule: str, cnn_open_q: float, model_threshold: float, margin: float) -> float:
    """The geometry's weight under `rule` (FUSION_RULES) for a driver whose open-eye CNN scores
    reach cnn_open_q (their 99th percentile)."""
    if rule not in FUSION_RULES:
        raise ValueError(f"unknown fusion rule {rule!r}")
    if rule == "ear" or (rule == "ear-needed" and cnn_open_q + margin >= model_threshold):
        return GEOMETRY_WEIGHT
    return 0.0
