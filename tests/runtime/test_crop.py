"""The crop stage: geometry a model can rely on, deterministic jitters, clear errors."""

import math

import numpy as np
import pytest

from drowsy.runtime.crop import EYE_CORNERS, MAX_JITTER, CropSpec, crop_eyes, eye_aspect_ratio, eye_squares
from drowsy.errors import DrowsyError


def _face_landmarks(right=((100, 100), (140, 100)), left=((200, 100), (240, 100))):
    lm = np.full((478, 2), 150.0, dtype=np.float32)
    (a, b), (c, d) = EYE_CORNERS
    lm[a], lm[b] = right
    lm[c], lm[d] = left
    return lm


def _eye_image(h=240, w=320):
    """Gray background with a dark 'iris' disc at each eye centre and a bright dot above it."""
    import cv2

    img = np.full((h, w, 3), 160, np.uint8)
    for cx in (120, 220):
        cv2.circle(img, (cx, 100), 8, (20, 20, 20), -1)
        cv2.circle(img, (cx, 85), 3, (255, 255, 255), -1)
    return img


def test_centre_crop_is_centred_and_oriented():
    crops = crop_eyes(_eye_image(), _face_landmarks(), CropSpec(size=24, scale=1.8), jitter=0)
    assert crops.crops.shape == (2, 1, 24, 24) and crops.crops.dtype == np.uint8
    for e in range(2):
        c = crops.crops[e, 0].astype(int)
        assert c[10:14, 10:14].mean() < 60, "the dark iris must sit in the middle of the crop"
        bright_row = np.unravel_index(np.argmax(c), c.shape)[0]
        assert bright_row < 12, "upright: what is above the eye stays above it"


def test_rotated_head_gives_the_same_crop():
    import cv2

    img, lm = _eye_image(), _face_landmarks()
    level = crop_eyes(img, lm, jitter=0).crops.astype(float)
    centre = (170.0, 100.0)
    m = cv2.getRotationMatrix2D(centre, 20, 1.0)
    rot_img = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderValue=(160, 160, 160))
    rot_lm = (np.c_[lm, np.ones(len(lm))] @ m.T).astype(np.float32)
    rotated = crop_eyes(rot_img, rot_lm, jitter=0).crops.astype(float)
    assert np.abs(level - rotated).mean() < 6, "a tilted head must not change what the model sees"


def test_side_scales_with_corner_distance():
    sq = eye_squares(_face_landmarks(), CropSpec(scale=2.0), jitter=0)
    side = np.hypot(*(sq[0, 0, 1] - sq[0, 0, 0]))
    assert math.isclose(side, 2.0 * 40, rel_tol=1e-6)


def test_jitters_are_deterministic_and_distinct():
    img, lm = _eye_image(), _face_landmarks()
    a = crop_eyes(img, lm, jitter=8)
    b = crop_eyes(img, lm, jitter=8)
    assert a.crops.shape == (2, 9, 24, 24)
    assert np.array_equal(a.crops, b.crops)
    flat = a.crops[0].reshape(9, -1)
    assert len({row.tobytes() for row in flat}) == 9, "every jitter must be a different view"


def test_mirror_left_flips_only_the_left_eye():
    img, lm = _eye_image(), _face_landmarks()
    plain = crop_eyes(img, lm, CropSpec(mirror_left=False), jitter=0).crops
    mirrored = crop_eyes(img, lm, CropSpec(mirror_left=True), jitter=0).crops
    assert np.array_equal(plain[0], mirrored[0])
    assert np.array_equal(plain[1, :, :, ::-1], mirrored[1])


def test_large_eyes_are_area_averaged_not_aliased():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (480, 640), dtype=np.uint8)  # pixel-level noise
    lm = _face_landmarks(right=((100, 200), (250, 200)), left=((350, 200), (500, 200)))
    c = crop_eyes(noise, lm, jitter=0).crops.astype(float)
    # A 270-px square shrunk to 24 px averages ~100 pixels per output pixel: the spread collapses.
    assert c.std() < 40


def test_spec_round_trips_through_model_metadata():
    spec = CropSpec(size=24, scale=1.65, mirror_left=True)
    assert CropSpec.from_metadata(spec.to_metadata()) == spec
    with pytest.raises(DrowsyError):
        CropSpec.from_metadata('{"size": "x"}')


@pytest.mark.parametrize("jitter", [-1, MAX_JITTER + 1])
def test_bad_jitter_is_a_clear_error(jitter):
    with pytest.raises(DrowsyError, match="jitter"):
        crop_eyes(_eye_image(), _face_landmarks(), jitter=jitter)


def test_eye_aspect_ratio_falls_when_lids_close():
    from drowsy.runtime.crop import EAR_POINTS

    lm = np.zeros((478, 2))
    for pts, x0 in zip(EAR_POINTS, (100, 200)):
        p1, p2, p3, p4, p5, p6 = pts
        lm[p1], lm[p4] = (x0, 100), (x0 + 40, 100)
        lm[p2], lm[p3], lm[p5], lm[p6] = (x0 + 13, 88), (x0 + 27, 88), (x0 + 27, 112), (x0 + 13, 112)
    open_ear = eye_aspect_ratio(lm)
    lm2 = lm.copy()
    for pts in EAR_POINTS:
        for p in (pts[1], pts[2], pts[4], pts[5]):
            lm2[p, 1] = 100 + (lm[p, 1] - 100) * 0.1
    closed_ear = eye_aspect_ratio(lm2)
    assert np.allclose(open_ear, 0.6) and np.all(closed_ear < 0.1)
