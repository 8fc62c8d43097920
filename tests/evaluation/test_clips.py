"""eval-video's pass over a clip goes through the normal frame loop: with its stages
overlapping it scores every frame exactly as the serial loop does (same figures)."""

from __future__ import annotations

import numpy as np
import pytest

from drowsy.evaluation.clips import METHODS, run_clip
from drowsy.paths import default_eye_model
from drowsy.runtime.classify import EyeClassifier
from drowsy.settings import TemporalConfig


@pytest.mark.parametrize("condition", ["clean", "lowres"])
def test_parallel_pass_equals_the_serial_one(shared, landmarker, condition):
    clf = EyeClassifier(default_eye_model(), device="cpu", threads=1)
    video = shared / "videos" / "grid" / "brbk7n.mpg"
    par, ser = (run_clip(video, condition, clf, landmarker, 8, TemporalConfig(), parallel=p) for p in (True, False))
    assert len(par.frame) == 75 and par.face.all()
    np.testing.assert_array_equal(par.frame, ser.frame)
    np.testing.assert_array_equal(par.t, ser.t)
    for m in METHODS:
        np.testing.assert_array_equal(par.scores[m], ser.scores[m])
    assert par.blinks_ours == ser.blinks_ours and len(par.blinks_ours) == 1 and par.size == ser.size
