"""Crop stage: Frame + Face → EyeCrops, each eye an aligned square grayscale crop.

Per eye the square is centred between the two eye-corner landmarks, rotated so the corner
line is level, with a side of `scale` × the corner distance, resampled to size × size.
J deterministic jitters (small shifts and scale changes) follow the centre crop; the
classifier averages over them. The geometry travels in the eye model's metadata
(CropSpec.to_metadata) so the runtime cuts exactly what the model was trained on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, asdict

import numpy as np

from ..errors import DrowsyError
from ..settings import CROP_SCALE, CROP_SIZE, MAX_JITTER
from ..types import EyeCrops, Face, Frame

# MediaPipe face-mesh eye corners, ordered image-left → image-right for a frontal face,
# so the vector between them is horizontal when the head is level.
EYE_CORNERS = ((33, 133), (362, 263))  # subject's right eye, subject's left eye
# Eye-aspect-ratio points (p1..p6 of Soukupová & Čech 2016) for the EAR baseline.
EAR_POINTS = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))

# Jitters as (dx, dy, scale) with shifts in fractions of the crop side. Fixed, not random:
# two runs over one clip must give identical output. Ordered so that small J keeps a
# balanced mix of shifts and scales.
JITTERS = (
    (0.08, 0.0, 1.0), (-0.08, 0.0, 1.0), (0.0, 0.08, 1.0), (0.0, -0.08, 1.0),
    (0.0, 0.0, 0.88), (0.0, 0.0, 1.12), (0.06, 0.06, 1.06), (-0.06, -0.06, 0.94),
    (0.06, -0.06, 0.94), (-0.06, 0.06, 1.06), (0.12, 0.0, 1.0), (-0.12, 0.0, 1.0),
    (0.0, 0.12, 1.0), (0.0, -0.12, 1.0), (0.0, 0.0, 0.8), (0.0, 0.0, 1.25),
)
assert len(JITTERS) == MAX_JITTER, "settings.MAX_JITTER must count crop.JITTERS"


@dataclass(frozen=True)
class CropSpec:
    """The crop geometry contract shared by training, export and the runtime cropper."""

    size: int = CROP_SIZE  # output side in pixels
    scale: float = CROP_SCALE  # crop side / eye-corner distance
    mirror_left: bool = False  # flip the left eye's crops (False: the model saw both sides)

    def to_metadata(self) -> str:
        return json.dumps({"center": "eye-corner midpoint", "rotation": "corner line level",
                           "resample": "area", **asdict(self)}, sort_keys=True)

    @classmethod
    def from_metadata(cls, text: str | None) -> "CropSpec":
        if not text:
            return cls()
        try:
            d = json.loads(text)
            spec = cls(size=int(d["size"]), scale=float(d["scale"]),
                       mirror_left=d.get("mirror_left", False) is True)
        except (ValueError, KeyError, TypeError) as e:
            raise DrowsyError(f"eye model metadata has an invalid crop spec: {e}") from None
        # Metadata comes from a file: a zero, negative or NaN scale would cut garbage on every frame.
        if not (1 <= spec.size <= 1024 and 0.5 <= spec.scale <= 10.0):
            raise DrowsyError(f"eye model metadata has an invalid crop spec: size {spec.size}, scale {spec.scale}")
        return spec


def as_gray(image: np.ndarray) -> np.ndarray:
    """A BGR, BGRA, one-channel or gray uint8 frame as gray (one clear error otherwise)."""
    import cv2

    if not isinstance(image, np.ndarray) or image.size == 0:
        raise DrowsyError("frame is empty or not an array")
    if image.dtype != np.uint8:
        raise DrowsyError(f"frame must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise DrowsyError(f"frame must be HxW, HxWx1, HxWx3 or HxWx4, got shape {image.shape}")


def eye_squares(landmarks: np.ndarray, spec: CropSpec, jitter: int) -> np.ndarray:
    """Corners of every crop square in frame pixels: (2, J+1, 4, 2), centre crop first.

    Corner order: top-left, top-right, bottom-right, bottom-left of the upright crop.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[1] < 2 or lm.shape[0] <= max(max(c) for c in EYE_CORNERS):
        raise DrowsyError(f"landmarks must be (478, 2), got shape {lm.shape}")
    if not 0 <= jitter <= MAX_JITTER:
        raise DrowsyError(f"jitter must be between 0 and {MAX_JITTER}, got {jitter}")
    offsets = ((0.0, 0.0, 1.0),) + JITTERS[:jitter]
    unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    out = np.empty((2, len(offsets), 4, 2))
    for e, (a, b) in enumerate(EYE_CORNERS):
        p0, p1 = lm[a, :2], lm[b, :2]
        if not (np.all(np.isfinite(p0)) and np.all(np.isfinite(p1))):
            raise DrowsyError("eye-corner landmarks are not finite")
        d = p1 - p0
        dist = float(np.hypot(*d))
        angle = math.atan2(d[1], d[0]) if dist > 1e-6 else 0.0
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        side0 = max(dist, 1.0) * spec.scale
        centre = (p0 + p1) / 2
        for j, (dx, dy, ds) in enumerate(offsets):
            side = side0 * ds
            c = centre + rot @ (np.array([dx, dy]) * side0)
            out[e, j] = c + (unit * side) @ rot.T
    return out


def _shrink(gray: np.ndarray, side_px: float, size: int) -> tuple[np.ndarray, int]:
    """Area-average the eye region by a whole factor k before the affine warps.

    warpAffine has no area filter: a crop much larger than `size` would alias. Shrinking the
    region once with INTER_AREA (as the training data was resized) and then warping with a
    ratio below 2 costs one resize per frame instead of one per crop. Returns (image, k).
    """
    import cv2

    k = int(min(4, max(1, side_px // size)))
    h, w = gray.shape
    if k == 1 or w < 2 * k or h < 2 * k:
        return gray, 1
    # Trim to a multiple of k so each output pixel averages exactly k × k input pixels.
    nw, nh = w // k, h // k
    return cv2.resize(gray[: nh * k, : nw * k], (nw, nh), interpolation=cv2.INTER_AREA), k


def _warp(gray: np.ndarray, square: np.ndarray, size: int) -> np.ndarray:
    """Resample one square (4, 2) of `gray` to size × size (bilinear)."""
    import cv2

    src = square[[0, 1, 3]].astype(np.float32)
    dst = np.array([[0, 0], [size, 0], [0, size]], dtype=np.float32)
    m = cv2.getAffineTransform(src, dst)
    return cv2.warpAffine(gray, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def crop_eyes(image: np.ndarray, landmarks: np.ndarray, spec: CropSpec = CropSpec(),
              jitter: int = 8) -> EyeCrops:
    """All crops of one frame: (2, J+1, size, size) uint8 plus the centre squares."""
    squares = eye_squares(landmarks, spec, jitter)
    if not np.all(np.abs(squares) < 1e7):  # far beyond any frame: the int casts below would overflow
        raise DrowsyError("eye landmarks lie far outside the frame")
    h, w = image.shape[:2] if isinstance(image, np.ndarray) and image.ndim >= 2 else (0, 0)
    if h < 2 or w < 2:
        raise DrowsyError(f"frame too small to crop eyes: {getattr(image, 'shape', None)}")
    # Convert only the region around the eyes to gray: a fraction of the frame's pixels.
    x0, y0 = np.floor(squares.reshape(-1, 2).min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(squares.reshape(-1, 2).max(axis=0)).astype(int) + 2
    x0, y0 = max(0, min(x0, w - 1)), max(0, min(y0, h - 1))
    x1, y1 = max(x0 + 1, min(x1, w)), max(y0 + 1, min(y1, h))
    gray = as_gray(np.ascontiguousarray(image[y0:y1, x0:x1]))
    side_px = float(np.mean(np.hypot(*(squares[:, 0, 1] - squares[:, 0, 0]).T)))
    gray, k = _shrink(gray, side_px, spec.size)
    # Pixel centres: region pixel x lies at (x + 0.5) / k - 0.5 in the shrunk image.
    shifted = (squares - np.array([x0, y0]) + 0.5) / k - 0.5
    crops = np.empty(squares.shape[:2] + (spec.size, spec.size), dtype=np.uint8)
    for e in range(2):
        for j in range(squares.shape[1]):
            crops[e, j] = _warp(gray, shifted[e, j], spec.size)
    if spec.mirror_left:
        crops[1] = crops[1, :, :, ::-1]
    return EyeCrops(crops=crops, corners=squares[:, 0].astype(np.float32),
                    mean_gray=float(crops[:, 0].mean()))


class Cropper:
    """The crop stage as one callable: (frame, face) → EyeCrops."""

    def __init__(self, spec: CropSpec = CropSpec(), jitter: int = 8):
        if not 0 <= jitter <= MAX_JITTER:
            raise DrowsyError(f"jitter must be between 0 and {MAX_JITTER}, got {jitter}")
        self.spec = spec
        self.jitter = jitter

    def __call__(self, frame: Frame, face: Face) -> EyeCrops:
        return crop_eyes(frame.image, face.landmarks, self.spec, self.jitter)


def eye_aspect_ratio(landmarks: np.ndarray) -> np.ndarray:
    """EAR per eye, (2,) [right, left]: the classic geometric baseline (low = closed)."""
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2]
    out = np.empty(2)
    for e, (p1, p2, p3, p4, p5, p6) in enumerate(EAR_POINTS):
        v = np.linalg.norm(lm[p2] - lm[p6]) + np.linalg.norm(lm[p3] - lm[p5])
        h = 2.0 * np.linalg.norm(lm[p1] - lm[p4])
        out[e] = v / h if h > 1e-6 else 0.0
    return out
