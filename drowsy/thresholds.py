"""Settings of the temporal stage: TemporalConfig, its valid ranges, and which frames can be judged.

All times are seconds. Every field can be set by a flag of `drowsy run` and in the [temporal]
section of its TOML config (config.py); LIMITS below is the one table of valid ranges.

Defaults and where they come from (conventions unless marked otherwise; none was fitted to our data):

| setting           | default | source / reason                                                     |
|-------------------|---------|---------------------------------------------------------------------|
| window_s          | 60 s    | PERCLOS over one minute, P80 (lids at least 80 % shut): Wierwille   |
|                   |         | et al. 1994 (NHTSA DOT HS 808 247); Dinges & Grace 1998             |
|                   |         | (FHWA-MCRT-98-006). Our 'closed' is the eye model's label (lids     |
|                   |         | cover most of the iris): close to P80, not a measured aperture.     |
| perclos_alert     | 0.15    | convention: a level often used by camera-based PERCLOS monitors     |
|                   |         | over a one-minute window; not validated on our data.                |
| perclos_clear     | 0.10    | our choice: hysteresis below perclos_alert, so no flicker.          |
| min_assessable_s  | 30 s    | our choice: half a window of evidence before any PERCLOS.           |
| microsleep_s      | 1.5 s   | the project's issue; definitions vary (often 0.5-15 s).             |
| (blinks)          | < 1.5 s | normal blinks last about 100-400 ms (Stern, Walrath & Goldstein     |
|                   |         | 1984, Psychophysiology 21:22; Schiffman 2001, Sensation and         |
|                   |         | Perception): any shorter closure is reported as a blink.            |
| closed_threshold  | model's | the eye model's own threshold (its ONNX metadata).                  |
| hysteresis        | 0.1     | our choice: open again only 0.1 below the threshold.                |
| min_alert_s       | 2 s     | our choice: long enough to notice, short enough to stop soon.       |
| cooldown_s        | 10 s    | our choice: no new PERCLOS alert within 10 s of the last one.       |
| not_visible_s     | 3 s     | our choice: longer than a glance at a mirror.                       |
| max_gap_s         | 0.5 s   | our choice: a frame stands for at most 0.5 s (cameras >= 2 FPS).    |
| max_yaw/pitch_deg | 35 / 25 | our choice: beyond these the eye crops are too foreshortened.       |
| min_brightness    | 20      | our choice: mean gray (0-255) of the eye crops below it = too dark. |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .types import EyeCrops, Face


@dataclass(frozen=True)
class TemporalConfig:
    window_s: float = 60.0  # PERCLOS window
    perclos_alert: float = 0.15  # alert on at/above
    perclos_clear: float = 0.10  # alert off below (hysteresis)
    min_assessable_s: float = 30.0  # PERCLOS is None until the window holds this much assessable time
    microsleep_s: float = 1.5
    closed_threshold: float | None = None  # None = the eye model's threshold
    hysteresis: float = 0.1  # closed when p >= thr, open again when p < thr - hysteresis
    min_alert_s: float = 2.0  # an alert stays on at least this long (no flicker)
    cooldown_s: float = 10.0  # after a PERCLOS alert clears it may not re-raise for this long
    not_visible_s: float = 3.0  # unassessable for this long → a "driver not visible" event
    max_gap_s: float = 0.5  # a frame stands for at most this long; longer gaps are unassessable
    max_yaw_deg: float = 35.0
    max_pitch_deg: float = 25.0
    min_brightness: float = 20.0  # mean gray of the eye crops below this = too dark to judge


# Valid ranges: field → (low, high, low_open, high_open). One table for config.py and the monitor.
LIMITS = {
    "window_s": (0.0, math.inf, True, True), "perclos_alert": (0.0, 1.0, False, False),
    "perclos_clear": (0.0, 1.0, False, False), "min_assessable_s": (0.0, math.inf, False, True),
    "microsleep_s": (0.0, math.inf, True, True), "closed_threshold": (0.0, 1.0, False, False),
    "hysteresis": (0.0, 1.0, False, False), "min_alert_s": (0.0, math.inf, False, True),
    "cooldown_s": (0.0, math.inf, False, True), "not_visible_s": (0.0, math.inf, False, True),
    "max_gap_s": (0.0, math.inf, True, True), "max_yaw_deg": (0.0, 180.0, True, False),
    "max_pitch_deg": (0.0, 90.0, True, False), "min_brightness": (0.0, 255.0, False, False),
}


def range_problem(value: float, limits: tuple[float, float, bool, bool]) -> str | None:
    """Why `value` is outside `limits`, e.g. "must be > 0", or None when it is fine."""
    lo, hi, lo_open, hi_open = limits
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "must be a finite number"
    if value < lo or (lo_open and value == lo):
        return f"must be {'>' if lo_open else '>='} {lo:g}"
    if value > hi or (hi_open and value == hi):
        return f"must be {'<' if hi_open else '<='} {hi:g}"
    return None


def check(cfg: TemporalConfig) -> list[tuple[str, str]]:
    """Every problem of `cfg` as (field, "must be ..."); empty when valid."""
    out = []
    for name, limits in LIMITS.items():
        value = getattr(cfg, name)
        if value is None and name == "closed_threshold":
            continue
        why = range_problem(value, limits)
        if why:
            out.append((name, why))
    if not out and cfg.perclos_clear > cfg.perclos_alert:
        out.append(("perclos_clear", f"must be <= perclos_alert ({cfg.perclos_alert:g})"))
    if not out and cfg.min_assessable_s > cfg.window_s:
        out.append(("min_assessable_s", f"must be <= window_s ({cfg.window_s:g}), or PERCLOS never fills"))
    return out


def assessability(face: Face | None, crops: EyeCrops | None, cfg: TemporalConfig) -> str | None:
    """None when the frame can be judged, else why not: "no_face", "head_turned", "too_dark".

    `crops` may be None (not cut yet): then brightness is not checked.
    """
    if face is None:
        return "no_face"
    if abs(face.yaw_deg) > cfg.max_yaw_deg or abs(face.pitch_deg) > cfg.max_pitch_deg:
        return "head_turned"
    if crops is not None and crops.mean_gray < cfg.min_brightness:
        return "too_dark"
    return None
