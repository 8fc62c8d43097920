"""The short soak: several hundred frames through the per-frame path (crop, classify, PERCLOS, sinks,
overlay) keep Python's memory flat after warm-up. Faces are replayed from one real landmarker
pass over a clip, so the test is fast; scripts/soak.py runs the real landmarker for 30k frames."""

from __future__ import annotations

import importlib.util
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from drowsy.runtime.classify import EyeClassifier
from drowsy.runtime.crop import Cropper
from drowsy.runtime.temporal import DrowsinessMonitor
from drowsy.runtime.pipeline import Pipeline
from drowsy.settings import TemporalConfig
from drowsy.types import Frame

pytestmark = pytest.mark.mediapipe

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "soak.py"


@pytest.fixture(scope="module")
def soak_mod():
    spec = importlib.util.spec_from_file_location("soak_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def recorded(shared, landmarker, soak_mod):
    """(images, faces) of the small dinoman clip, faces from the real landmarker."""
    from drowsy.runtime.landmarks import Landmarker

    images, fps = soak_mod.read_clip(shared / "videos" / "dinoman" / "example.mp4")
    with Landmarker(landmarker) as lm:
        faces = [lm(Frame(im, i, i / fps)) for i, im in enumerate(images)]
    assert sum(f is not None for f in faces) > len(faces) // 2
    return images, faces, fps


class Replay:
    """A landmarker stand-in: the recorded face of the frame's position in the loop."""

    def __init__(self, faces):
        self.faces = faces

    def __call__(self, frame):
        return self.faces[frame.index % len(self.faces)]


def _pipeline(faces, model_path) -> Pipeline:
    clf = EyeClassifier(model_path, device="cpu", threads=1)
    # A 2 s window so the PERCLOS segments slide out many times within the test.
    cfg = TemporalConfig(window_s=2.0, min_assessable_s=1.0)
    return Pipeline(Replay(faces), Cropper(clf.spec, 8), clf, DrowsinessMonitor(cfg, clf.threshold))


def _traced_mb() -> float:
    return tracemalloc.get_traced_memory()[0] / 2**20


def test_memory_is_flat_after_warm_up(recorded, tiny_model, soak_mod):
    images, faces, fps = recorded
    pipe = _pipeline(faces, tiny_model)
    soak_mod.soak(pipe, images, fps, 200, 100)  # warm-up: caches, first-call allocations
    tracemalloc.start()
    try:
        samples = soak_mod.soak(pipe, images, fps, 600, 100, sample=_traced_mb)
    finally:
        tracemalloc.stop()
    v = soak_mod.verdict(samples, 100, max_growth=0.1, max_slope=2.5)
    assert v["ok"], samples  # < 100 KB over 500 frames: no per-frame leak of even 200 bytes


def test_a_leak_is_caught(recorded, tiny_model, soak_mod):
    images, faces, fps = recorded
    pipe = _pipeline(faces, tiny_model)
    kept = []

    class Leaky(Pipeline):  # keeps every result, as a buggy history buffer would
        def assess(self, *args, **kwargs):
            r = super().assess(*args, **kwargs)
            kept.append((r, bytes(2048)))
            return r

    tracemalloc.start()
    try:
        leaky = Leaky(pipe.landmarker, pipe.cropper, pipe.classifier, pipe.monitor)
        samples = soak_mod.soak(leaky, images, fps, 300, 100, sample=_traced_mb)
    finally:
        tracemalloc.stop()
    v = soak_mod.verdict(samples, 100, max_growth=0.1, max_slope=2.5)
    assert not v["ok"] and v["growth_mb"] > 0.3


def test_verdict_slope_and_bounds(soak_mod):
    flat = [(n, 300.0 + 0.01 * (n % 3)) for n in range(0, 30_001, 500)]
    v = soak_mod.verdict(flat, 1000, max_growth=25, max_slope=5)
    assert v["ok"] and abs(v["slope_mb_per_10k"]) < 0.1
    leak = [(n, 300.0 + n / 1000) for n in range(0, 30_001, 500)]  # 10 MB per 10k frames
    v = soak_mod.verdict(leak, 1000, max_growth=100, max_slope=5)
    assert not v["ok"] and v["slope_mb_per_10k"] == pytest.approx(10.0)


def test_soak_script_refuses_too_few_frames_and_a_missing_model(soak_mod, tmp_path, capsys, shared):  # its default clip
    with pytest.raises(SystemExit) as e:
        soak_mod.main(["--frames", "10"])
    assert e.value.code == 2
    assert soak_mod.main(["--frames", "3000", "--model", str(tmp_path / "none.onnx")]) == 1
    assert "eye model not found" in capsys.readouterr().err


def test_rss_is_read_from_proc(soak_mod):
    mb = soak_mod.rss_mb()
    assert 10 < mb < 100_000 and np.isfinite(mb)
