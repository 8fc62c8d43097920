"""`drowsy info`: versions, ONNX Runtime providers, and which models would be used.

Reads only package metadata (never imports torch) and loads the eye model with the same
contract check as `drowsy run`, so "would this box work?" is answered before a run.
Exit 1 when the eye model is missing or breaks its contract; a landmarker that is not
there yet is fine (the first `drowsy run` fetches it).
"""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..errors import DrowsyError
from ..paths import (LANDMARKER_SHA256, LANDMARKER_URL, cached_landmarker, default_eye_model,
                    find_landmarker, sha256_of)

DISTRIBUTIONS = ("drowsy-eyes", "numpy", "opencv-contrib-python", "opencv-python", "mediapipe",
                 "onnxruntime", "onnxruntime-gpu", "matplotlib", "torch")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="eye model to describe (default: the bundled one)")
    p.add_argument("--landmarker", help="face landmarker .task file")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _file_line(label: str, path: Path, source: str, expected: str | None = None) -> str:
    digest = sha256_of(path)
    note = "" if expected is None else ("  [sha256 ok]" if digest == expected
                                        else "  [sha256 differs from the official file]")
    return f"{label}: {path} ({source}, {path.stat().st_size:,} bytes)\n  sha256 {digest}{note}"


def _eye_model(path: Path, source: str) -> str | None:
    """Print what the eye model is and whether it keeps the contract; None when usable."""
    if not path.is_file():
        print(f"eye model: missing at {path} ({source})")
        return f"eye model not found: {path}"
    print(_file_line("eye model", path, source))
    from .classify import EyeClassifier

    try:
        clf = EyeClassifier(path, device="cpu")
    except DrowsyError as e:
        print(f"  contract: BROKEN: {e}")
        return str(e)
    s = clf.spec
    print(f"  contract: ok; crop {s.size}x{s.size} px, scale {s.scale}, threshold {clf.threshold:.3f}")
    return None


def main(args: argparse.Namespace) -> int:
    print(f"drowsy {__version__} on Python {platform.python_version()} ({platform.machine()}, {sys.platform})")
    for dist in DISTRIBUTIONS:
        print(f"  {dist:22s} {_version(dist)}")
    try:
        import onnxruntime as ort

        print("onnxruntime providers: " + ", ".join(ort.get_available_providers()))
    except ImportError:
        print("onnxruntime providers: onnxruntime is not installed")
    model = Path(args.model) if args.model else default_eye_model()
    problem = _eye_model(model, "--model" if args.model else "bundled")
    path, source = find_landmarker(args.landmarker)
    if path is None:
        print(f"face landmarker: not found yet; the first `drowsy run` downloads it once to "
              f"{cached_landmarker()} (or put {LANDMARKER_URL} there, pass --landmarker PATH "
              "or set DROWSY_LANDMARKER)")
    elif not path.is_file():
        print(f"face landmarker: missing at {path} ({source})")
    else:
        print(_file_line("face landmarker", path, source, LANDMARKER_SHA256))
    if problem:
        sys.stdout.flush()  # the report first, then the one error line on stderr
        raise DrowsyError(problem)
    return 0
