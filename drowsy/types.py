"""Frozen dataclasses passed between the runtime stages (numpy only, no heavy imports).

Conventions: pixel coordinates in the original frame, images BGR uint8 until crop.py
converts to gray; times in seconds (`t`, `*_s`), durations of stages in ms (`*_ms`).
Eye index 0 is the subject's right eye (image left in a non-mirrored camera), 1 the left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .runtime.fusion import fuse, with_geometry  # numpy only


@dataclass(frozen=True)
class Frame:
    """One decoded frame. `index` is the 0-based decode index, `t` seconds from the source."""

    image: np.ndarray  # (H, W, 3) uint8 BGR
    index: int
    t: float


@dataclass(frozen=True)
class Face:
    """The one face chosen in a frame (the largest if several)."""

    landmarks: np.ndarray  # (478, 2) float32, pixel x, y in the original frame
    blendshapes: Mapping[str, float] = field(default_factory=dict)  # e.g. eyeBlinkLeft
    yaw_deg: float = 0.0  # head pose from the facial transformation matrix, 0 = frontal
    pitch_deg: float = 0.0
    n_faces: int = 1

    @property
    def box(self) -> tuple[float, float, float, float]:
        """xyxy box around all landmarks."""
        x0, y0 = self.landmarks.min(axis=0)
        x1, y1 = self.landmarks.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True)
class EyeCrops:
    """Aligned grayscale crops of both eyes: the centre crop first, then the J jitters."""

    crops: np.ndarray  # (2, J+1, S, S) uint8, S from the model's crop spec (24)
    corners: np.ndarray  # (2, 4, 2) float32: the centre crop's square in frame pixels
    mean_gray: float  # mean intensity of the centre crops, for the "too dark" check


@dataclass(frozen=True)
class EyeScores:
    """Classifier output per eye: mean over jittered crops, and their spread."""

    p_closed: np.ndarray  # (2,) float32, [right, left]
    spread: np.ndarray  # (2,) float32, std over the jittered crops (low = confident)
    raw: np.ndarray  # (2, J+1) float32, every crop's probability
    contrast: np.ndarray | None = None  # (2,) gray-level std of each eye's centre crop
    fusion: str = "mean"  # how the eyes are fused (fusion.RULES; the eye model's metadata says which)
    blink: np.ndarray | None = None  # (2,) the landmarker's eyeBlink blendshapes, when the fusion uses them
    # A driver profile's lid geometry (fusion.Geometry): 0 at their open eyes, 1 at closed; its weight.
    geometry: float | None = None
    geometry_weight: float = 0.0

    @property
    def fused(self) -> float:
        """One closed score per frame: both eyes fused by `fusion` (fusion.py), then, with a
        profile's geometry weight, blended with the lid geometry (fusion.with_geometry)."""
        f = fuse(self.p_closed, self.spread, self.contrast, rule=self.fusion, blink=self.blink)
        if self.geometry is None or not self.geometry_weight:
            return float(f)  # exactly the score without a profile
        return float(with_geometry(f, self.geometry, self.geometry_weight))


@dataclass(frozen=True)
class Event:
    """Something worth a line in the events log: alert on/off, blink, microsleep, face lost..."""

    t: float
    kind: str  # alert_on, alert_off, blink, microsleep, face_lost, face_found, camera_lost, ...
    data: Mapping[str, object] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"t": round(self.t, 4), "event": self.kind, **self.data}


@dataclass(frozen=True)
class Attention:
    """Where the driver looks in one frame (runtime/gaze.py): on the forward road or not, and why."""

    on_road: bool | None  # None: cannot tell (a face, but too dark or no score)
    why: str | None = None  # off road because: no_face, head_turned, head_down, gaze_side, looking_down
    looking_down: bool = False  # open eyes looking down (phone, keyboard): never a closure
    gaze: tuple[float, float] | None = None  # iris offset from the eye corners' middle / eye width (y > 0: down)
    look_down: float | None = None  # mean eyeLookDown blendshape of both eyes
    drop: str | None = None  # "head_drop" (pitch past the gate, or fast down) or "slump" (face gone)

    def to_json(self) -> dict:
        g = None if self.gaze is None else [round(float(v), 4) for v in self.gaze]
        return {"on_road": self.on_road, "off_road": self.why, "looking_down": self.looking_down, "gaze": g}


@dataclass(frozen=True)
class Drowsiness:
    """State of the temporal logic after one frame."""

    closed: bool | None  # None: not assessable (no face, head turned, too dark)
    perclos: float | None  # None until the window holds enough assessable time
    closed_for_s: float  # length of the current continuous closure, 0 when open
    alert: bool
    reason: str | None  # the alert shown ("sleep", "distraction", "perclos" ...), "not_visible", or None
    events: tuple[Event, ...] = ()
    level: str | None = None  # the alert's level: "advisory", "warning", "critical" (runtime/alerts.py)
    attention: "Attention | None" = None  # the driver's gaze and head facts (runtime/gaze.py), if judged


@dataclass(frozen=True)
class LandmarkAge:
    """With --landmarks-every N or auto: how old a frame's landmarks are and how far optical flow
    moved them since the landmarker's pass (None: no face). Frames are those the loop saw."""

    frames: int | None
    ms: float | None
    moved_px: float | None


@dataclass(frozen=True)
class FrameResult:
    """Everything the pipeline knows about one frame, with per-stage timings in ms."""

    frame: Frame
    face: Face | None
    crops: EyeCrops | None
    scores: EyeScores | None
    state: Drowsiness
    timings_ms: Mapping[str, float]
    landmarks_age: LandmarkAge | None = None  # None: landmarks on every frame (--landmarks-every 1)

    def to_json(self) -> dict:
        """The per-frame record of `drowsy run --out` (one JSON object per line)."""
        p = None if self.scores is None else [round(float(v), 5) for v in self.scores.p_closed]
        record = {
            "frame": self.frame.index,
            "t": round(self.frame.t, 4),
            "face": self.face is not None,
            "p_closed": p,
            "closed": self.state.closed,
            "perclos": None if self.state.perclos is None else round(self.state.perclos, 5),
            "closed_for": round(self.state.closed_for_s, 4),
            "alert": self.state.alert,
            "reason": self.state.reason,
            "level": self.state.level,
            **({} if self.state.attention is None else self.state.attention.to_json()),
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
        age = self.landmarks_age
        if age is not None:  # only with --landmarks-every N > 1 or auto: N = 1 records stay as they were
            record["landmarks_age_frames"] = age.frames
            record["landmarks_age_ms"] = None if age.ms is None else round(age.ms, 1)
            record["landmarks_moved_px"] = None if age.moved_px is None else round(age.moved_px, 2)
        return record
