"""Eye fusion: one eye that cannot be trusted must not hide the other eye's blink; a driver
profile's lid geometry joins the score only when the profile carries a weight."""

from dataclasses import replace

import numpy as np
import pytest

from drowsy.runtime.fusion import RULES, Geometry, fuse, trust, with_geometry
from drowsy.types import EyeScores


def _scores(p, spread, contrast, rule):
    return EyeScores(p_closed=np.array(p, np.float32), spread=np.array(spread, np.float32),
                     raw=np.array(p, np.float32)[:, None], contrast=np.array(contrast, np.float32), fusion=rule)


def test_reliable_closed_eye_wins_over_an_unreliable_open_one():
    # Right eye: closed, crops agree (spread 0.02), clear contrast. Left eye behind a glaring lens:
    # reads open, its jittered crops disagree (spread 0.2) and the crop is washed out.
    p, spread, contrast = [0.92, 0.10], [0.02, 0.20], [30.0, 4.0]
    assert _scores(p, spread, contrast, "mean").fused < 0.7  # the plain mean hides the blink
    for rule in ("reliable", "reliable_or"):
        assert _scores(p, spread, contrast, rule).fused >= 0.8, rule


def test_an_unreliable_closed_eye_alone_does_not_close_the_frame():
    p, spread, contrast = [0.95, 0.05], [0.25, 0.01], [3.0, 30.0]
    assert _scores(p, spread, contrast, "reliable_or").fused < 0.5
    assert _scores(p, spread, contrast, "reliable").fused < 0.3
    assert _scores(p, spread, contrast, "max").fused == pytest.approx(0.95)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_equal_trusted_eyes_fuse_to_their_common_score_and_batches_work(rule):
    assert _scores([0.8, 0.8], [0.01, 0.01], [30, 30], rule).fused == pytest.approx(0.8)
    p = np.array([[0.9, 0.1], [0.2, 0.3]])
    out = fuse(p, np.array([[0.0, 0.3], [0.0, 0.0]]), np.full((2, 2), 30.0), rule=rule)
    assert out.shape == (2,) and np.all((out >= 0) & (out <= 1))


def test_trust_falls_with_spread_and_flat_crops():
    assert trust(0.0, 40.0) == 1.0 and trust(0.3, 40.0) == 0.0 and trust(0.0, 0.0) == 0.0
    assert 0 < trust(0.05, 40.0) < 1


def test_cnn_and_eyeblink_average_and_fall_back_to_the_cnn_alone():
    s = _scores([0.3, 0.5], [0.01, 0.01], [30, 30], "mean+eyeblink")
    assert s.fused == pytest.approx(0.4)  # no blendshapes: the CNN's mean
    s = EyeScores(p_closed=np.array([0.3, 0.5], np.float32), spread=np.zeros(2, np.float32),
                  raw=np.zeros((2, 1), np.float32), fusion="mean+eyeblink", blink=np.array([0.9, 0.7], np.float32))
    assert s.fused == pytest.approx(0.6)


def test_classifier_takes_the_blendshapes_only_when_its_fusion_uses_them(tmp_path):
    from conftest import make_tiny_eye_model

    from drowsy.runtime.classify import EyeClassifier
    from drowsy.types import EyeCrops, Face

    crops = EyeCrops(crops=np.full((2, 3, 24, 24), 64, np.uint8), corners=np.zeros((2, 4, 2), np.float32),
                     mean_gray=64.0)
    face = Face(landmarks=np.zeros((478, 2), np.float32), blendshapes={"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})
    plain = EyeClassifier(make_tiny_eye_model(tmp_path / "a.onnx"), device="cpu")
    both = EyeClassifier(make_tiny_eye_model(tmp_path / "b.onnx", extra_meta={"drowsy.fusion": "mean+eyeblink"}),
                         device="cpu")
    assert not plain.needs_blendshapes and both.needs_blendshapes
    p = 1 - 64 / 255  # the tiny model: dark crop = closed
    assert plain(crops, face).fused == pytest.approx(p, abs=1e-5)
    assert both(crops, face).fused == pytest.approx(0.5 * p + 0.5, abs=1e-5)
    assert both(crops).fused == pytest.approx(p, abs=1e-5)  # no face given: the CNN alone
    with pytest.raises(Exception, match="unknown eye fusion"):
        EyeClassifier(make_tiny_eye_model(tmp_path / "c.onnx", extra_meta={"drowsy.fusion": "vote"}), device="cpu")


# -- a driver profile's lid geometry (issue 21) ---------------------------------------------------

def _eye_landmarks(ear: float) -> np.ndarray:
    """A face mesh whose two eyes have this eye aspect ratio (crop.EAR_POINTS)."""
    from drowsy.runtime.crop import EAR_POINTS

    lm = np.zeros((478, 2), np.float32)
    for e, (p1, p2, p3, p4, p5, p6) in enumerate(EAR_POINTS):
        x0, h = 100.0 * e, 5.0 * ear  # the eye 10 px wide: EAR = (2 * 2h) / (2 * 10)
        lm[[p1, p4]] = [(x0, 50), (x0 + 10, 50)]
        lm[[p2, p3]] = [(x0 + 3, 50 - h), (x0 + 7, 50 - h)]
        lm[[p6, p5]] = [(x0 + 3, 50 + h), (x0 + 7, 50 + h)]
    return lm


@pytest.mark.parametrize("rule", sorted(RULES))
def test_without_profile_weights_the_fused_score_is_exactly_the_old_one(rule):
    p, spread, contrast = [0.42, 0.77], [0.03, 0.08], [25.0, 9.0]
    old = float(fuse(np.array(p, np.float32), np.array(spread, np.float32), np.array(contrast, np.float32), rule=rule))
    s = _scores(p, spread, contrast, rule)
    assert s.fused == old  # bit for bit: no geometry, weight 0
    assert replace(s, geometry=0.9, geometry_weight=0.0).fused == old
    assert replace(s, geometry=0.9, geometry_weight=0.5).fused == pytest.approx(0.5 * old + 0.45)


def test_geometry_is_normalised_to_the_driver_and_bounded():
    g = Geometry(ear_open=0.2, ear_closed=0.1, weight=0.5)
    assert g.closedness(0.2) == pytest.approx(0.0) and g.closedness(0.1) == pytest.approx(1.0)
    assert g.closedness(0.0) == 1.5 and g.closedness(1.0) == -0.5  # one bad fit cannot outweigh the CNN
    assert with_geometry(0.8, np.nan, 0.5) == 0.8  # no landmarks: the CNN alone


def test_the_classifier_blends_in_the_lids_only_with_a_profile_geometry(tmp_path):
    from conftest import make_tiny_eye_model

    from drowsy.runtime.classify import EyeClassifier
    from drowsy.types import EyeCrops, Face

    crops = EyeCrops(crops=np.full((2, 3, 24, 24), 64, np.uint8), corners=np.zeros((2, 4, 2), np.float32),
                     mean_gray=64.0)
    clf = EyeClassifier(make_tiny_eye_model(tmp_path / "a.onnx"), device="cpu")
    p = 1 - 64 / 255  # the tiny model reads this dark crop as mostly closed: a misread open eye
    face = Face(landmarks=_eye_landmarks(0.3))
    assert clf(crops, face).fused == pytest.approx(p, abs=1e-5)
    clf.geometry = Geometry(ear_open=0.3, ear_closed=0.1, weight=0.5)  # what drowsy run --profile sets
    s = clf(crops, face)
    assert s.geometry == pytest.approx(0.0, abs=1e-6) and s.fused == pytest.approx(0.5 * p, abs=1e-5)
    assert clf(crops, Face(landmarks=_eye_landmarks(0.1))).fused == pytest.approx(0.5 * p + 0.5, abs=1e-5)
