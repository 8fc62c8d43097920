"""Driver facts of one frame: head pose against the rest pose, iris position, eyeLook blendshapes
→ Attention (on the forward road or not, and why; looking down; a head drop or slump).

The on-road zone is the gate's (gate.py): yaw within max_yaw_deg and pitch within the pitch
limits of the rest pose (a driver profile sets yaw_centre_deg / pitch_centre_deg), narrowed to a
calibrated driver's own spread (zone.py). The eyes alone
can leave it too ("lizard" glances): the iris sideways by iris_side_min eye widths, or looking
down. Looking down needs two signs, because MediaPipe's eyeLookDown is as high on closed eyes
(~0.7 on the labelled clips) as on lowered lids: eyeLookDown >= look_down_min AND the iris centre
at least iris_down_min eye widths below the middle of the eye corners (closed eyes: at most 0.05).
Without blendshapes (a landmarker run without them) nobody is ever called looking down.
"""

from __future__ import annotations

import numpy as np

from ..settings import TemporalConfig
from ..types import Attention, Face
from .zone import on_road_zone

# MediaPipe face mesh: each iris centre with its eye's two corners (image-left corner first).
IRIS_EYES = ((468, 33, 133), (473, 362, 263))


def iris_offset(landmarks: np.ndarray) -> tuple[float, float] | None:
    """Mean over both eyes of the iris centre's offset from the middle of the eye corners, in eye
    widths, along the corner line (x, > 0 = image right) and across it (y, > 0 = down)."""
    if landmarks.shape[0] < 478:
        return None
    out = []
    for iris, a, b in IRIS_EYES:
        pa, pb, pi = (landmarks[i, :2].astype(np.float64) for i in (a, b, iris))
        axis = pb - pa
        width = float(np.hypot(*axis))
        if not width > 1e-6:
            return None
        u = axis / width
        d = pi - (pa + pb) / 2
        # Across the corner line, turned +90 deg from it (image y down): head roll cancels out.
        out.append((float(d @ u) / width, float(d @ np.array([-u[1], u[0]])) / width))
    x, y = np.mean(out, axis=0)
    return float(x), float(y)


class GazeReader:
    """One callable per run: (t, face) → Attention; remembers the last pitch for its rate."""

    def __init__(self, cfg: TemporalConfig):
        self.cfg = cfg
        self._last: tuple[float, float] | None = None  # (t, pitch) of the last face
        self.zone = on_road_zone(cfg)  # the settings' limits, narrowed by a profile's spreads (zone.py)

    def __call__(self, t: float, face: Face | None) -> Attention:
        cfg = self.cfg
        if face is None:
            self._last = None
            return Attention(on_road=False, why="no_face", drop="slump")
        rate = None
        # The pitch rate is measured between new head poses. With --landmarks-every N the frames
        # between landmark passes carry the last pass's pose unchanged (track.py moves only the
        # points): measured frame to frame, the whole change would land on one frame and read N
        # times too fast. So an unchanged pose is no new measurement and keeps the last one's time.
        if self._last is not None and face.pitch_deg == self._last[1]:
            pass
        else:
            if self._last is not None and 0.0 < t - self._last[0] <= cfg.max_gap_s:
                rate = (face.pitch_deg - self._last[1]) / (t - self._last[0])
            self._last = (t, face.pitch_deg)
        yaw, pitch = face.yaw_deg - cfg.yaw_centre_deg, face.pitch_deg - cfg.pitch_centre_deg
        gaze = iris_offset(face.landmarks)
        b = face.blendshapes
        look = (b["eyeLookDownLeft"] + b["eyeLookDownRight"]) / 2 if "eyeLookDownLeft" in b and \
            "eyeLookDownRight" in b else None
        down = look is not None and gaze is not None and look >= cfg.look_down_min and gaze[1] >= cfg.iris_down_min
        why = None
        if pitch < -self.zone.pitch_down_deg:
            why = "head_down"
        elif abs(yaw) > self.zone.yaw_deg or pitch > cfg.max_pitch_up_deg:
            why = "head_turned"
        elif down:
            why = "looking_down"
        elif gaze is not None and abs(gaze[0]) >= self.zone.iris_side:
            why = "gaze_side"
        # A head drop is past the gate's limit, not the calibrated zone's: only then is a closure hidden.
        fast = rate is not None and rate <= -cfg.head_drop_dps
        drop = "head_drop" if pitch < -cfg.max_pitch_down_deg or fast else None
        return Attention(on_road=why is None, why=why, looking_down=down, gaze=gaze,
                         look_down=None if look is None else float(look), drop=drop)
