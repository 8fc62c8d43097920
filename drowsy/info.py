"""`drowsy info`: versions, ONNX Runtime providers, and which models would be used."""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata

from . import __version__
from .paths import LANDMARKER_SHA256, default_eye_model, find_landmarker, sha256_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="eye model to describe (default: the bundled one)")
    p.add_argument("--landmarker", help="face landmarker .task file")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _describe(label: str, path, source: str, expected: str | None = None) -> None:
    if path is None or not path.is_file():
        where = f" at {path}" if path is not None else ""
        print(f"{label}: missing{where} ({source})")
        return
    digest = sha256_of(path)
    note = "" if expected is None else ("  [sha256 ok]" if digest == expected else "  [sha256 differs from the official file]")
    print(f"{label}: {path} ({source})\n  sha256 {digest}{note}")


def main(args: argparse.Namespace) -> int:
    print(f"drowsy {__version__} on Python {platform.python_version()} ({platform.machine()}, {sys.platform})")
    for dist in ("numpy", "opencv-contrib-python", "mediapipe", "onnxruntime", "onnxruntime-gpu", "torch"):
        print(f"  {dist:22s} {_version(dist)}")
    try:
        import onnxruntime as ort

        print("onnxruntime providers: " + ", ".join(ort.get_available_providers()))
    except ImportError:
        print("onnxruntime providers: onnxruntime is not installed")
    from pathlib import Path

    model = Path(args.model) if args.model else default_eye_model()
    _describe("eye model", model, "--model" if args.model else "bundled")
    path, source = find_landmarker(args.landmarker)
    if path is None:
        print("face landmarker: not found yet; `drowsy run` downloads it once into the user cache "
              "(or pass --landmarker PATH / set DROWSY_LANDMARKER)")
    else:
        _describe("face landmarker", path, source, LANDMARKER_SHA256)
    return 0
