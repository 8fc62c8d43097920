"""Landmark stage: Frame → Face | None, with the MediaPipe Tasks FaceLandmarker in VIDEO mode.

VIDEO mode is synchronous and replayable (the same frames give the same faces), unlike
LIVE_STREAM, whose callback delivers results a frame late. It needs strictly increasing
integer-millisecond timestamps, which this wrapper guarantees.

One face by default (num_faces=1): MediaPipe then runs its face detector only until it has a
face and tracks it from frame to frame with the landmark model alone, detecting again only when
the track is lost. Asking for more faces (num_faces=N, `drowsy run --faces N`) keeps the
detector running on every frame that shows fewer than N faces, i.e. almost always in a car;
of the faces found the largest is kept as the driver's (`Face.n_faces` says how many were
seen). The cost of each is measured by `drowsy bench --faces N` (README, "Speed"). With one
face tracked, a passenger leaning in does not take the driver's place while the driver's face
stays in view. Head pose comes from the
facial transformation matrix: yaw > 0 when the nose turns towards the image's right,
pitch > 0 when it points up; 0/0 is a frontal face.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DrowsyError, first_line
from ..types import Face, Frame


@contextlib.contextmanager
def silence_fd2(active: bool = True) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    MediaPipe logs from C++ (glog, absl, TFLite) straight to fd 2, bypassing sys.stderr, and
    the GLOG_*/TF_CPP_* environment variables do not reach the glog bundled in mediapipe 1.2.x
    (checked: they leave every line in place). Only an fd-level redirect hides it. All of its
    chatter comes while the graph is created and on the first frame, so that is all we wrap.
    """
    if not active:
        yield
        return
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def head_pose_deg(matrix: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees from MediaPipe's 4×4 face→camera transformation matrix.

    The canonical face looks along its +z axis; camera space has x right, y up, z towards
    the viewer. So the rotated +z axis (third column) is where the nose points.
    """
    fx, fy, fz = np.asarray(matrix, dtype=np.float64)[:3, 2]
    yaw = math.degrees(math.atan2(fx, fz))
    pitch = math.degrees(math.atan2(fy, math.hypot(fx, fz)))
    return yaw, pitch


def _to_rgb(image: np.ndarray) -> np.ndarray:
    import cv2

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise DrowsyError(f"frame must be a non-empty uint8 array, got {getattr(image, 'dtype', type(image))}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise DrowsyError(f"frame must be HxW, HxWx3 or HxWx4, got shape {image.shape}")


class Landmarker:
    """The landmark stage as one callable: Frame → the (largest) Face, or None."""

    def __init__(self, model_path: str | Path, blendshapes: bool = True, num_faces: int = 1,
                 quiet: bool = True):
        path = Path(model_path)
        if not path.is_file():
            raise DrowsyError(f"face landmarker not found: {path}")
        if num_faces < 1:
            raise DrowsyError(f"num_faces must be at least 1, got {num_faces}")
        self.path = path
        self.quiet = quiet
        self._last_ms = -1
        self._calls = 0
        with silence_fd2(quiet):
            import mediapipe as mp
            from mediapipe.tasks.python import BaseOptions, vision

            self._mp = mp
            options = vision.FaceLandmarkerOptions(
                # A buffer rather than a path: MediaPipe's own file reading fails on some
                # non-ASCII paths on Windows.
                base_options=BaseOptions(model_asset_buffer=path.read_bytes()),
                running_mode=vision.RunningMode.VIDEO,
                num_faces=num_faces,
                output_face_blendshapes=blendshapes,
                output_facial_transformation_matrixes=True,
            )
            try:
                self._task = vision.FaceLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as e:
                raise DrowsyError(f"face landmarker {path} could not be loaded: "
                                  f"{first_line(e)}") from None

    def _timestamp_ms(self, t: float) -> int:
        # VIDEO mode rejects a timestamp that is not larger than the previous one; two frames
        # within one millisecond (or a source whose clock jumps back) get the next free one.
        ms = int(round(t * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def __call__(self, frame: Frame) -> Face | None:
        if self._task is None:
            raise DrowsyError("landmarker is closed")
        rgb = np.ascontiguousarray(_to_rgb(frame.image))
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        with silence_fd2(self.quiet and self._calls == 0):
            result = self._task.detect_for_video(image, self._timestamp_ms(frame.t))
        self._calls += 1
        if not result.face_landmarks:
            return None
        h, w = rgb.shape[:2]
        faces = [np.array([(p.x * w, p.y * h) for p in lms], dtype=np.float32)
                 for lms in result.face_landmarks]
        areas = [float(np.prod(f.max(axis=0) - f.min(axis=0))) for f in faces]
        i = int(np.argmax(areas))
        blend = {}
        if result.face_blendshapes and i < len(result.face_blendshapes):
            blend = {c.category_name: float(c.score) for c in result.face_blendshapes[i]}
        yaw = pitch = 0.0
        if result.facial_transformation_matrixes and i < len(result.facial_transformation_matrixes):
            yaw, pitch = head_pose_deg(result.facial_transformation_matrixes[i])
        return Face(landmarks=faces[i], blendshapes=blend, yaw_deg=yaw, pitch_deg=pitch,
                    n_faces=len(faces))

    def close(self) -> None:
        if getattr(self, "_task", None) is not None:
            self._task.close()
            self._task = None

    def __enter__(self) -> "Landmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
