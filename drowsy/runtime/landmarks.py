"""Landmark stage: Frame → Face | None, with the MediaPipe Tasks FaceLandmarker in VIDEO mode.

VIDEO mode is synchronous and replayable (the same frames give the same faces), unlike
LIVE_STREAM, whose callback delivers results a frame late. It needs strictly increasing
integer-millisecond timestamps, which this wrapper guarantees.

One face, tracked: the tracking task asks MediaPipe for one face, so its face detector runs
only until it has a face; then the landmark model alone follows it from frame to frame, and the
detector runs again only when the track is lost. Asking MediaPipe for two faces instead keeps
its detector running on every frame that shows fewer (almost every frame in a car); that cost
is what `drowsy bench --faces 1` against the reference loop with `--faces 2` shows (docs/speed.md,
"One face, tracked"). So choosing the driver among several faces (num_faces=N > 1, `drowsy run --faces N`)
is an occasional full detection instead: once a second (of frame time) a second task in IMAGE
mode finds up to N faces; if the largest is not the tracked one, tracking restarts on it.
With the default (one), a passenger leaning in never takes the tracked driver's place, but
whichever face was found first is followed until it is lost. `Face.n_faces` is 1, or with N > 1
the faces the last scan found.

Head pose comes from the facial transformation matrix: yaw > 0 when the nose turns towards the
image's right, pitch > 0 when it points up; 0/0 is a frontal face.
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

SCAN_EVERY_S = 1.0  # with num_faces > 1: how often all faces are looked for (seconds of frame time)


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


def _box(landmarks, w: int, h: int) -> tuple[float, float, float, float]:
    xs = [p.x * w for p in landmarks]
    ys = [p.y * h for p in landmarks]
    return min(xs), min(ys), max(xs), max(ys)


def _area(b) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _iou(a, b) -> float:
    inter = _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    return inter / (_area(a) + _area(b) - inter + 1e-9)


class Landmarker:
    """The landmark stage as one callable: Frame → the tracked (driver's) Face, or None.

    num_faces > 1: every `scan_every_s` seconds of frame time a second task (IMAGE mode) finds
    up to num_faces faces; when the largest is not the one tracked, tracking restarts on it.
    """

    def __init__(self, model_path: str | Path, blendshapes: bool = True, num_faces: int = 1,
                 quiet: bool = True, scan_every_s: float = SCAN_EVERY_S):
        path = Path(model_path)
        if not path.is_file():
            raise DrowsyError(f"face landmarker not found: {path}")
        if num_faces < 1:
            raise DrowsyError(f"num_faces must be at least 1, got {num_faces}")
        self.path, self.quiet, self.num_faces, self.scan_every_s = path, quiet, num_faces, scan_every_s
        self._blendshapes = blendshapes
        self._last_ms = -1
        self._calls = 0
        self._next_scan_t: float | None = None
        self._seen = 1  # faces found by the last scan
        self._task = self._scan = None
        with silence_fd2(quiet):
            import mediapipe as mp

            self._mp = mp
            # A buffer rather than a path: MediaPipe's own file reading fails on some
            # non-ASCII paths on Windows.
            self._buffer = path.read_bytes()
            self._task = self._create(video=True)
            self._scan = self._create(video=False) if num_faces > 1 else None
            self._probe()

    def _create(self, video: bool):
        """The tracking task (VIDEO mode, one face) or the scanning one (IMAGE, num_faces)."""
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=self._buffer),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=1 if video else self.num_faces,
            output_face_blendshapes=self._blendshapes and video,
            output_facial_transformation_matrixes=video,
        )
        try:
            return vision.FaceLandmarker.create_from_options(options)
        except Exception as e:  # MediaPipe raises RuntimeError, ValueError, FileNotFoundError (a
            # bundle with renamed members) ...: all mean this file is not a usable landmarker
            raise DrowsyError(f"face landmarker {self.path} could not be loaded: {first_line(e)}") from None

    def _probe(self) -> None:
        """Run one blank frame: a bundle whose members are swapped loads fine and fails only on
        the first frame; it is refused here, before any output is opened."""
        blank = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8))
        try:
            self._task.detect_for_video(blank, 0)
            if self._scan is not None:
                self._scan.detect(blank)
        except Exception as e:  # MediaPipe's RuntimeError from its graph
            for name in ("_task", "_scan"):
                task = getattr(self, name, None)
                setattr(self, name, None)
                if task is None:
                    continue
                try:
                    task.close()
                except Exception:  # a failed graph fails to close too ...
                    # ... and MediaPipe's __del__ would close it again and hang forever (seen: a
                    # deadlock at the next garbage collection). Drop the native handle instead.
                    if hasattr(task, "_handle"):
                        task._handle = None
            why = " ".join(str(e).split())  # MediaPipe's first line is only "CalculatorGraph::Run() failed:"
            raise DrowsyError(f"face landmarker {self.path} does not work (a damaged or altered .task "
                              f"bundle?): {why[-160:]}") from None
        self._last_ms = 0

    def _timestamp_ms(self, t: float) -> int:
        # VIDEO mode rejects a timestamp that is not larger than the previous one; two frames
        # within one millisecond (or a source whose clock jumps back) get the next free one.
        ms = int(round(t * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def _driver(self, rgb: np.ndarray, result, ms: int, t: float):
        """A scan for all faces; when the largest is not the tracked one, track it instead."""
        self._next_scan_t = t + self.scan_every_s
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        found = self._scan.detect(image).face_landmarks
        self._seen = len(found)
        if not found:
            return result
        h, w = rgb.shape[:2]
        big = max((_box(lms, w, h) for lms in found), key=_area)
        if result.face_landmarks and _iou(_box(result.face_landmarks[0], w, h), big) > 0.5:
            return result  # already tracking the driver
        # A fresh tracker shown only the largest face (the rest of this frame blacked out)
        # finds it, then follows it on the whole frames that come next. Rare: a driver change.
        self._task.close()
        self._task = self._create(video=True)
        mx, my = 0.5 * (big[2] - big[0]), 0.5 * (big[3] - big[1])
        x0, y0 = max(0, int(big[0] - mx)), max(0, int(big[1] - my))
        x1, y1 = min(w, int(big[2] + mx) + 1), min(h, int(big[3] + my) + 1)
        masked = np.zeros_like(rgb)
        masked[y0:y1, x0:x1] = rgb[y0:y1, x0:x1]
        return self._task.detect_for_video(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=masked), ms)

    def __call__(self, frame: Frame) -> Face | None:
        if self._task is None:
            raise DrowsyError("landmarker is closed")
        rgb = np.ascontiguousarray(_to_rgb(frame.image))
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        ms = self._timestamp_ms(frame.t)
        with silence_fd2(self.quiet and self._calls == 0):
            result = self._task.detect_for_video(image, ms)
            if self._scan is not None and (self._next_scan_t is None or frame.t >= self._next_scan_t):
                result = self._driver(rgb, result, ms, frame.t)
        self._calls += 1
        if not result.face_landmarks:
            return None
        h, w = rgb.shape[:2]
        landmarks = np.array([(p.x * w, p.y * h) for p in result.face_landmarks[0]], dtype=np.float32)
        blend = {}
        if result.face_blendshapes:
            blend = {c.category_name: float(c.score) for c in result.face_blendshapes[0]}
        yaw = pitch = 0.0
        if result.facial_transformation_matrixes:
            yaw, pitch = head_pose_deg(result.facial_transformation_matrixes[0])
        n_faces = max(self._seen, 1) if self._scan is not None else 1
        return Face(landmarks=landmarks, blendshapes=blend, yaw_deg=yaw, pitch_deg=pitch, n_faces=n_faces)

    def close(self) -> None:
        for name in ("_task", "_scan"):
            task = getattr(self, name, None)
            if task is not None:
                task.close()
                setattr(self, name, None)

    def __enter__(self) -> "Landmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
