"""`drowsy info`: what a person sees before a first run — models found, contract, hashes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import make_tiny_eye_model
from drowsy.cli import main


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_info_with_good_models(tmp_path, landmarker, capsys):
    model = make_tiny_eye_model(tmp_path / "m.onnx", size=32, scale=1.7, threshold=0.42)
    assert main(["info", "--model", str(model), "--landmarker", str(landmarker)]) == 0
    out = capsys.readouterr().out
    assert f"eye model: {model} (--model" in out
    assert "contract: ok; crop 32x32 px, scale 1.7, threshold 0.420" in out
    assert f"face landmarker: {landmarker} (--landmarker" in out and "[sha256 ok]" in out
    assert "onnxruntime providers: " in out and "CPUExecutionProvider" in out


def test_info_flags_a_broken_eye_model(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not onnx" * 50)
    assert main(["info", "--model", str(bad)]) == 1
    cap = capsys.readouterr()
    assert "contract: BROKEN" in cap.out
    assert cap.err.count("\n") == 1 and "not a valid ONNX model" in cap.err


def test_info_missing_model_and_no_landmarker_yet(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DROWSY_LANDMARKER", raising=False)
    assert main(["info", "--model", str(tmp_path / "none.onnx")]) == 1
    cap = capsys.readouterr()
    assert f"eye model: missing at {tmp_path / 'none.onnx'}" in cap.out
    # Where the landmarker will go, so a person offline knows where to put it.
    assert f"downloads it once to {tmp_path / 'cache' / 'drowsy' / 'face_landmarker.task'}" in cap.out
    assert cap.err.strip() == f"drowsy info: error: eye model not found: {tmp_path / 'none.onnx'}"


def test_info_notices_a_landmarker_that_is_not_the_official_file(tiny_model, tmp_path, capsys):
    other = tmp_path / "other.task"
    other.write_bytes(b"some other variant")
    assert main(["info", "--model", str(tiny_model), "--landmarker", str(other)]) == 0
    assert "[sha256 differs from the official file]" in capsys.readouterr().out


def test_info_never_imports_torch(tiny_model, landmarker):
    code = ("import sys; from drowsy.cli import main; "
            f"rc = main(['info', '--model', {str(tiny_model)!r}, '--landmarker', {str(landmarker)!r}]); "
            "assert 'torch' not in sys.modules, 'drowsy info imported torch'; sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "torch  " in r.stdout  # its version is still reported, from package metadata
