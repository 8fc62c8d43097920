"""Degraded copies of video frames for `drowsy eval-video`: how does each method hold up
on a dark noisy sensor, a far-away face, or a blurred gray camera?

Each condition is a function image → image (BGR uint8 in, BGR uint8 out) and deterministic:
the noise of the dark condition is seeded by the frame index, so two runs over one clip see
identical pixels. The copies are made in memory, frame by frame after decoding, rather than
written to a file: a re-encode would add codec artefacts that differ between OpenCV builds.
"""

from __future__ import annotations

import numpy as np

CONDITIONS = ("clean", "dark", "lowres", "blurgray", "sway")
DESCRIPTIONS = {
    "clean": "the clip as decoded",
    "dark": "intensity x0.25 after gamma 1.2, plus gaussian sensor noise sigma 8 (seeded)",
    "lowres": "downscaled to 1/3 per side with INTER_AREA, processed at that size",
    "blurgray": "gaussian blur sigma 2, then gray (3 equal channels)",
    "sway": "SYNTHETIC head motion: the picture sways (shift up to 6 % of the width / 3 % of the height) and "
            "rolls (up to 6 deg about the centre) smoothly, periods 2.0 / 2.6 / 3.0 s",
}

DARK_GAIN = 0.25
DARK_GAMMA = 1.2  # a cheap sensor in low light also loses contrast in the shadows
DARK_NOISE_SIGMA = 8.0
LOWRES_FACTOR = 3
BLUR_SIGMA = 2.0
# sway: a smooth sway and roll of the whole picture, from the frame's time (not its index), so a
# clip decimated to a lower rate moves the same way. At 640 px wide the shift peaks at
# 2 pi * 38 px / 2 s = 121 px/s, about 5 px per frame at 25 FPS: "several px per frame".
SWAY_SHIFT = (0.06, 0.03)  # amplitude of x, y shift as a fraction of the width, height
SWAY_ROLL_DEG = 6.0
SWAY_PERIODS_S = (2.0, 2.6, 3.0)  # x shift, y shift, roll


def _check(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {getattr(image, 'shape', None)} "
                         f"{getattr(image, 'dtype', None)}")


def dark(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """A dim, noisy copy: same shape and dtype, mean about a quarter of the original."""
    _check(image)
    x = (image.astype(np.float32) / 255.0) ** DARK_GAMMA * (255.0 * DARK_GAIN)
    noise = np.random.default_rng(seed).normal(0.0, DARK_NOISE_SIGMA, size=image.shape)
    return np.clip(np.rint(x + noise), 0, 255).astype(np.uint8)


def lowres(image: np.ndarray, factor: int = LOWRES_FACTOR) -> np.ndarray:
    """A copy downscaled to 1/factor per side (area-averaged, like a camera further away)."""
    import cv2

    _check(image)
    h, w = image.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def blurgray(image: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """A blurred gray copy, still 3 channels since the landmarker takes colour input."""
    import cv2

    _check(image)
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)
    gray = cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def sway_matrix(t: float, w: int, h: int) -> np.ndarray:
    """The 2x3 affine map of the sway condition at time t (s) for a w x h picture."""
    import cv2

    px, py, pr = (2 * np.pi * t / p for p in SWAY_PERIODS_S)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), SWAY_ROLL_DEG * np.sin(pr), 1.0)
    m[:, 2] += (SWAY_SHIFT[0] * w * np.sin(px), SWAY_SHIFT[1] * h * np.sin(py + 1.0))
    return m


def sway(image: np.ndarray, t: float) -> np.ndarray:
    """The picture moved as a head swaying and rolling would move it (edges replicated)."""
    import cv2

    _check(image)
    h, w = image.shape[:2]
    return cv2.warpAffine(image, sway_matrix(t, w, h), (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def degrade(image: np.ndarray, condition: str, seed: int = 0, t: float = 0.0) -> np.ndarray:
    """Apply one named condition; `seed` (the frame index) only matters for the noise, `t`
    (the frame's time, s) for the sway."""
    if condition == "clean":
        return image
    if condition == "dark":
        return dark(image, seed)
    if condition == "lowres":
        return lowres(image)
    if condition == "blurgray":
        return blurgray(image)
    if condition == "sway":
        return sway(image, t)
    raise ValueError(f"unknown condition {condition!r}: choose from {', '.join(CONDITIONS)}")


def degrade_frame(frame, condition: str):
    """The same Frame (index and time kept) with its image degraded."""
    from dataclasses import replace

    if condition == "clean":
        return frame
    return replace(frame, image=degrade(frame.image, condition, seed=frame.index, t=frame.t))
