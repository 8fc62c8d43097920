"""The shipped eye model: assets/eye_state.onnx keeps the contract, carries its metadata,
matches its checkpoint, and gives sane numbers on a small slice of real eyes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drowsy.runtime.classify import CONTRACT, EyeClassifier
from drowsy.cli import main
from drowsy.runtime.crop import CropSpec
from drowsy.paths import REPO_ROOT

ASSETS = REPO_ROOT / "assets"
MODEL = ASSETS / "eye_state.onnx"


@pytest.fixture(scope="module")
def clf():
    assert MODEL.is_file(), "assets/eye_state.onnx is missing"
    return EyeClassifier(MODEL, device="cpu")


def test_contract_and_metadata(clf):
    i, o = clf.session.get_inputs()[0], clf.session.get_outputs()[0]
    assert i.name == "crops" and i.type == "tensor(uint8)"
    assert isinstance(i.shape[0], str) and i.shape[1:] == [1, 24, 24]
    assert o.type == "tensor(float)" and len(o.shape) == 1
    meta = clf.metadata
    assert meta["drowsy.contract"] == CONTRACT
    assert CropSpec.from_metadata(meta["drowsy.crop"]).size == 24
    assert 0.0 < clf.threshold < 1.0
    training = json.loads(meta["drowsy.training"])
    assert {"cew", "mrl"} <= set(training["splits"]) and {"cew", "mrl"} <= set(training["metrics"]["test"])
    assert meta["drowsy.commit"] and meta["drowsy.version"]
    assert MODEL.stat().st_size <= 200 * 1024


def test_dynamic_batch_and_probabilities(clf, rng):
    x = rng.integers(0, 256, (40, 24, 24), dtype=np.uint8)
    p = clf.predict(x)
    assert p.shape == (40,) and np.all((p >= 0) & (p <= 1))
    assert np.allclose(clf.predict(x[:1]), p[:1], atol=1e-6)
    assert clf.predict(np.zeros((0, 24, 24), np.uint8)).shape == (0,)


@pytest.mark.torch
def test_checkpoint_beside_it_reproduces_the_onnx(clf, shared):
    torch = pytest.importorskip("torch")
    from drowsy.training.data import load_dataset
    from drowsy.training.models import Deployed, load_checkpoint

    ckpt = torch.load(ASSETS / "eye_state.pt", weights_only=True)
    assert set(ckpt) >= {"state_dict", "config"}
    assert ckpt["config"]["arch"] == clf.metadata["drowsy.arch"]
    net, cfg = load_checkpoint(ASSETS / "eye_state.pt")
    crops = load_dataset(shared / "data" / "cew", limit=64).images
    with torch.no_grad():
        want = Deployed(net)(torch.from_numpy(crops[:, None])).numpy()
    assert np.max(np.abs(clf.predict(crops) - want)) < 1e-4
    # The checkpoint's threshold was chosen on eye crops; the ONNX runs at the video operating
    # point and keeps the crop one beside it.
    crop_threshold = clf.metadata.get("drowsy.threshold_crops", clf.metadata["drowsy.threshold"])
    assert float(crop_threshold) == pytest.approx(cfg["threshold"])


def test_eval_on_a_small_slice_is_sane(shared, tmp_path):
    out = tmp_path / "eval.json"
    assert main(["eval", "--data", str(shared / "data" / "cew"), str(shared / "data" / "mrl"),
                 "--limit", "400", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["model"].endswith("eye_state.onnx")
    for name in ("cew", "mrl"):
        m = r["sets"][name]["overall"]
        assert m["n"] == 400
        # Far from chance on real eyes (the slice mixes training and held-out crops).
        assert m["auc"] > 0.95 and m["eer"] < 0.1 and m["accuracy"] > 0.85


def test_model_card_lists_candidates_and_citations():
    card = (ASSETS / "MODEL_CARD.md").read_text()
    for needle in ("Song", "Pattern Recognition", "Fusek", "ISVC", "| arch |", "EER", "drowsy eval"):
        assert needle in card


def test_model_card_describes_the_shipped_files():
    import hashlib

    card = (ASSETS / "MODEL_CARD.md").read_text()
    for name in ("eye_state.onnx", "eye_state.pt"):
        data = (ASSETS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() in card, f"MODEL_CARD.md has a stale sha256 for {name}"
        assert f"{len(data):,} bytes" in card


@pytest.mark.mediapipe
def test_runtime_uses_the_models_video_operating_point(clf, landmarker):  # builds the real pipeline
    """The threshold, hysteresis and eye fusion in the shipped model's metadata were chosen on
    labelled video (scripts/choose_operating_point.py), and `drowsy run` with default settings
    uses exactly those."""
    from drowsy.runtime.pipeline import Pipeline
    from drowsy.settings import ModelConfig, RunConfig

    meta = clf.metadata
    assert meta["drowsy.threshold_source"].startswith("video operating point")
    # Only the model is named (the default resolves to the installed copy of this file).
    with Pipeline.from_config(RunConfig(model=ModelConfig(model=str(MODEL), device="cpu"))) as pipeline:
        assert pipeline.classifier.path.resolve() == MODEL.resolve()
        assert pipeline.threshold == float(meta["drowsy.threshold"]) == clf.threshold
        assert pipeline.monitor.hysteresis == float(meta["drowsy.hysteresis"])
        assert pipeline.classifier.fusion == meta["drowsy.fusion"]
