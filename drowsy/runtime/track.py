"""Landmarks on some frames only, eye crops on every frame: `--landmarks-every N|auto`.

The landmarker is ~85 % of a frame's time on a small CPU, and at a low frame rate blinks are
missed. So the eye stage runs on every frame from the newest landmarks, moved by a cheap motion
estimate: pyramidal Lucas-Kanade optical flow (cv2.calcOpticalFlowPyrLK) of a few points that
move with the head but not with the lids (eye corners, brows, nose bridge, upper cheeks),
checked forward-backward, and one rigid fit (rotation, scale, shift: a similarity) applied to
all 478 landmarks. Chosen over phase correlation of the eye regions because it also follows roll
and gives its own uncertainty (points lost, fit residual); docs/speed.md has the measurements.

- `EveryN` (files, eval-video, tests): deterministic. Landmarks on one frame in N, and early
  when the flow is uncertain (too few points survive, a large residual) or the eyes moved more
  than `max_motion` eye widths since the last pass (flow moves landmarks rigidly in the image
  plane; a head turn is not that).
- `Auto` (cameras, streams): the landmarker on its own thread, always on the newest frame it can
  take, as fast as the box goes; every frame gets the newest landmarks moved to it: on the frame
  a pass's landmarks arrive, from their own frame straight to this one (the frames the pass took
  add no drift); after that, from the previous frame until the next pass. The eye stage never
  waits for the landmarker.
Each call returns a `Tracked`: the face, the landmarker's ms on this frame, the flow's ms, and
a LandmarkAge (frames and ms since the landmark frame, the largest eye-corner move in px).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from time import perf_counter

import numpy as np

from ..errors import UsageError
from ..settings import FLOW_FB_MAX_PX, FLOW_MIN_POINTS, FLOW_RESIDUAL_MAX_PX
from ..settings_check import problem
from ..types import Face, Frame, LandmarkAge
from .crop import EYE_CORNERS, as_gray

# Eye corners, outer eye, brows, between the brows / nose bridge, upper cheeks: textured enough
# to track, and rigid with the skull (the lids, which move in a blink, are left out).
ANCHORS = (33, 133, 362, 263, 130, 359, 70, 105, 107, 336, 334, 300, 168, 6, 197, 117, 346)
CORNERS = tuple(i for pair in EYE_CORNERS for i in pair)
LK_WIN = (11, 11)  # px; 15 x 15 was no more accurate and cost ~35 % more (docs/speed.md)
LK_LEVELS = 2  # pyramid levels: follows ~ 11 * 2**2 px between consecutive frames (more: an early pass)
NO_FACE = LandmarkAge(None, None, None)


@dataclass(frozen=True)
class Tracked:
    face: Face | None
    landmarks_ms: float  # the landmarker's time spent for this frame (0 when moved by flow)
    motion_ms: float
    age: LandmarkAge


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares rotation + uniform scale + shift taking src to dst: (2x3 matrix, RMS residual px)."""
    a, b = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    ma, mb = a.mean(), b.mean()
    den = float(np.sum(np.abs(a - ma) ** 2))
    s = complex(np.sum(np.conj(a - ma) * (b - mb)) / den) if den > 1e-9 else 1.0 + 0j
    t = mb - s * ma
    m = np.array([[s.real, -s.imag, t.real], [s.imag, s.real, t.imag]])
    resid = float(np.sqrt(np.mean(np.abs(s * a + t - b) ** 2)))
    return m, resid


def flow_motion(prev_image: np.ndarray, image: np.ndarray, points: np.ndarray,
                levels: int = LK_LEVELS, win: tuple[int, int] = LK_WIN) -> np.ndarray | None:
    """The similarity moving `points` (in prev_image) to where they are in image; None when
    uncertain (fewer than FLOW_MIN_POINTS pass the forward-backward check, or a large residual)."""
    import cv2

    pts = np.asarray(points, dtype=np.float64)
    h, w = image.shape[:2]
    # Only the region around the points (one rectangle in both frames), to gray and into
    # pyramids: a whole frame would cost more than the flow itself.
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    margin = 0.4 * float(np.max(hi - lo)) + 2 * win[0]
    x0, y0 = (int(max(0, min(v, lim - 2))) for v, lim in zip(np.floor(lo - margin), (w, h)))
    x1, y1 = (int(min(lim, max(v, v0 + 2))) for v, v0, lim in zip(np.ceil(hi + margin), (x0, y0), (w, h)))
    a = as_gray(np.ascontiguousarray(prev_image[y0:y1, x0:x1]))
    b = as_gray(np.ascontiguousarray(image[y0:y1, x0:x1]))
    p0 = (pts - (x0, y0)).astype(np.float32).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.03)
    kw = dict(winSize=win, maxLevel=levels, criteria=crit)
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(a, b, p0, None, **kw)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(b, a, p1, None, **kw)
    fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
    good = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < FLOW_FB_MAX_PX)
    if int(good.sum()) < FLOW_MIN_POINTS:
        return None
    m, resid = similarity(p0.reshape(-1, 2)[good].astype(np.float64), p1.reshape(-1, 2)[good].astype(np.float64))
    if resid > FLOW_RESIDUAL_MAX_PX:
        return None
    m[:, 2] += (x0, y0) - m[:, :2] @ (x0, y0)  # back to frame coordinates
    return m


def move(face: Face, m: np.ndarray) -> Face:
    lm = face.landmarks.astype(np.float64)
    return replace(face, landmarks=(lm @ m[:, :2].T + m[:, 2]).astype(np.float32))


def corner_shift(base: np.ndarray, now: np.ndarray) -> float:
    """The largest move of an eye corner between two landmark sets, px."""
    return float(np.max(np.linalg.norm(now[list(CORNERS)] - base[list(CORNERS)], axis=1)))


def eye_width(lm: np.ndarray) -> float:
    return float(np.mean([np.linalg.norm(lm[a] - lm[b]) for a, b in EYE_CORNERS]))


class EveryN:
    """Landmarks on one frame in `every` (and early when the flow says so), flow in between."""

    def __init__(self, landmarks, every: int, max_motion: float):
        self.landmarks, self.every, self.max_motion = landmarks, every, max_motion
        self._face: Face | None = None
        self._base = None  # (landmarks at the landmark frame, its t, their eye width px)
        self._image = None
        self._count = every - 1  # frames since the last landmark pass: the first frame gets one
        self.passes = 0
        self.early = 0  # passes before their turn (uncertain or large motion)

    def __call__(self, frame: Frame) -> Tracked:
        t0 = perf_counter()
        image = frame.image  # to gray only around the face, in flow_motion
        self._count += 1
        if self._count < self.every and self._face is not None:
            m = flow_motion(self._image, image, self._face.landmarks[list(ANCHORS)])
            if m is not None:
                face = move(self._face, m)
                shift = corner_shift(self._base[0], face.landmarks)
                if shift <= self.max_motion * self._base[2]:
                    self._face, self._image = face, image
                    age = LandmarkAge(self._count, (frame.t - self._base[1]) * 1e3, shift)
                    return Tracked(face, 0.0, (perf_counter() - t0) * 1e3, age)
            self.early += 1
        elif self._count < self.every:
            self._image = image  # no face: wait for the next pass in turn
            return Tracked(None, 0.0, (perf_counter() - t0) * 1e3, NO_FACE)
        motion_ms = (perf_counter() - t0) * 1e3
        face, ms = self.landmarks(frame)
        self.passes += 1
        self._face, self._image, self._count = face, image, 0
        # The eye width of the pass, once: the motion limit of every frame until the next pass.
        self._base = None if face is None else (face.landmarks, frame.t, eye_width(face.landmarks))
        return Tracked(face, ms, motion_ms, NO_FACE if face is None else LandmarkAge(0, 0.0, 0.0))

    def close(self) -> None:
        pass


class Auto:
    """The landmarker on its own thread on the newest frame it can take; flow on every frame."""

    def __init__(self, landmarks):
        self.landmarks = landmarks
        self._cond = threading.Condition()
        self._job = None  # (frame, image, loop count) waiting for the landmark thread
        self._done = None  # (face, ms, frame t, image, loop count) of the newest finished pass
        self._busy = False
        self._halt = False
        self._error: BaseException | None = None
        self._face: Face | None = None
        self._base = None  # (landmarks at their frame, its t, its loop count)
        self._image = None
        self._count = 0
        self.passes = 0
        self.landmarks_ms = 0.0
        self._thread = threading.Thread(target=self._work, name="drowsy-landmarks-auto", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._halt or self._job is not None)
                if self._halt:
                    return
                (frame, image, count), self._job = self._job, None
            try:
                face, ms = self.landmarks(frame)
            except BaseException as e:  # noqa: BLE001 -- raised on the eye stage's thread
                face, ms, self._error = None, 0.0, e
            with self._cond:
                self._done, self._busy = (face, ms, frame.t, image, count), False

    def __call__(self, frame: Frame) -> Tracked:
        if self._error is not None:
            raise self._error
        t0 = perf_counter()
        image = frame.image  # to gray only around the face, in flow_motion
        self._count += 1
        with self._cond:
            done, self._done = self._done, None
            if not self._busy:  # the landmark thread is free: give it this frame
                self._job, self._busy = (frame, image, self._count), True
                self._cond.notify_all()
        if done is not None:
            face, ms, t, then_image, count = done
            self.passes += 1
            self.landmarks_ms += ms
            self._face, self._base = face, None if face is None else (face.landmarks, t, count)
            if face is not None and count != self._count:  # landmarks of an earlier frame: bring them here
                m = flow_motion(then_image, image, face.landmarks[list(ANCHORS)], levels=LK_LEVELS + 1)
                self._face = face if m is None else move(face, m)
        elif self._face is not None:
            m = flow_motion(self._image, image, self._face.landmarks[list(ANCHORS)])
            if m is not None:  # uncertain: keep the landmarks where they were until the next pass
                self._face = move(self._face, m)
        self._image = image
        if self._face is None:
            return Tracked(None, 0.0, (perf_counter() - t0) * 1e3, NO_FACE)
        base, t, count = self._base
        age = LandmarkAge(self._count - count, (frame.t - t) * 1e3, corner_shift(base, self._face.landmarks))
        return Tracked(self._face, 0.0, (perf_counter() - t0) * 1e3, age)

    def close(self) -> None:
        with self._cond:
            self._halt = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(2.0)


def landmarks_every(value) -> int | None:
    """--landmarks-every as a number of frames, None for auto; UsageError when invalid."""
    why = problem("landmarks_every", value)
    if why:
        raise UsageError(f"--landmarks-every {why}, got {value!r}")
    text = str(value).strip().lower()
    return None if text == "auto" else int(text)


def tracker_for(pipeline):
    """The tracker for the pipeline's --landmarks-every, or None for 1 (landmarks on every frame)."""
    every = landmarks_every(getattr(pipeline, "landmarks_every", "1"))
    if every == 1:
        return None
    if every is None:
        return Auto(pipeline.landmarks)
    return EveryN(pipeline.landmarks, every, getattr(pipeline, "track_max_motion", 0.5))
