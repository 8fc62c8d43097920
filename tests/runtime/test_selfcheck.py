"""The eye model's load-time check on real eye crops bundled with the package: a model that
lies on real eyes is refused with one line, whatever it does on black and white squares."""

from __future__ import annotations

import numpy as np
import pytest

from drowsy.errors import DrowsyError
from drowsy.runtime.classify import EyeClassifier
from drowsy.runtime.crop import CropSpec
from drowsy.runtime.selfcheck import BATCHES, MIN_AUC, auc, crops_path, load_crops
from conftest import make_tiny_eye_model


def _model(path, nodes, inits, out_shape=("N",), size=24):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Cast", ["crops"], ["f"], to=TensorProto.FLOAT), *nodes], "m",
        [helper.make_tensor_value_info("crops", TensorProto.UINT8, ["N", 1, size, size])],
        [helper.make_tensor_value_info("p_closed", TensorProto.FLOAT, list(out_shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _f(name, v):
    from onnx import TensorProto, helper

    return helper.make_tensor(name, TensorProto.FLOAT, [], [v])


def _axes():
    from onnx import TensorProto, helper

    return helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3])


def constant_model(path, value: float):
    """P(closed) = value for every crop (247: what a broken export once said on real eyes)."""
    from onnx import helper

    return _model(path, [helper.make_node("ReduceMean", ["f", "axes"], ["m"], keepdims=0),
                         helper.make_node("Mul", ["m", "zero"], ["z"]),
                         helper.make_node("Add", ["z", "value"], ["p_closed"])],
                  [_axes(), _f("zero", 0.0), _f("value", value)])


def test_the_bundled_crops_are_real_labelled_eyes():
    assert crops_path().is_file() and crops_path().stat().st_size < 100_000
    x, closed = load_crops(CropSpec())
    assert x.dtype == np.uint8 and x.shape[1:] == (1, 24, 24) and 24 <= len(x) <= 64
    assert closed.sum() == len(x) // 2  # as many closed as open
    assert 40 < x.mean() < 200 and x.std() > 10  # real pixels, not flat squares
    for spec in (CropSpec(size=32, scale=1.7), CropSpec(size=16, scale=1.2, mirror_left=True), CropSpec(scale=6.0)):
        y, c = load_crops(spec)
        assert y.shape == (len(x), 1, spec.size, spec.size) and (c == closed).all()


def test_the_shipped_and_the_tiny_model_pass(tiny_model):
    from drowsy.paths import default_eye_model

    assert EyeClassifier(default_eye_model(), device="cpu").selfcheck_auc >= MIN_AUC
    assert EyeClassifier(tiny_model, device="cpu").selfcheck_auc >= MIN_AUC


def test_a_model_saying_247_on_real_eyes_is_refused(tmp_path):
    with pytest.raises(DrowsyError, match=r"probabilities in \[0, 1\], got 247 to 247") as e:
        EyeClassifier(constant_model(tmp_path / "m.onnx", 247.0), device="cpu")
    assert "\n" not in str(e.value)


def test_a_constant_model_is_refused_for_not_telling_eyes_apart(tmp_path):
    with pytest.raises(DrowsyError, match=r"does not tell closed from open eyes .* AUC 0.50"):
        EyeClassifier(constant_model(tmp_path / "m.onnx", 0.3), device="cpu")


def test_an_inverted_model_is_refused(tmp_path):
    """1 - the tiny model: in range, right shape, and wrong on every real eye."""
    import onnx
    from onnx import TensorProto, helper

    m = onnx.load(str(make_tiny_eye_model(tmp_path / "t.onnx")))
    for node in m.graph.node:
        node.output[:] = ["q" if o == "p_closed" else o for o in node.output]
    m.graph.node.append(helper.make_node("Sub", ["one", "q"], ["p_closed"]))
    onnx.save(m, str(tmp_path / "inv.onnx"))
    with pytest.raises(DrowsyError, match=r"AUC 0\.0\d < 0.9 \(inverted"):
        EyeClassifier(tmp_path / "inv.onnx", device="cpu")
    del TensorProto


def test_a_fixed_length_output_is_refused_at_load(tmp_path):
    """Always 4 outputs: passed the old 4-crop check and crashed on the first frame."""
    from onnx import TensorProto, helper

    path = _model(tmp_path / "m.onnx", [
        helper.make_node("ReduceMean", ["f", "axes"], ["m"], keepdims=0),
        helper.make_node("ReduceMean", ["m", "ax0"], ["s"], keepdims=1),
        helper.make_node("Div", ["s", "c255"], ["d"]),
        helper.make_node("Expand", ["d", "four"], ["p_closed"])],
        [_axes(), helper.make_tensor("ax0", TensorProto.INT64, [1], [0]), _f("c255", 255.0),
         helper.make_tensor("four", TensorProto.INT64, [1], [4])], out_shape=(4,))
    with pytest.raises(DrowsyError, match=r"output shape \(4,\) for \d+ crops"):
        EyeClassifier(path, device="cpu")


def test_a_score_that_depends_on_the_batch_is_refused(tmp_path):
    """Normalised over the batch (x / the batch's mean): N crops give N outputs, but a crop's
    score changes with its neighbours."""
    from onnx import TensorProto, helper

    path = _model(tmp_path / "m.onnx", [
        helper.make_node("ReduceMin", ["f", "axes"], ["lo"], keepdims=0),
        helper.make_node("ReduceMax", ["lo", "ax0"], ["top"], keepdims=1),
        helper.make_node("Add", ["top", "one"], ["t1"]),
        helper.make_node("Div", ["lo", "t1"], ["p_closed"])],
        [_axes(), helper.make_tensor("ax0", TensorProto.INT64, [1], [0]), _f("one", 1.0)])
    with pytest.raises(DrowsyError, match="depends on the batch"):
        EyeClassifier(path, device="cpu")


def test_several_batch_sizes_are_tried():
    assert {1, 2, 17} <= set(BATCHES)


def test_auc_counts_ties_half():
    assert auc(np.array([1.0, 0.0]), np.array([True, False])) == 1.0
    assert auc(np.array([0.5, 0.5]), np.array([True, False])) == 0.5
