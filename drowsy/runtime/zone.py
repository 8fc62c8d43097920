"""The on-road zone of one driver (issue 19): the gate's limits, narrowed to the driver's own spread.

`drowsy calibrate` measures, on the frames where the driver looks at the road with open eyes, how far
the head yaw, the head pitch and the iris wander (Spread: a high quantile, SPREAD_Q, of the distance
from the rest pose; for the iris, of its sideways offset itself, which is what gaze.py tests). A
run with that profile (profile.apply sets the temporal settings *_spread) calls a frame off the road
beyond `zone_k` spreads, but never closer than the zone_min_* floors (a driver's head moves more on
a drive than on a still seat: curves, lane changes, bumps) and never further than the settings'
own limits (max_yaw_deg, max_pitch_down_deg, iris_side_min stay the outer bound).

Looking up is not narrowed: the project counts it as on the road (the ZJU "upward" clips, head pitch
+10 to +31 deg, must raise nothing; docs/driver-state.md), so pitch up keeps max_pitch_up_deg.
Without a profile (spreads unset) the zone is exactly the settings' limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..settings import TemporalConfig

SPREAD_Q = 0.95  # the calibration's "looking at the road" range: 95 % of its open-eye frames


@dataclass(frozen=True)
class Spread:
    """What calibrate measured on the open-eye frames (a profile's [spread] section)."""

    yaw_deg: float  # SPREAD_Q quantile of |yaw - median yaw|
    pitch_deg: float  # the same for pitch
    iris_side: float  # SPREAD_Q quantile of |iris sideways offset| (eye widths; gaze.iris_offset x)


@dataclass(frozen=True)
class Zone:
    """Off the road beyond these (yaw both ways and pitch down from the rest pose; iris sideways)."""

    yaw_deg: float
    pitch_down_deg: float
    iris_side: float


def measure(yaw: np.ndarray, pitch: np.ndarray, iris_x: np.ndarray) -> Spread:
    """The spread of the frames given (nan values ignored; no iris measured: 0)."""
    def dev(x: np.ndarray, centred: bool) -> float:
        x = np.asarray(x, float)
        x = x[np.isfinite(x)]
        if not len(x):
            return 0.0
        return round(float(np.quantile(np.abs(x - np.median(x)) if centred else np.abs(x), SPREAD_Q)), 4)

    return Spread(yaw_deg=dev(yaw, True), pitch_deg=dev(pitch, True), iris_side=dev(iris_x, False))


def _half(spread: float | None, k: float, floor: float, outer: float) -> float:
    return outer if spread is None else min(outer, max(floor, k * spread))


def on_road_zone(cfg: TemporalConfig) -> Zone:
    """The zone of these settings: clamp(zone_k x spread, floor, the setting's limit) where a
    profile gave the spread, else the setting's limit itself."""
    k = cfg.zone_k
    return Zone(yaw_deg=_half(cfg.yaw_spread_deg, k, cfg.zone_min_yaw_deg, cfg.max_yaw_deg),
                pitch_down_deg=_half(cfg.pitch_spread_deg, k, cfg.zone_min_pitch_deg, cfg.max_pitch_down_deg),
                iris_side=_half(cfg.iris_side_spread, k, cfg.zone_min_iris_side, cfg.iris_side_min))
