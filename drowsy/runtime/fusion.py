"""Two eyes → one closed score per frame, weighing each eye by how far it can be trusted.

A plain mean lets one unreliable eye hide a blink: behind a glaring lens one eye's crops can
read open (0.02-0.3) while the other reads closed (0.85-0.96), and the mean stays under the
threshold. Two signals the runtime already has say how far an eye's score can be trusted:
- the spread of P(closed) over the eye's jittered crops: a crop whose score swings with a
  shift of a few pixels is not looking at a clear eye;
- the contrast (std of gray levels) of the eye's centre crop: glare and darkness flatten it.
The face mesh's own eyeBlink blendshapes can join the CNN (`mean+eyeblink`).
A driver profile can add the lid geometry (Geometry, with_geometry): the eye aspect ratio
normalised to that driver's own open and closed eyes, a second opinion for faces the CNN
misreads (narrow or hooded eyes read closed, glasses).
Numpy only; every rule takes per-eye arrays of shape (..., 2) and returns shape (...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPREAD_FLOOR = 0.05  # a spread below this is "confident" anyway: no eye dominates on noise
CONTRAST_FULL = 12.0  # gray-level std at which a crop counts as fully contrasted (0-255 scale)
SPREAD_UNTRUSTED = 0.15  # jitter spread from which an eye's own score is not trusted at all


def reliability(spread, contrast=None) -> np.ndarray:
    """Per-eye weights: 1 / (spread + floor), times min(1, contrast / CONTRAST_FULL)."""
    w = 1.0 / (np.asarray(spread, dtype=np.float64) + SPREAD_FLOOR)
    if contrast is not None:
        w = w * np.clip(np.asarray(contrast, dtype=np.float64) / CONTRAST_FULL, 0.05, 1.0)
    return w


def fuse_mean(p, spread=None, contrast=None) -> np.ndarray:
    return np.mean(np.asarray(p, dtype=np.float64), axis=-1)


def fuse_max(p, spread=None, contrast=None) -> np.ndarray:
    return np.max(np.asarray(p, dtype=np.float64), axis=-1)


def fuse_reliable(p, spread, contrast=None) -> np.ndarray:
    """Reliability-weighted mean of the two eyes."""
    p = np.asarray(p, dtype=np.float64)
    w = reliability(spread, contrast)
    return np.sum(w * p, axis=-1) / np.sum(w, axis=-1)


def trust(spread, contrast=None) -> np.ndarray:
    """Per-eye trust in [0, 1]: 1 at zero jitter spread and full contrast, 0 from a spread of
    SPREAD_UNTRUSTED (the crops disagree) or a flat crop."""
    t = np.clip(1.0 - np.asarray(spread, dtype=np.float64) / SPREAD_UNTRUSTED, 0.0, 1.0)
    if contrast is not None:
        t = t * np.clip(np.asarray(contrast, dtype=np.float64) / CONTRAST_FULL, 0.0, 1.0)
    return t


def fuse_reliable_or(p, spread, contrast=None) -> np.ndarray:
    """Each eye's score blended towards the mean of both by its lack of trust, then the larger:
    a trusted closed eye makes the frame closed even when the other eye reads open, while an
    untrusted eye alone can only move the score as far as the mean."""
    p = np.asarray(p, dtype=np.float64)
    t = trust(spread, contrast)
    m = np.mean(p, axis=-1, keepdims=True)
    return np.max(t * p + (1.0 - t) * m, axis=-1)


def fuse_mean_eyeblink(p, spread=None, contrast=None, blink=None) -> np.ndarray:
    """The CNN's mean and MediaPipe's eyeBlink blendshapes (same landmarker pass), averaged: the
    lid shape the face mesh sees and the eye's look in the crop fail in different ways (the
    blendshapes lose separation in the dark, the crops on lids seen from below). Without
    blendshapes (a landmarker run without them) this is the CNN's mean alone."""
    m = fuse_mean(p)
    if blink is None:
        return m
    g = np.mean(np.asarray(blink, dtype=np.float64), axis=-1)
    return np.where(np.isfinite(g), 0.5 * m + 0.5 * g, m)


RULES = {"mean": fuse_mean, "max": fuse_max, "reliable": fuse_reliable, "reliable_or": fuse_reliable_or,
         "mean+eyeblink": fuse_mean_eyeblink}
NEEDS_BLENDSHAPES = {"mean+eyeblink"}  # the landmarker must output blendshapes for these
DEFAULT_RULE = "mean"


def fuse(p, spread, contrast=None, rule: str = DEFAULT_RULE, blink=None) -> np.ndarray:
    """One closed score per frame; `blink`: per-eye eyeBlink blendshapes (..., 2), or None."""
    if rule in NEEDS_BLENDSHAPES:
        return RULES[rule](p, spread, contrast, blink)
    return RULES[rule](p, spread, contrast)


def eyeblink(blendshapes) -> np.ndarray | None:
    """Per-eye eyeBlink scores [right, left] from a Face's blendshapes, or None without them."""
    if "eyeBlinkRight" not in blendshapes or "eyeBlinkLeft" not in blendshapes:
        return None
    return np.array([blendshapes["eyeBlinkRight"], blendshapes["eyeBlinkLeft"]], dtype=np.float32)


@dataclass(frozen=True)
class Geometry:
    """One driver's lid geometry, from `drowsy calibrate` (profile [fusion]): the mean eye aspect
    ratio of their open and of their closed eyes, and the weight of the geometry in the fused
    score (0: the CNN alone)."""

    ear_open: float
    ear_closed: float
    weight: float

    def closedness(self, ear) -> np.ndarray:
        """0 at this driver's open eyes, 1 at their closed ones (bounded to [-0.5, 1.5], so that one
        bad landmark fit cannot outweigh the CNN)."""
        span = max(self.ear_open - self.ear_closed, 1e-6)
        return np.clip((self.ear_open - np.asarray(ear, dtype=np.float64)) / span, -0.5, 1.5)


def with_geometry(fused, closedness, weight: float) -> np.ndarray:
    """(1 - weight) x the CNN's fused score + weight x the driver-normalised lid closedness; the
    CNN's score alone where the closedness is unknown (nan) or the weight is 0."""
    fused = np.asarray(fused, dtype=np.float64)
    if not weight:
        return fused
    g = np.asarray(closedness, dtype=np.float64)
    return np.where(np.isfinite(g), (1.0 - weight) * fused + weight * np.nan_to_num(g), fused)
