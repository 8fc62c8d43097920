"""`drowsy train` for one tiny epoch, `drowsy export-onnx`, and `drowsy eval` on both files."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from drowsy.cli import main

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared):
    """One epoch of two steps on ~64 crops from CEW and MRL."""
    out = tmp_path_factory.mktemp("train")
    rc = main(["train", "--data", str(shared / "data" / "cew"), str(shared / "data" / "mrl"), "--limit", "32",
               "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "32", "--arch", "c8-16-32",
               "--out", str(out), "--no-progress"])
    assert rc == 0
    return out


def test_train_writes_a_self_describing_checkpoint(trained):
    ckpt = torch.load(trained / "eye_state.pt", weights_only=True)  # plain types only
    cfg = ckpt["config"]
    assert cfg["arch"] == "c8-16-32" and 0.0 <= cfg["threshold"] <= 1.0
    assert [d["format"] for d in cfg["data"]] == ["cew", "mrl"]
    for name in ("cew", "mrl"):
        s = cfg["splits"][name]
        assert s["train"]["n"] + s["val"]["n"] + s["test"]["n"] <= 32
        assert set(cfg["metrics"]["val"][name]) >= {"n", "eer", "auc", "accuracy", "f1"}
    assert "leak_check" in cfg and cfg["fit"]["seed"] == 0
    history = json.loads((trained / "history.json").read_text())["history"]
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
    assert (trained / "training.png").stat().st_size > 10_000


def test_export_matches_torch_and_keeps_the_contract(trained, shared, capsys):
    from drowsy.runtime.classify import CONTRACT, EyeClassifier
    from drowsy.runtime.crop import CropSpec
    from drowsy.training.data import load_dataset
    from drowsy.training.models import Deployed, load_checkpoint

    onnx_path = trained / "eye_state.onnx"
    assert main(["export-onnx", "--checkpoint", str(trained / "eye_state.pt"), "--out", str(onnx_path),
                 "--crop-scale", "1.7"]) == 0
    out = capsys.readouterr().out
    assert "max |difference|" in out and "self-check on the bundled real eye crops: AUC" in out
    # Two training steps cannot tell eyes apart: export reports it, drowsy run would refuse the
    # file; its contract is what this test checks.
    clf = EyeClassifier(onnx_path, device="cpu", selfcheck=False)
    assert clf.spec == CropSpec(size=24, scale=1.7)
    assert clf.metadata["drowsy.contract"] == CONTRACT
    training = json.loads(clf.metadata["drowsy.training"])
    assert training["arch"] == "c8-16-32" and "cew" in training["splits"]
    assert clf.metadata["drowsy.commit"] and clf.metadata["drowsy.version"]
    sess = clf.session
    assert sess.get_inputs()[0].name == "crops" and sess.get_inputs()[0].type == "tensor(uint8)"
    # Real crops of several batch sizes: ONNX Runtime agrees with torch.
    crops = load_dataset(shared / "data" / "cew", limit=20).images[:, None]
    net, _ = load_checkpoint(trained / "eye_state.pt")
    with torch.no_grad():
        want = Deployed(net)(torch.from_numpy(crops)).numpy()
    for n in (1, 7, 20):
        got = clf.predict(crops[:n])
        assert got.shape == (n,) and got.dtype == np.float32
        assert np.max(np.abs(got - want[:n])) < 1e-4
    # The graph takes raw 8-bit values; training fed [0, 1]: both paths give one answer.
    from drowsy.training.loop import predict

    assert np.max(np.abs(predict(net, crops[:, 0]) - want)) < 1e-4


def test_eval_gives_the_same_numbers_for_pt_and_onnx(trained, shared, tmp_path):
    onnx_path = trained / "eye_state.onnx"
    if not onnx_path.exists():
        assert main(["export-onnx", "--checkpoint", str(trained / "eye_state.pt"), "--out", str(onnx_path)]) == 0
    results = []
    for model in (trained / "eye_state.pt", onnx_path):
        out = tmp_path / f"{model.suffix[1:]}.json"
        assert main(["eval", "--model", str(model), "--data", str(shared / "data" / "mrl"), "--limit", "60",
                     "--json", str(out)]) == 0
        results.append(json.loads(out.read_text()))
    a, b = (r["sets"]["mrl"] for r in results)
    assert a["overall"]["n"] == 60 and set(a["conditions"]) >= {"glasses", "lighting", "sensor"}
    assert a["overall"]["auc"] == pytest.approx(b["overall"]["auc"], abs=1e-6)
    assert a["overall"]["accuracy"] == pytest.approx(b["overall"]["accuracy"], abs=1e-6)
    assert sum(m["n"] for m in a["conditions"]["sensor"].values()) == 60


def test_fine_tune_on_a_folder_of_eyes(trained, shared, tmp_path):
    from drowsy.training.data import load_dataset

    cew = load_dataset(shared / "data" / "cew", limit=24)
    for label in ("open", "closed"):
        (tmp_path / "eyes" / label).mkdir(parents=True)
    for k, (img, c) in enumerate(zip(cew.images, cew.closed)):
        cv2.imwrite(str(tmp_path / "eyes" / ("closed" if c else "open") / f"{k}.png"), img)
    out = tmp_path / "tuned"
    assert main(["train", "--data", str(tmp_path / "eyes"), "--init", str(trained / "eye_state.pt"),
                 "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "16", "--out", str(out),
                 "--no-progress"]) == 0
    cfg = torch.load(out / "eye_state.pt", weights_only=True)["config"]
    assert cfg["arch"] == "c8-16-32" and cfg["init"].endswith("eye_state.pt")
    # Files named by number are taken as consecutive shots: split in blocks of 20 numbers.
    assert cfg["data"][0]["format"] == "numbered"


def test_distil_from_a_teacher_with_glasses_balanced(trained, shared, tmp_path):
    out = tmp_path / "student"
    assert main(["train", "--data", str(shared / "data" / "mrl"), "--limit", "32", "--epochs", "1",
                 "--steps-per-epoch", "1", "--batch-size", "16", "--arch", "c8-16-32", "--balance", "glasses",
                 "--teacher", str(trained / "eye_state.pt"), "--distill", "0.7", "--label-smoothing", "0.2",
                 "--train-fraction", "0.5", "--out", str(out),
                 "--no-progress"]) == 0
    cfg = torch.load(out / "eye_state.pt", weights_only=True)["config"]
    assert cfg["fit"]["distill"] == 0.7 and cfg["options"]["label_smoothing"] == [0.2]
    assert cfg["options"]["teacher"] == [str(trained / "eye_state.pt")] and cfg["options"]["balance"] == ["glasses"]
    from drowsy.training.data import load_dataset
    from drowsy.training.splits import grouped_split

    full = load_dataset(shared / "data" / "mrl", limit=32)
    n_train = len(np.unique(full.group[grouped_split(full).train]))
    assert cfg["splits"]["mrl"]["train"]["groups"] == round(0.5 * n_train) < n_train  # half the subjects


def test_distillation_targets_are_the_teachers_mean_and_groups_split_by_condition():
    from drowsy.training.data import EyeData
    from drowsy.training.train import _sampling_group
    from drowsy.training.loop import _teacher_probs

    class Const(torch.nn.Module):
        def __init__(self, logit):
            super().__init__()
            self.logit = logit

        def forward(self, x):
            return torch.full((len(x),), self.logit)

    p = _teacher_probs([Const(0.0), Const(100.0)], torch.zeros(3, 1, 24, 24))
    assert torch.allclose(p, torch.full((3,), 0.75))  # mean of 0.5 and 1.0
    d = EyeData("mrl", "x", np.zeros((3, 24, 24), np.uint8), np.zeros(3, np.uint8), np.array(["s1", "s1", "s2"]),
                np.array(["a", "b", "c"]), {"glasses": np.array(["0", "1", "0"])})
    assert list(_sampling_group(d, ["glasses"])) == ["s1|0", "s1|1", "s2|0"]
    assert list(_sampling_group(d, [])) == ["s1", "s1", "s2"]


def test_bad_options_are_usage_errors(trained, shared, capsys):
    cew = str(shared / "data" / "cew")
    assert main(["train", "--data", cew, "--format", "cew", "mrl", "folders", "--out", "x"]) == 2
    assert main(["train", "--data", cew, "--epochs", "0"]) == 2
    assert main(["train", "--data", cew, "--distill", "1.5"]) == 2
    assert main(["train", "--data", cew, "--dropout", "1"]) == 2
    assert main(["train", "--data", cew, "--label-smoothing", "0.1", "0.2"]) == 2  # two values, one folder
    assert main(["train", "--data", cew, "--weight-decay", "-1"]) == 2
    assert main(["train", "--data", cew, "--train-fraction", "0"]) == 2
    assert main(["train", "--data", cew, "--group-power", "1", "0"]) == 2  # two values, one folder
    assert main(["train", "--data", cew, "--group-power", "3"]) == 2
    assert main(["train", "--data", cew, "--limit", "16", "--train-fraction", "0.01", "--out", "x"]) == 1
    assert main(["train", "--data", cew, "--limit", "16", "--balance", "hats", "--out", "x"]) == 2
    assert main(["export-onnx", "--checkpoint", str(trained / "eye_state.pt"), "--crop-scale", "0"]) == 2
    assert main(["export-onnx", "--checkpoint", str(trained / "missing.pt")]) == 1
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and "one class only" in err and "Traceback" not in err


def test_augmentation_keeps_crops_valid_and_varied():
    from drowsy.training.augment import AugmentConfig, augment_batch, build_pipeline

    torch.manual_seed(0)
    x = torch.zeros(64, 1, 24, 24, dtype=torch.uint8)
    x[:, :, 10:14, 4:20] = 200  # a bright bar: where it ends up shows the geometry
    out = augment_batch(x, build_pipeline(24, AugmentConfig()))
    assert out.shape == (64, 1, 24, 24) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    assert torch.allclose(out * 255, (out * 255).round(), atol=1e-4)  # 8-bit steps, like uint8 input
    assert len({tuple(o.flatten()[:50].tolist()) for o in out}) > 16  # chunks draw their own params
    # No augmentation at all: the crops come back unchanged.
    off = AugmentConfig(shift=0.0, scale=(1.0, 1.0), degrees=0.0, hflip=0.0, p_photometric=0.0, p_blur=0.0,
                        p_lowres=0.0, p_noise=0.0, p_dark=0.0, p_infrared=0.0)
    assert torch.equal(augment_batch(x, build_pipeline(24, off)), x.float() / 255)


def test_group_power_per_data_set():
    from drowsy.training.loop import FitConfig, TrainSet, _cells

    # Set a: one subject with 90 crops and one with 10, per class.
    group = np.array(["big"] * 90 + ["small"] * 10)
    closed = np.tile([0, 1], 50).astype(np.uint8)
    imgs = np.zeros((100, 24, 24), np.uint8)
    by_subject = TrainSet("a", imgs, closed, group, imgs[:2], closed[:2], group_power=1.0)
    by_crop = TrainSet("b", imgs, closed, group, imgs[:2], closed[:2], group_power=0.0)
    cells = _cells([by_subject, by_crop], FitConfig(arch="c8-16-32", group_power=0.5))
    share = {}
    for s, idx, cdf in cells:
        w = np.diff(np.concatenate([[0.0], cdf]))
        share[s.name] = w[group[idx] == "small"].sum() / w.sum()
    assert np.isclose(share["a"], 0.5) and np.isclose(share["b"], 0.1)


def test_a_fresh_split_is_left_unscored_by_training_and_eval_finds_its_scheme(shared, tmp_path, capsys):
    mrl = str(shared / "data" / "mrl")
    assert main(["train", "--data", mrl, "--limit", "400", "--epochs", "1", "--steps-per-epoch", "1",
                 "--batch-size", "16", "--arch", "c8-16-32", "--split-scheme", "fresh2026", "--narrow-open", "0.5",
                 "--out", str(tmp_path), "--no-progress"]) == 0
    cfg = torch.load(tmp_path / "eye_state.pt", weights_only=True)["config"]
    assert cfg["splits"]["mrl"]["scheme"] == "fresh2026" and cfg["fit"]["augment"]["p_narrow"] == 0.5
    assert cfg["metrics"]["test"]["mrl"] is None and cfg["metrics"]["val"]["mrl"]["n"] > 0
    capsys.readouterr()
    assert main(["eval", "--model", str(tmp_path / "eye_state.pt"), "--data", mrl, "--limit", "400",
                 "--split", "test", "--json", str(tmp_path / "test.json")]) == 0
    assert "split scheme fresh2026" in capsys.readouterr().out
    fresh = json.loads((tmp_path / "test.json").read_text())["sets"]["mrl"]["overall"]["n"]
    assert main(["eval", "--model", str(tmp_path / "eye_state.pt"), "--data", mrl, "--limit", "400",
                 "--split", "test", "--split-scheme", "original", "--json", str(tmp_path / "orig.json")]) == 0
    assert json.loads((tmp_path / "orig.json").read_text())["sets"]["mrl"]["overall"]["n"] != fresh
    assert main(["train", "--data", mrl, "--narrow-open", "1.5"]) == 2
