import cv2
import numpy as np
import pytest

from drowsy.evaluation.degrade import CONDITIONS, blurgray, dark, degrade, degrade_frame, lowres
from drowsy.types import Frame


@pytest.fixture(scope="module")
def face_frame(shared) -> np.ndarray:
    cap = cv2.VideoCapture(str(shared / "videos" / "grid" / "brbk7n.mpg"))
    ok, image = cap.read()
    cap.release()
    assert ok
    return image


def test_dark_is_darker_noisy_and_deterministic(face_frame):
    out = dark(face_frame, seed=3)
    assert out.shape == face_frame.shape and out.dtype == np.uint8
    assert out.mean() < 0.35 * face_frame.mean()
    assert out.mean() > 0.1 * face_frame.mean()  # dim, not black
    # Noise: a flat region of the source becomes grainy.
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert 5 < dark(flat, seed=0).astype(float).std() < 11
    assert np.array_equal(out, dark(face_frame, seed=3))
    assert not np.array_equal(out, dark(face_frame, seed=4))


def test_lowres_is_a_third_per_side(face_frame):
    h, w = face_frame.shape[:2]  # 288 x 360
    out = lowres(face_frame)
    assert out.shape == (round(h / 3), round(w / 3), 3) and out.dtype == np.uint8
    # Area-averaged: the mean brightness survives.
    assert abs(out.mean() - face_frame.mean()) < 2


def test_blurgray_is_gray_and_blurred(face_frame):
    out = blurgray(face_frame)
    assert out.shape == face_frame.shape and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    sharp = cv2.cvtColor(face_frame, cv2.COLOR_BGR2GRAY)
    detail = lambda g: cv2.Laplacian(g, cv2.CV_64F).var()  # noqa: E731
    assert detail(out[..., 0]) < 0.3 * detail(sharp)


def test_degrade_frame_keeps_index_and_time(face_frame):
    frame = Frame(image=face_frame, index=7, t=0.28)
    assert degrade_frame(frame, "clean") is frame
    for c in CONDITIONS[1:]:
        out = degrade_frame(frame, c)
        assert (out.index, out.t) == (7, 0.28)
        assert out.image.shape != face_frame.shape or not np.array_equal(out.image, face_frame)
    # The dark noise follows the frame index: replays match, neighbours differ.
    again = degrade_frame(frame, "dark").image
    assert np.array_equal(again, degrade(face_frame, "dark", seed=7))


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown condition"):
        degrade(np.zeros((4, 4, 3), np.uint8), "foggy")
    with pytest.raises(ValueError, match="uint8"):
        dark(np.zeros((4, 4, 3), np.float32))


def test_sway_moves_the_picture_smoothly_by_several_px_per_frame(face_frame):
    from drowsy.evaluation.degrade import sway, sway_matrix

    h, w = face_frame.shape[:2]
    centre = np.array([w / 2, h / 2, 1.0])
    path = np.array([sway_matrix(i / 25, w, h) @ centre for i in range(75)])  # 3 s at 25 FPS
    step = np.linalg.norm(np.diff(path, axis=0), axis=1)
    assert 2.0 < step.max() < 8.0 and step.mean() > 1.0  # px per frame: several, and smooth
    assert np.abs(np.diff(step)).max() < 1.0  # no jumps
    assert np.ptp(path[:, 0]) > 0.1 * w  # it sways well across
    a, b = sway(face_frame, 0.5), sway(face_frame, 0.5)
    assert np.array_equal(a, b) and not np.array_equal(a, sway(face_frame, 0.54))  # from t, deterministic
    # The picture moves as the matrix says: a bright dot lands where the matrix puts it.
    dot = np.zeros_like(face_frame)
    dot[100:103, 150:153] = 255
    x, y = sway_matrix(1.3, w, h) @ np.array([151.0, 101.0, 1.0])
    ys, xs = np.nonzero(sway(dot, 1.3)[..., 0] > 60)
    assert abs(xs.mean() - x) < 1.0 and abs(ys.mean() - y) < 1.0
