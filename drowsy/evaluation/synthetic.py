"""A generated video of a drawn face for `drowsy bench --synthetic`: no file, no camera.

The wheel may not carry real face footage, so the benchmark draws a cartoon face (skin
ellipse, hair, brows, eyes with iris and pupil, nose, mouth) that sways slowly and blinks
every `blink_period_s`. MediaPipe's face detector and mesh accept it, so every stage runs
on every frame as with a person in front of the camera; the eyes are simpler than real
ones, so classifier *outputs* on it mean nothing; only the timings do.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ..types import Frame


def _openness(t: float, blink_period_s: float, blink_s: float) -> float:
    """1 = open, 0 = closed: a blink of blink_s seconds at the end of each period."""
    phase = t % blink_period_s - (blink_period_s - blink_s)
    if phase < 0:
        return 1.0
    return abs(2.0 * phase / blink_s - 1.0)  # closes, then reopens linearly


def draw_face(width: int = 640, height: int = 480, openness: float = 1.0) -> np.ndarray:
    """One BGR uint8 frame, a centred face about 60 % of the frame high; openness 1 = open."""
    import cv2

    img = np.empty((height, width, 3), np.uint8)
    img[:] = (90, 110, 120)
    k = height / 480.0  # drawn for 480 lines, scaled to the requested size
    cx, cy = width // 2, height // 2
    s = lambda v: max(1, int(round(v * k)))  # noqa: E731
    cv2.ellipse(img, (cx, cy), (s(110), s(145)), 0, 0, 360, (150, 180, 225), -1)
    cv2.ellipse(img, (cx, cy - s(120)), (s(115), s(60)), 0, 180, 360, (40, 50, 60), -1)
    for side in (-1, 1):
        ex, ey = cx + side * s(45), cy - s(30)
        cv2.ellipse(img, (ex, ey - s(28)), (s(30), s(6)), 0, 180, 360, (50, 60, 70), -1)
        half = max(1, int(round(13 * k * openness)))
        cv2.ellipse(img, (ex, ey), (s(26), half), 0, 0, 360, (245, 245, 245), -1)
        if half > 4 * k:
            cv2.circle(img, (ex, ey), min(s(10), half), (60, 40, 30), -1)
            cv2.circle(img, (ex, ey), s(4), (10, 10, 10), -1)
        cv2.ellipse(img, (ex, ey), (s(26), half), 0, 0, 360, (80, 90, 110), max(1, s(2)))
    nose = np.array([[cx, cy - s(20)], [cx - s(15), cy + s(35)], [cx + s(15), cy + s(35)]], np.int32)
    cv2.polylines(img, [nose], True, (110, 140, 190), s(3))
    cv2.ellipse(img, (cx, cy + s(75)), (s(40), s(12)), 0, 0, 360, (80, 80, 170), -1)
    # Soft edges, like a real lens: hard polygon edges are not what the detector was trained on.
    return cv2.blur(img, (3, 3))


def synthetic_frames(n: int, width: int = 640, height: int = 480, fps: float = 30.0,
                     blink_period_s: float = 3.0, blink_s: float = 0.2) -> Iterator[Frame]:
    """n frames at `fps`. Drawing costs more than decoding, so each eye openness (9 levels)
    is drawn once on a padded canvas and every frame is a shifted copy cut from it: the
    per-frame cost is one frame-sized copy, like a decoder's output buffer.
    """
    pad = int(0.04 * height) + 1
    canvases: dict[int, np.ndarray] = {}
    for i in range(n):
        t = i / fps
        level = int(round(8 * _openness(t, blink_period_s, blink_s)))
        if level not in canvases:
            canvases[level] = draw_face(width + 2 * pad, height + 2 * pad, level / 8)
        # A slow sway (periods 4 s and 2.7 s) keeps the landmarker tracking a moving face.
        x = pad + int(round(0.75 * pad * math.sin(2 * math.pi * t / 4.0)))
        y = pad + int(round(0.5 * pad * math.sin(2 * math.pi * t / 2.7)))
        yield Frame(image=canvases[level][y:y + height, x:x + width].copy(), index=i, t=t)
