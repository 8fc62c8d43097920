"""Gate: can this frame be judged at all? Face found, head pose within limits, eyes lit enough.

A frame that cannot be judged is neither open nor closed for the temporal stage (temporal.py):
it adds nothing to PERCLOS and interrupts a closure, so "driver looked away" is never reported
as closed eyes.
"""

from __future__ import annotations

from ..settings import TemporalConfig
from ..types import EyeCrops, Face


def assessability(face: Face | None, crops: EyeCrops | None, cfg: TemporalConfig) -> str | None:
    """None when the frame can be judged, else why not: "no_face", "head_turned", "too_dark".

    `crops` may be None (not cut yet): then brightness is not checked.
    """
    if face is None:
        return "no_face"
    # Pose counts from the driver's rest pose (0, 0 = facing the camera, unless a profile says
    # otherwise). Pitch is signed (> 0 = nose up, landmarks.head_pose_deg): looking up keeps the
    # eyes in view, looking down hides them under the lids, so each direction has its own limit.
    pitch = face.pitch_deg - cfg.pitch_centre_deg
    if (abs(face.yaw_deg - cfg.yaw_centre_deg) > cfg.max_yaw_deg
            or not -cfg.max_pitch_down_deg <= pitch <= cfg.max_pitch_up_deg):
        return "head_turned"
    if crops is not None and crops.mean_gray < cfg.min_brightness:
        return "too_dark"
    return None
