"""drowsy: real-time drowsiness detection from a webcam, a video file or a stream.

The runtime (capture → landmarks → crop → classify → temporal) needs only numpy, opencv,
mediapipe and onnxruntime; the training side imports torch inside its own modules.

The public API, importable from here (loaded on first use, so `import drowsy` stays cheap):
- the frame types: Frame, Face, EyeCrops, EyeScores, Event, Drowsiness, FrameResult;
- the stages: Landmarker, Cropper, EyeClassifier, DrowsinessMonitor, and Pipeline which wires
  them (Pipeline.from_config(RunConfig(...)));
- the sources: VideoSource, ArraySource, open_source;
- the settings: RunConfig, SourceConfig, ModelConfig, TemporalConfig, OutputConfig;
- DrowsyError (and UsageError, its kind for invalid settings).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_WHERE = {
    "Frame": "types", "Face": "types", "EyeCrops": "types", "EyeScores": "types", "Event": "types",
    "Drowsiness": "types", "FrameResult": "types",
    "Landmarker": "runtime.landmarks", "Cropper": "runtime.crop", "CropSpec": "runtime.crop",
    "EyeClassifier": "runtime.classify", "DrowsinessMonitor": "runtime.temporal",
    "Pipeline": "runtime.pipeline", "VideoSource": "runtime.capture", "ArraySource": "runtime.capture",
    "open_source": "runtime.sources",
    "RunConfig": "settings", "SourceConfig": "settings", "ModelConfig": "settings",
    "TemporalConfig": "settings", "OutputConfig": "settings",
    "DrowsyError": "errors", "UsageError": "errors",
}
__all__ = ["__version__", *_WHERE]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'drowsy' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value  # next time without __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
