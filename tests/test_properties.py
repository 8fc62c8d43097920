"""Property tests: odd frames, landmarks and batches through the cropper and the classifier
wrapper give a valid result or a DrowsyError — never another exception. Broken eye models
fail when loaded, with a message naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drowsy.runtime.classify import EyeClassifier
from drowsy.runtime.crop import EYE_CORNERS, MAX_JITTER, CropSpec, crop_eyes
from drowsy.errors import DrowsyError
from drowsy.types import EyeCrops
from conftest import tiny_p_closed

# Deterministic examples: CI must not turn red on a draw that a local run never saw.
FAST = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# A warning printed on every frame of a run is a failure too (e.g. numpy's "invalid value in cast").
pytestmark = pytest.mark.filterwarnings("error")

DTYPES = (np.uint8, np.float32, np.uint16, np.bool_, np.int8, np.float64)
ODD_VALUES = (np.nan, np.inf, -np.inf, 1e30, -1e30, 1e9, 0.0)


def _image(shape, dtype, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 255).astype(dtype)


@st.composite
def frames(draw, valid: bool = False) -> np.ndarray:
    sizes = st.integers(2, 80) if valid else st.one_of(st.sampled_from([0, 1, 2]), st.integers(0, 80))
    h, w = draw(sizes), draw(sizes)
    ch = draw(st.sampled_from([None, 1, 3, 4] if valid else [None, 1, 2, 3, 4, 5]))
    dtype = np.uint8 if valid else draw(st.sampled_from(DTYPES))
    shape = (h, w) if ch is None else (h, w, ch)
    return _image(shape, dtype, draw(st.integers(0, 2**31)))


@st.composite
def face_landmarks(draw, h: int, w: int, finite: bool = False) -> np.ndarray:
    """478 points with the eye corners somewhere inside, on or beyond the frame border."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    lm = rng.uniform(0, max(w, 1), (478, 2)).astype(np.float32)
    where = st.sampled_from([-1.0, -0.1, 0.0, 0.25, 0.5, 0.99, 1.0, 1.5, 3.0])
    cx, cy = draw(where) * w, draw(where) * h
    dist = draw(st.sampled_from([0.0, 1e-9, 0.5, 3.0, 20.0, 200.0] + ([] if finite else [1e7])))
    angle = draw(st.floats(-np.pi, np.pi))
    d = np.array([np.cos(angle), np.sin(angle)]) * dist / 2
    for e, (a, b) in enumerate(EYE_CORNERS):
        off = np.array([(e - 0.5) * 3 * dist, 0.0])
        lm[a], lm[b] = (cx, cy) + off - d, (cx, cy) + off + d
    if not finite and draw(st.booleans()):
        idx = draw(st.sampled_from([i for pair in EYE_CORNERS for i in pair] + [0, 477]))
        lm[idx, draw(st.integers(0, 1))] = draw(st.sampled_from(ODD_VALUES))
    return lm


def _check_crops(out, jitter: int, size: int) -> None:
    assert isinstance(out, EyeCrops)
    assert out.crops.shape == (2, jitter + 1, size, size) and out.crops.dtype == np.uint8
    assert out.corners.shape == (2, 4, 2)
    assert np.isfinite(out.mean_gray) and 0.0 <= out.mean_gray <= 255.0


@FAST
@given(data=st.data(), jitter=st.integers(-1, MAX_JITTER + 1), size=st.sampled_from([1, 8, 24]))
def test_crop_eyes_gives_valid_crops_or_a_drowsy_error(data, jitter, size):
    image = data.draw(frames())
    lm = data.draw(st.one_of(
        face_landmarks(image.shape[0] if image.ndim else 0, image.shape[1] if image.ndim > 1 else 0),
        st.sampled_from([np.zeros((10, 2)), np.zeros((478,)), np.zeros((478, 3)), np.zeros((0, 2)),
                         np.full((478, 2), np.nan), np.zeros((478, 2), dtype=object)]),
    ))
    try:
        out = crop_eyes(image, lm, CropSpec(size=size), jitter)
    except DrowsyError:
        return
    _check_crops(out, jitter, size)


@FAST
@given(data=st.data(), jitter=st.integers(0, MAX_JITTER))
def test_crop_eyes_accepts_every_valid_frame(data, jitter):
    """A uint8 frame of ≥ 2×2 pixels with finite landmarks always gives crops, wherever the eyes are."""
    image = data.draw(frames(valid=True))
    lm = data.draw(face_landmarks(image.shape[0], image.shape[1], finite=True))
    _check_crops(crop_eyes(image, lm, CropSpec(), jitter), jitter, CropSpec().size)


@FAST
@given(data=st.data(), gray=st.integers(0, 255))
def test_crops_of_a_uniform_frame_are_uniform(data, gray):
    """Beyond the border the edge is repeated, so a flat frame gives flat crops (no black bars
    that would look like a closed eye)."""
    h, w = data.draw(st.integers(2, 60)), data.draw(st.integers(2, 60))
    image = np.full((h, w, 3), gray, dtype=np.uint8)
    lm = data.draw(face_landmarks(h, w, finite=True))
    out = crop_eyes(image, lm, CropSpec(), 4)
    assert np.abs(out.crops.astype(int) - gray).max() <= 1


@pytest.mark.parametrize("value", ODD_VALUES)
@pytest.mark.parametrize("corner", [33, 263])
def test_odd_eye_corner_values(value, corner):
    """NaN, ±inf and ±1e30 at an eye corner: a DrowsyError, not a crash or a numpy warning."""
    image = _image((60, 80, 3), np.uint8, 1)
    lm = np.random.default_rng(0).uniform(20, 40, (478, 2))
    lm[corner, 0] = value
    try:
        out = crop_eyes(image, lm)
    except DrowsyError:
        assert not np.isfinite(value) or abs(value) > 1e6
        return
    _check_crops(out, 8, CropSpec().size)


def test_non_array_frames_are_refused():
    lm = np.zeros((478, 2))
    for image in (None, [[1, 2], [3, 4]], "frame", np.uint8(3)):
        with pytest.raises(DrowsyError):
            crop_eyes(image, lm)


# ---- the classifier wrapper ------------------------------------------------------------

@pytest.fixture()
def clf(tiny_model) -> EyeClassifier:
    return EyeClassifier(tiny_model, device="cpu", threads=1)


@st.composite
def batches(draw) -> np.ndarray:
    n = draw(st.sampled_from([0, 1, 2, 7, 36]))
    side = draw(st.sampled_from([24, 24, 23, 25, 1, 0]))
    layout = draw(st.sampled_from(["nss", "n1ss", "nss1", "n3ss", "ss", "n", "scalar", "5d"]))
    shape = {"nss": (n, side, side), "n1ss": (n, 1, side, side), "nss1": (n, side, side, 1),
             "n3ss": (n, 3, side, side), "ss": (side, side), "n": (n,), "scalar": (),
             "5d": (n, 1, 1, side, side)}[layout]
    dtype = draw(st.sampled_from((np.uint8, np.uint8, np.float32, np.uint16, np.bool_, np.int64)))
    return _image(shape, dtype, draw(st.integers(0, 2**31)))


@FAST
@given(batch=batches())
def test_predict_gives_probabilities_or_a_drowsy_error(clf, batch):
    try:
        p = clf.predict(batch)
    except DrowsyError:
        return
    assert batch.dtype == np.uint8  # anything else must be refused, not silently cast
    n = batch.shape[0]
    assert p.shape == (n,) and p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1))
    # The tiny model's formula in numpy: check the batch reached it unchanged.
    expect = tiny_p_closed(batch) if n else np.zeros(0)
    np.testing.assert_allclose(p, expect, atol=1e-5)


@FAST
@given(data=st.data(), jitter=st.integers(0, MAX_JITTER))
def test_classifier_call_on_real_crops(clf, data, jitter):
    image = data.draw(frames(valid=True))
    lm = data.draw(face_landmarks(image.shape[0], image.shape[1], finite=True))
    scores = clf(crop_eyes(image, lm, clf.spec, jitter))
    assert scores.p_closed.shape == (2,) and scores.raw.shape == (2, jitter + 1)
    assert np.all((scores.p_closed >= 0) & (scores.p_closed <= 1)) and np.all(scores.spread >= 0)
    assert 0.0 <= scores.fused <= 1.0


# ---- broken eye models: refused when loaded, the message names the fault ---------------

def _graph_model(path, in_type="uint8", in_shape=("N", 1, 24, 24), out_type="float",
                 out_shape=("N",), n_inputs=1, meta=None, gain=1 / 255):
    """An ONNX model like the tiny one (P = gain × mean crop) with the given input/output."""
    import onnx
    from onnx import TensorProto, helper

    types = {"uint8": TensorProto.UINT8, "float": TensorProto.FLOAT, "int64": TensorProto.INT64}
    rank = len(in_shape)
    nodes = [helper.make_node("Cast", ["crops"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["f", "axes"], ["m0"], keepdims=0),
             helper.make_node("Mul", ["m0", "gain"], ["m"]),
             helper.make_node("Cast", ["m"], ["y"], to=types[out_type])]
    if len(out_shape) > 1:
        nodes[-1].output[0] = "y0"
        nodes.append(helper.make_node("Reshape", ["y0", "shape"], ["y"]))
    inits = [helper.make_tensor("gain", TensorProto.FLOAT, [], [gain]),
             helper.make_tensor("axes", TensorProto.INT64, [rank - 1], list(range(1, rank))),
             helper.make_tensor("shape", TensorProto.INT64, [len(out_shape)], [-1] + [1] * (len(out_shape) - 1))]
    inputs = [helper.make_tensor_value_info("crops", types[in_type], list(in_shape))]
    inputs += [helper.make_tensor_value_info(f"extra{i}", TensorProto.FLOAT, [1]) for i in range(n_inputs - 1)]
    graph = helper.make_graph(nodes, "broken", inputs,
                              [helper.make_tensor_value_info("y", types[out_type], list(out_shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    for k, v in (meta or {}).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    onnx.save(model, str(path))
    return path


BROKEN = {
    "float input": (dict(in_type="float"), "input must be uint8, found tensor.float"),
    "wrong crop size": (dict(in_shape=("N", 1, 32, 32)), r"input must be \[N,1,24,24\] .*found \['N', 1, 32, 32\]"),
    "three channels": (dict(in_shape=("N", 3, 24, 24)), r"input must be \[N,1,24,24\]"),
    "no channel axis": (dict(in_shape=("N", 24, 24)), r"input must be \[N,1,24,24\]"),
    "fixed batch": (dict(in_shape=(1, 1, 24, 24)), r"N dynamic, found \[1, 1, 24, 24\]"),
    "two inputs": (dict(n_inputs=2), "expected 1 input, found 2"),
    "int output": (dict(out_type="int64"), "first output must be float32"),
    "3-d output": (dict(out_shape=("N", 1, 1)), r"first output must be \[N\] or \[N,1\]"),
    "threshold text": (dict(meta={"drowsy.threshold": "high"}), "threshold metadata is not a number"),
    "threshold > 1": (dict(meta={"drowsy.threshold": "1.5"}), r"threshold 1.5 outside \[0, 1\]"),
    "crop spec junk": (dict(meta={"drowsy.crop": "{not json"}), "invalid crop spec"),
    "crop spec incomplete": (dict(meta={"drowsy.crop": '{"scale": 1.5}'}), "invalid crop spec"),
    "crop scale zero": (dict(meta={"drowsy.crop": '{"size": 24, "scale": 0}'}), "invalid crop spec: .*scale 0"),
    "crop scale negative": (dict(meta={"drowsy.crop": '{"size": 24, "scale": -1.5}'}), "invalid crop spec"),
    "crop scale NaN": (dict(meta={"drowsy.crop": '{"size": 24, "scale": NaN}'}), "invalid crop spec: .*nan"),
    "logits": (dict(gain=1.0), r"probabilities in \[0, 1\], got 0 to 255 \(logits"),
    "negative output": (dict(gain=-1 / 255), r"probabilities in \[0, 1\]"),
    "NaN output": (dict(gain=float("nan")), r"probabilities in \[0, 1\], got nan"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_contract_is_named_when_loaded(tmp_path, name):
    kwargs, message = BROKEN[name]
    path = _graph_model(tmp_path / "m.onnx", **kwargs)
    with pytest.raises(DrowsyError, match=message) as e:
        EyeClassifier(path, device="cpu")
    assert "\n" not in str(e.value)


def test_a_good_model_built_the_same_way_loads(tmp_path):
    # The builder above makes loadable models: the failures are the faults, not the builder.
    # selfcheck=False: this gray-level model is no eye model; the test is about the contract.
    clf = EyeClassifier(_graph_model(tmp_path / "m.onnx"), device="cpu", selfcheck=False)
    assert clf.predict(np.zeros((3, 24, 24), np.uint8)).shape == (3,)


def test_mirror_left_must_be_a_real_boolean(tmp_path):
    # json "false" as a string must not turn mirroring on (bool("false") is True).
    meta = {"drowsy.crop": '{"size": 24, "scale": 1.5, "mirror_left": "false"}'}
    assert EyeClassifier(_graph_model(tmp_path / "m.onnx", meta=meta), device="cpu",
                         selfcheck=False).spec.mirror_left is False


def _real_or_tiny(tiny_model):
    from drowsy.paths import default_eye_model

    return [tiny_model] + ([default_eye_model()] if default_eye_model().is_file() else [])


@pytest.mark.parametrize("cut", [0, 1, 0.5, -1])
def test_truncated_or_random_model_files(tmp_path, tiny_model, cut):
    for source in _real_or_tiny(tiny_model):
        data = source.read_bytes()
        bad = tmp_path / "cut.onnx"
        bad.write_bytes(data[: int(len(data) * cut) if isinstance(cut, float) else cut])
        with pytest.raises(DrowsyError, match="not a valid ONNX model") as e:
            EyeClassifier(bad, device="cpu")
        assert "\n" not in str(e.value) and str(bad) in str(e.value)


@FAST
@given(blob=st.binary(min_size=0, max_size=2000))
def test_random_bytes_as_model(tmp_path, blob):
    bad = tmp_path / "random.onnx"
    bad.write_bytes(blob)
    with pytest.raises(DrowsyError):
        EyeClassifier(bad, device="cpu")


def test_a_folder_is_not_a_model(tmp_path):
    with pytest.raises(DrowsyError, match="not found"):
        EyeClassifier(tmp_path, device="cpu")


def test_tensorrt_profile_names_the_models_own_input(tmp_path):
    from drowsy.runtime.classify import provider_list

    trt, cuda, cpu = provider_list("tensorrt", 24, tmp_path, "eyes")
    name, opts = trt
    assert name == "TensorrtExecutionProvider" and (cuda, cpu) == ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert opts["trt_profile_min_shapes"] == "eyes:1x1x24x24" and opts["trt_profile_max_shapes"] == "eyes:128x1x24x24"
    assert opts["trt_engine_cache_path"] == str(tmp_path)
