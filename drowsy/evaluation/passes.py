"""Landmarker passes of `drowsy eval-video`, recorded once per clip, condition and frame rate.

The face landmarker is by far the slowest stage (~10 ms a frame on a 2-core CPU), and its
output does not depend on the eye model. One real VIDEO-mode pass over the frames a clip keeps
(after degrading and decimating them) is recorded into a small .npz; later runs replay it, so
choosing an operating point or evaluating a new eye model only re-runs the crop and classify
stages. A replay gives the Face the landmarker gave on that very frame sequence: a decimated
rate is its own pass (VIDEO mode tracks from frame to frame), never a subset of the full one.

The cache key holds the clip's bytes, the condition, the rate, the landmarker file's bytes and
the mediapipe version, so a changed input never replays a stale pass.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from ..types import Face, Frame
from ..paths import sha256_of

N_LANDMARKS = 478
EPS = 1e-6


def decimate(frames, fps: float | None):
    """Keep frames so that at most `fps` of them fall in each second (None: keep all).

    Drops frames and keeps their timestamps, like a camera or box that delivers fewer frames:
    a frame is kept when its time has reached the next slot, so 30 → 15 keeps every second
    frame and 25 → 15 keeps 0.04 / 0.08 s gaps alternately.
    """
    next_t = None
    for frame in frames:
        if fps is None:
            yield frame
            continue
        if next_t is None or frame.t >= next_t - EPS:
            next_t = (frame.t if next_t is None else max(next_t, frame.t - 0.5 / fps)) + 1.0 / fps
            yield frame



def cache_key(video: Path, condition: str, fps: float | None, landmarker: Path, every: int = 1) -> str:
    import mediapipe

    from ..settings import FLOW_FB_MAX_PX, FLOW_MIN_POINTS, FLOW_RESIDUAL_MAX_PX, default_of

    # "one face tracked": Landmarker's default since issue 12 (passes recorded while it asked for
    # two faces, detecting on every frame, must not be replayed).
    parts = [sha256_of(video), condition, "native" if fps is None else f"{fps:g}", sha256_of(landmarker),
             getattr(mediapipe, "__version__", "?"), "one face tracked"]
    if every > 1:  # which frames get a pass depends on the flow and its limits (runtime/track.py)
        parts += [f"every {every}", str((default_of("track_max_motion"), FLOW_FB_MAX_PX, FLOW_MIN_POINTS,
                                         FLOW_RESIDUAL_MAX_PX)), "flow v2"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


class RecordingLandmarker:
    """Wraps the real landmark stage; remembers every Face it returns, by frame index."""

    def __init__(self, landmarker):
        self.landmarker = landmarker
        self.faces: dict[int, Face | None] = {}

    def __call__(self, frame: Frame) -> Face | None:
        face = self.landmarker(frame)
        self.faces[frame.index] = face
        return face

    def close(self) -> None:
        self.landmarker.close()

    def save(self, path: Path) -> None:
        idx = sorted(self.faces)
        names = sorted({k for f in self.faces.values() if f is not None for k in f.blendshapes})
        lm = np.full((len(idx), N_LANDMARKS, 2), np.nan, np.float32)
        bs = np.full((len(idx), len(names)), np.nan, np.float32)
        pose = np.full((len(idx), 3), np.nan, np.float32)  # yaw, pitch, n_faces
        for i, k in enumerate(idx):
            f = self.faces[k]
            if f is None:
                continue
            lm[i] = f.landmarks[:N_LANDMARKS, :2]
            bs[i] = [f.blendshapes.get(n, np.nan) for n in names]
            pose[i] = (f.yaw_deg, f.pitch_deg, f.n_faces)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, index=np.array(idx, dtype=np.int64), landmarks=lm, blendshapes=bs,
                            names=np.array(names), pose=pose)
        os.replace(tmp, path)  # a half-written cache file is never read back


class ReplayLandmarker:
    """The landmark stage replayed from a recorded pass: Frame → the Face it gave then."""

    def __init__(self, path: Path):
        with np.load(path) as z:
            names = [str(n) for n in z["names"]]
            self.faces: dict[int, Face | None] = {}
            for k, lm, bs, pose in zip(z["index"], z["landmarks"], z["blendshapes"], z["pose"]):
                if not np.isfinite(pose[0]):
                    self.faces[int(k)] = None
                    continue
                self.faces[int(k)] = Face(landmarks=lm, blendshapes=dict(zip(names, map(float, bs))),
                                          yaw_deg=float(pose[0]), pitch_deg=float(pose[1]), n_faces=int(pose[2]))

    def __call__(self, frame: Frame) -> Face | None:
        try:
            return self.faces[frame.index]
        except KeyError:
            raise KeyError(f"frame {frame.index} is not in the recorded pass") from None

    def close(self) -> None:
        pass


def landmark_stage(video: Path, condition: str, fps: float | None, landmarker_path: Path,
                   cache: Path | None, every: int = 1):
    """(landmark stage, save) for one clip pass: a replay when cached, else the real landmarker
    recording what it returns; call save() after the whole pass to store a new recording.
    every > 1: the frames the tracker asked landmarks for (one in N, and early), a real
    VIDEO-mode pass over just those frames; the flow is deterministic, so a replay asks for
    the same frames."""
    from ..runtime.landmarks import Landmarker

    if cache is not None:
        path = Path(cache) / f"{video.name}.{cache_key(video, condition, fps, landmarker_path, every)}.npz"
        if path.is_file():
            try:
                return ReplayLandmarker(path), lambda: None
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                pass  # a damaged recording: record the pass again (and replace it)
    rec = RecordingLandmarker(Landmarker(landmarker_path))
    return rec, (lambda: rec.save(path)) if cache is not None else (lambda: None)
