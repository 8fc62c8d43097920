"""The gate: which frames can be judged at all (face, head pose, light)."""

import numpy as np

from drowsy.runtime.gate import assessability
from drowsy.settings import TemporalConfig
from drowsy.types import EyeCrops, Face


def _face(yaw=0.0, pitch=0.0):
    return Face(landmarks=np.zeros((478, 2), np.float32), yaw_deg=yaw, pitch_deg=pitch)


def _crops(gray):
    return EyeCrops(crops=np.full((2, 1, 24, 24), gray, np.uint8), corners=np.zeros((2, 4, 2), np.float32),
                    mean_gray=float(gray))


def test_assessability():
    cfg = TemporalConfig(max_yaw_deg=35, max_pitch_down_deg=25, max_pitch_up_deg=40, min_brightness=20)
    assert assessability(None, None, cfg) == "no_face"
    assert assessability(_face(yaw=-40), _crops(128), cfg) == "head_turned"
    assert assessability(_face(pitch=-30), None, cfg) == "head_turned"
    assert assessability(_face(yaw=30, pitch=-20), _crops(10), cfg) == "too_dark"
    assert assessability(_face(yaw=30, pitch=-20), _crops(128), cfg) is None
    assert assessability(_face(), None, cfg) is None


def test_looking_up_passes_looking_down_or_aside_does_not():
    """Pitch > 0 is nose up (the ZJU upward clips read +10 to +31 degrees): the lids stay up, so
    those frames are judged; the same angle downwards hides the eyes and is not."""
    cfg = TemporalConfig()
    assert cfg.max_pitch_up_deg > cfg.max_pitch_down_deg
    for pitch in (12.0, 28.0, 31.0, 39.0):
        assert assessability(_face(pitch=pitch), _crops(128), cfg) is None
    assert assessability(_face(pitch=cfg.max_pitch_up_deg + 1), _crops(128), cfg) == "head_turned"
    for pitch in (-28.0, -31.0):
        assert assessability(_face(pitch=pitch), _crops(128), cfg) == "head_turned"
    assert assessability(_face(yaw=45.0), _crops(128), cfg) == "head_turned"
    assert assessability(_face(yaw=-45.0, pitch=10.0), _crops(128), cfg) == "head_turned"


def test_signed_pitch_limits_count_from_the_rest_pose():
    cfg = TemporalConfig(pitch_centre_deg=10.0)  # a camera mounted below the face: rest pose +10
    assert assessability(_face(pitch=45.0), _crops(128), cfg) is None  # 35 up from rest
    assert assessability(_face(pitch=-20.0), _crops(128), cfg) == "head_turned"  # 30 down from rest
