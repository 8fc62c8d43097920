"""export-onnx, eval and train never destroy their inputs and end in one line on bad checkpoints."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from conftest import run_cli
from drowsy.paths import REPO_ROOT

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

SHIPPED = REPO_ROOT / "assets" / "eye_state.pt"


cli = run_cli


@pytest.fixture()
def ckpt(tmp_path):
    p = tmp_path / "eye_state.pt"
    shutil.copy(SHIPPED, p)
    return p


def test_export_out_equal_to_the_checkpoint_keeps_the_checkpoint(capsys, ckpt, tmp_path):
    before = ckpt.read_bytes()
    os.link(ckpt, tmp_path / "alias.onnx")
    for out in (ckpt, tmp_path / "alias.onnx"):
        code, err = cli(capsys, "export-onnx", "--checkpoint", ckpt, "--out", out)
        assert code == 2 and len(err) == 1 and "is the input --checkpoint" in err[0]
    assert ckpt.read_bytes() == before


def test_export_out_a_folder_or_a_device_is_one_line(capsys, ckpt, tmp_path):
    code, err = cli(capsys, "export-onnx", "--checkpoint", ckpt, "--out", tmp_path)
    assert code == 1 and len(err) == 1 and "it is a folder" in err[0]
    code, err = cli(capsys, "export-onnx", "--checkpoint", ckpt, "--out", "/dev/null")
    assert code == 1 and len(err) == 1 and "not a regular file" in err[0]
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_opset_999_is_refused_before_exporting_and_19_is_written(capsys, ckpt, tmp_path):
    out = tmp_path / "m.onnx"
    code, err = cli(capsys, "export-onnx", "--checkpoint", ckpt, "--out", out, "--opset", 999)
    assert code == 2 and len(err) == 1 and "--opset must be 18.." in err[0] and not out.exists()
    out.write_bytes(b"yesterday's model")
    assert cli(capsys, "export-onnx", "--checkpoint", ckpt, "--out", out, "--opset", 19)[0] == 0
    import onnx

    assert [o.version for o in onnx.load(str(out)).opset_import if o.domain in ("", "ai.onnx")] == [19]
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]  # no temporary file left


def test_a_failed_export_leaves_the_previous_model(capsys, ckpt, tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"yesterday's model")
    code, err = cli(capsys, "export-onnx", "--checkpoint", ckpt, "--out", out, "--threshold", 2)
    assert code == 2 and len(err) == 1 and out.read_bytes() == b"yesterday's model"


def _bad_checkpoints(tmp_path):
    good = torch.load(SHIPPED, weights_only=True)
    cases = {
        "no config": {k: v for k, v in good.items() if k != "config"},
        "config is a string": {**good, "config": "c8-16-32-64-flat"},
        "unknown arch": {**good, "config": {**good["config"], "arch": "resnet-9000"}},
        "arch missing": {**good, "config": {k: v for k, v in good["config"].items() if k != "arch"}},
        "huge size": {**good, "config": {**good["config"], "size": 10 ** 9}},
        "text threshold": {**good, "config": {**good["config"], "threshold": "high"}},
        "no weights": {k: v for k, v in good.items() if k != "state_dict"},
        "weights a list": {**good, "state_dict": [1, 2, 3]},
    }
    for name, obj in cases.items():
        p = tmp_path / (name.replace(" ", "_") + ".pt")
        torch.save(obj, p)
        yield name, p


@pytest.mark.parametrize("command", ["export-onnx", "eval"])
def test_checkpoints_with_missing_or_malformed_config_are_one_line(capsys, tmp_path, command):
    for name, p in _bad_checkpoints(tmp_path):
        if command == "export-onnx":
            code, err = cli(capsys, "export-onnx", "--checkpoint", p, "--out", tmp_path / "x.onnx")
        else:
            code, err = cli(capsys, "eval", "--model", p, "--data", tmp_path)
        assert code == 1 and len(err) == 1 and str(p) in err[0], (name, err)
    assert not (tmp_path / "x.onnx").exists()


def test_eval_json_equal_to_the_model_keeps_the_model(capsys, tmp_path):
    model = tmp_path / "m.onnx"
    shutil.copy(REPO_ROOT / "assets" / "eye_state.onnx", model)
    before = model.read_bytes()
    code, err = cli(capsys, "eval", "--model", model, "--data", tmp_path, "--json", model)
    assert code == 2 and len(err) == 1 and "is the input --model" in err[0]
    assert model.read_bytes() == before


def test_eval_json_to_an_unwritable_place_is_one_line_before_any_work(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = cli(capsys, "eval", "--data", tmp_path, "--json", blocker / "r.json")
    assert code == 1 and len(err) == 1 and "is a file" in err[0]


def test_train_out_holding_the_init_checkpoint_is_refused(capsys, ckpt, tmp_path):
    before = ckpt.read_bytes()
    code, err = cli(capsys, "train", "--data", tmp_path, "--init", ckpt, "--out", ckpt.parent)
    assert code == 2 and len(err) == 1 and "is the input --init" in err[0]
    assert ckpt.read_bytes() == before
    code, err = cli(capsys, "train", "--data", tmp_path, "--out", ckpt)  # a file where a folder goes
    assert code == 1 and len(err) == 1 and "not a folder" in err[0]
