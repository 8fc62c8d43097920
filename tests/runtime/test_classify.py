"""The classify stage: the ONNX contract is checked on load, providers are honest."""

import numpy as np
import pytest

from drowsy.runtime.classify import EyeClassifier
from drowsy.errors import DrowsyError
from drowsy.types import EyeCrops


def test_scores_every_crop_in_one_call(tiny_model):
    clf = EyeClassifier(tiny_model, device="cpu")
    crops = np.zeros((2, 9, 24, 24), np.uint8)
    crops[1] = 255  # left eye bright = "open" for the tiny model
    crops[0, 0] = 51
    s = clf(EyeCrops(crops=crops, corners=np.zeros((2, 4, 2), np.float32), mean_gray=0.0))
    assert s.raw.shape == (2, 9)
    assert s.p_closed.shape == (2,) and s.spread.shape == (2,)
    assert s.p_closed[0] > 0.9 and s.p_closed[1] < 0.01
    assert s.spread[0] > 0 and s.spread[1] == 0
    assert clf.threshold == 0.5 and clf.spec.size == 24


def test_predict_accepts_both_layouts_and_rejects_others(tiny_model):
    clf = EyeClassifier(tiny_model, device="cpu")
    x = np.full((5, 24, 24), 255, np.uint8)
    assert np.allclose(clf.predict(x), 0.0) and np.allclose(clf.predict(x[:, None]), 0.0)
    with pytest.raises(DrowsyError, match="uint8"):
        clf.predict(x.astype(np.float32))
    with pytest.raises(DrowsyError):
        clf.predict(np.zeros((5, 20, 20), np.uint8))


def test_explicit_gpu_request_without_gpu_is_an_error(tiny_model):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DrowsyError, match="CUDAExecutionProvider"):
        EyeClassifier(tiny_model, device="cuda")
    assert EyeClassifier(tiny_model, device="auto").providers[0] == "CPUExecutionProvider"


def test_missing_and_corrupt_models_fail_with_one_line(tmp_path):
    with pytest.raises(DrowsyError, match="not found"):
        EyeClassifier(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not a model at all")
    with pytest.raises(DrowsyError, match="not a valid ONNX model") as e:
        EyeClassifier(bad)
    assert "\n" not in str(e.value)


def test_contract_violations_are_named(tmp_path):
    from conftest import make_tiny_eye_model

    wrong = make_tiny_eye_model(tmp_path / "m.onnx", size=32, extra_meta={"drowsy.crop": '{"size": 24, "scale": 1.8}'})
    with pytest.raises(DrowsyError, match=r"\[N,1,24,24\]"):
        EyeClassifier(wrong)
    bad_thr = make_tiny_eye_model(tmp_path / "t.onnx", threshold=1.5)
    with pytest.raises(DrowsyError, match="threshold"):
        EyeClassifier(bad_thr)
