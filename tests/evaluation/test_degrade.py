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
