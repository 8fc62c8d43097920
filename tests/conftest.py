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


def pytest_collection_modifyitems(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "shared" in names:
            item.add_marker(pytest.mark.shared)
        if "landmarker" in names:
            item.add_marker(pytest.mark.mediapipe)


def make_tiny_eye_model(path: Path, size: int = 24, threshold: float = 0.5, scale: float = 1.5,
                        extra_meta: dict | None = None) -> Path:
    """A contract-keeping eye model: P(closed) = 1 - mean(crop) / 255 (dark crop = closed)."""
    import onnx
    from onnx import TensorProto, helper

    from drowsy.runtime.crop import CropSpec

    nodes = [
        helper.make_node("Cast", ["crops"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["f", "axes"], ["m"], keepdims=0),
        helper.make_node("Div", ["m", "c255"], ["d"]),
        helper.make_node("Sub", ["one", "d"], ["p_closed"]),
    ]
    inits = [
        helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3]),
        helper.make_tensor("c255", TensorProto.FLOAT, [], [255.0]),
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
    ]
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


@pytest.fixture()
def tiny_model(tmp_path) -> Path:
    return make_tiny_eye_model(tmp_path / "tiny.onnx")


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
