"""Shared fixtures: the real data in ../shared (or $DROWSY_SHARED), and a tiny ONNX eye model
built with onnx.helper so runtime tests do not need torch or a trained model.

Markers (pyproject.toml): `shared` is added to every test that uses the data fixture, `mediapipe`
to every test that uses the landmarker; `torch` is set by the modules that need it. An edge box
without torch or the data runs the rest with `pytest -m "not torch and not shared"`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from drowsy.paths import shared_dir


@pytest.fixture(scope="session")
def shared() -> Path:
    d = shared_dir()
    if not (d / "README.md").is_file():
        pytest.fail(f"test data not found at {d}: put ../shared beside the checkout or set DROWSY_SHARED")
    return d


@pytest.fixture(scope="session")
def landmarker(shared) -> Path:
    p = shared / "models" / "face_landmarker.task"
    assert p.is_file(), p
    return p


@pytest.fixture(autouse=True, scope="session")
def _offline_landmarker():
    # Tests never download: point the resolver at the shared model (when the data is there).
    model = shared_dir() / "models" / "face_landmarker.task"
    if model.is_file():
        os.environ.setdefault("DROWSY_LANDMARKER", str(model))
    os.environ["DROWSY_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def _forget_secrets():
    # secrets.mask remembers every secret it saw (per process): one test's secret must not
    # mask another test's output.
    yield
    from drowsy import secrets

    secrets.forget()


def pytest_collection_modifyitems(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "shared" in names:
            item.add_marker(pytest.mark.shared)
        if "landmarker" in names:
            item.add_marker(pytest.mark.mediapipe)


# The tiny model's two parts: a uniform crop scores 1 - gray/255 (dark = closed), and on a crop
# with contrast a visible pupil means open: P(closed) rises with darkest / mean gray. Between
# them, `w` blends by contrast (mean - darkest, CONTRAST gray levels = all pupil rule).
CONTRAST, RATIO_MID, RATIO_GAIN = 20.0, 0.42, 6.0


def tiny_p_closed(batch: np.ndarray) -> np.ndarray:
    """What make_tiny_eye_model's graph computes, in numpy (float64), for uint8 [N, ...] crops."""
    x = batch.reshape(len(batch), -1).astype(np.float64)
    m, lo = x.mean(axis=1), x.min(axis=1)
    w = np.clip((m - lo) / CONTRAST, 0, 1)
    pupil = np.clip(0.5 + RATIO_GAIN * (lo / np.maximum(m, 1.0) - RATIO_MID), 0, 1)
    return (1 - w) * (1 - m / 255) + w * pupil


def make_tiny_eye_model(path: Path, size: int = 24, threshold: float = 0.5, scale: float = 1.5,
                        extra_meta: dict | None = None) -> Path:
    """A contract-keeping eye model small enough to read (tiny_p_closed): uniform crops score
    1 - mean/255 (dark = closed), and on real eyes a dark pupil means open, so it passes the
    load-time check on the bundled real eye crops (drowsy.runtime.selfcheck)."""
    import onnx
    from onnx import TensorProto, helper

    from drowsy.runtime.crop import CropSpec

    def c(name, v):
        return helper.make_tensor(name, TensorProto.FLOAT, [], [v])

    n = helper.make_node
    nodes = [
        n("Cast", ["crops"], ["f"], to=TensorProto.FLOAT),
        n("ReduceMean", ["f", "axes"], ["m"], keepdims=0),
        n("ReduceMin", ["f", "axes"], ["lo"], keepdims=0),
        # w = clip((m - lo) / CONTRAST, 0, 1)
        n("Sub", ["m", "lo"], ["spread"]), n("Div", ["spread", "contrast"], ["w0"]),
        n("Clip", ["w0", "zero", "one"], ["w"]),
        # flat = 1 - m / 255
        n("Div", ["m", "c255"], ["d"]), n("Sub", ["one", "d"], ["flat"]),
        # pupil = clip(0.5 + GAIN * (lo / max(m, 1) - MID), 0, 1)
        n("Max", ["m", "one"], ["m1"]), n("Div", ["lo", "m1"], ["r"]), n("Sub", ["r", "mid"], ["r0"]),
        n("Mul", ["r0", "gain"], ["r1"]), n("Add", ["r1", "half"], ["r2"]),
        n("Clip", ["r2", "zero", "one"], ["pupil"]),
        # p = flat + w * (pupil - flat)
        n("Sub", ["pupil", "flat"], ["diff"]), n("Mul", ["w", "diff"], ["wd"]),
        n("Add", ["flat", "wd"], ["p_closed"]),
    ]
    inits = [helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3]), c("c255", 255.0), c("one", 1.0),
             c("zero", 0.0), c("half", 0.5), c("contrast", CONTRAST), c("mid", RATIO_MID), c("gain", RATIO_GAIN)]
    graph = helper.make_graph(
        nodes, "tiny_eye", [helper.make_tensor_value_info("crops", TensorProto.UINT8, ["N", 1, size, size])],
        [helper.make_tensor_value_info("p_closed", TensorProto.FLOAT, ["N"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    meta = {"drowsy.crop": CropSpec(size=size, scale=scale).to_metadata(),
            "drowsy.threshold": str(threshold), **(extra_meta or {})}
    for k, v in meta.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_avi(path: Path, images, fps: float = 25.0) -> Path:
    """Frames to an MJPG .avi: real pixels in a container OpenCV always writes and reads."""
    import cv2

    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for im in images:
        writer.write(im)
    writer.release()
    return path


def run_cli(capsys, *argv) -> tuple[int, list[str]]:
    """`drowsy ARGV...` in-process: (exit code, the non-blank stderr lines)."""
    from drowsy.cli import main

    try:
        code = main([*map(str, argv)])
    except SystemExit as e:
        code = e.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


@pytest.fixture()
def tiny_model(tmp_path) -> Path:
    return make_tiny_eye_model(tmp_path / "tiny.onnx")


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
