"""Classify stage: EyeCrops → EyeScores, all crops of a frame in one ONNX Runtime call.

The eye model's contract (checked when loaded, so a wrong file fails with one clear line):
one input, uint8 [N, 1, S, S] with N dynamic, the grayscale crop exactly as crop.py cuts it;
first output float32 [N] or [N, 1], the probability that the eye is closed, which must tell
the bundled real closed eye crops from open ones (selfcheck.py). Metadata keys
under `drowsy.` carry the crop geometry and the decision threshold.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from .crop import CropSpec, eye_aspect_ratio
from ..errors import DrowsyError, first_line
from ..settings import DEFAULT_HYSTERESIS, DEVICES, FALLBACK_THRESHOLD
from ..paths import cache_dir as user_cache_dir
from ..types import EyeCrops, EyeScores, Face
from .fusion import NEEDS_BLENDSHAPES, RULES, eyeblink

META_CROP = "drowsy.crop"
META_THRESHOLD = "drowsy.threshold"
META_CONTRACT = "drowsy.contract"
META_FUSION = "drowsy.fusion"
META_HYSTERESIS = "drowsy.hysteresis"
CONTRACT = "input uint8 [N,1,S,S] grayscale eye crop (crop.py geometry); output float32 [N] P(closed)"

_CPU, _CUDA, _TRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
# The providers of each settings.DEVICES choice, best first ("auto" = the best available).
PROVIDERS = {"cpu": [_CPU], "cuda": [_CUDA, _CPU], "tensorrt": [_TRT, _CUDA, _CPU]}


def provider_list(device: str, size: int, cache_dir: Path | None, input_name: str = "crops", *,
                   channels: int = 1, opt_batch: int = 18, max_batch: int = 128) -> list:
    """Providers for onnxruntime, best first; TensorRT with its profile for [N, channels, size, size]."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "auto":
        wanted = [p for p in PROVIDERS["tensorrt"] if p in available]
    elif device in PROVIDERS:
        wanted = PROVIDERS[device]
    else:
        raise DrowsyError(f"unknown device {device!r}: choose {', '.join(DEVICES)}")
    out = []
    for p in wanted:
        if p == _TRT:
            # A dynamic batch needs an optimisation profile; the engine cache avoids a
            # rebuild (tens of seconds on a Jetson) on every start.
            # The profile names the model's own input: a name that is not in the graph is an error.
            shape = lambda n: f"{input_name}:{n}x{channels}x{size}x{size}"  # noqa: E731
            opts = {"trt_profile_min_shapes": shape(1), "trt_profile_opt_shapes": shape(opt_batch),
                    "trt_profile_max_shapes": shape(max_batch), "trt_engine_cache_enable": "True",
                    "trt_engine_cache_path": str(cache_dir or user_cache_dir() / "trt")}
            out.append((p, opts))
        else:
            out.append(p)
    return out


def _unit_meta(meta, key: str, default: float, name: str, path: Path) -> float:
    """A number in [0, 1] from the model's metadata (default when absent); else one clear error."""
    try:
        value = float(meta.get(key, default))
    except ValueError:
        raise DrowsyError(f"eye model {path}: {name} metadata is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise DrowsyError(f"eye model {path}: {name} {value} outside [0, 1]")
    return value


class EyeClassifier:
    """The classify stage as one callable: EyeCrops → EyeScores."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int = 0,
                 trt_cache: Path | None = None, selfcheck: bool = True):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise DrowsyError(f"eye model not found: {path}")
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads  # 0 = onnxruntime's default (all cores)
        so.log_severity_level = 3
        # Idle worker threads would otherwise spin for a while after every call, taking
        # CPU from the landmarker's threads between frames (measured: ~8 ms CPU per frame).
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            # The bytes, not the name: onnxruntime refuses a file name that is not valid UTF-8.
            blob = path.read_bytes()
        except OSError as e:
            raise DrowsyError(f"cannot read eye model {path}: {e.strerror or e}") from None
        try:
            # Build a CPU session first to read the contract: a broken file fails here.
            probe = ort.InferenceSession(blob, so, providers=[_CPU])
        except Exception as e:  # onnxruntime raises its own exception types per failure
            raise DrowsyError(f"eye model {path} is not a valid ONNX model: {first_line(e)}") from None
        meta = probe.get_modelmeta().custom_metadata_map
        self.spec = CropSpec.from_metadata(meta.get(META_CROP))
        self._check_contract(probe, path)
        self.threshold = _unit_meta(meta, META_THRESHOLD, FALLBACK_THRESHOLD, "threshold", path)
        self.hysteresis = _unit_meta(meta, META_HYSTERESIS, DEFAULT_HYSTERESIS, "hysteresis", path)
        # How the two eyes are fused: chosen on video with the threshold (operating_point.py);
        # models without the key keep the plain mean they were tuned with.
        self.fusion = meta.get(META_FUSION, "mean")
        if self.fusion not in RULES:
            raise DrowsyError(f"eye model {path}: unknown eye fusion {self.fusion!r} (known: {', '.join(RULES)})")
        self.selfcheck_auc = self._check_outputs(probe, path, selfcheck)
        self.geometry = None  # a driver profile's fusion.Geometry (drowsy run --profile), or None
        self.metadata = dict(meta)
        self.path = path
        requested = provider_list(device, self.spec.size, trt_cache, probe.get_inputs()[0].name)
        if requested == [_CPU]:
            self.session = probe
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    self.session = ort.InferenceSession(blob, so, providers=requested)
                except Exception as e:
                    if device != "auto":
                        raise DrowsyError(f"cannot start {device} for the eye model: {first_line(e)}") from None
                    self.session = probe
        self.providers = self.session.get_providers()
        first = requested[0] if isinstance(requested[0], str) else requested[0][0]
        if self.providers[0] != first:
            msg = f"requested {first} but ONNX Runtime runs {self.providers[0]}"
            if device != "auto":
                raise DrowsyError(msg + " (is onnxruntime-gpu installed and the GPU visible?)")
            warnings.warn(msg + "; falling back", RuntimeWarning, stacklevel=2)
        self.input_name = self.session.get_inputs()[0].name

    def _check_contract(self, sess, path: Path) -> None:
        ins, outs = sess.get_inputs(), sess.get_outputs()
        if len(ins) != 1:
            raise DrowsyError(f"eye model {path}: expected 1 input, found {len(ins)}")
        i = ins[0]
        s = self.spec.size
        if i.type != "tensor(uint8)":
            raise DrowsyError(f"eye model {path}: input must be uint8, found {i.type}")
        dynamic = len(i.shape) == 4 and not isinstance(i.shape[0], int)
        if not dynamic or list(i.shape[1:]) != [1, s, s]:
            raise DrowsyError(f"eye model {path}: input must be [N,1,{s},{s}] with N dynamic, found {i.shape}")
        if not outs or outs[0].type != "tensor(float)":
            raise DrowsyError(f"eye model {path}: first output must be float32, found {outs[0].type if outs else 'none'}")
        if len(outs[0].shape) not in (1, 2):
            raise DrowsyError(f"eye model {path}: first output must be [N] or [N,1], found {outs[0].shape}")

    def _check_outputs(self, sess, path: Path, discriminate: bool) -> float:
        """Run the bundled real eye crops (selfcheck.py): a model that returns logits, NaN, the
        wrong count, or cannot tell closed from open eyes fails here, when loaded, not as false
        alarms during a run. discriminate=False only does not refuse on the last part (the AUC
        is still measured, in .selfcheck_auc): for commands that measure a model."""
        from .selfcheck import check_model

        name = sess.get_inputs()[0].name
        return check_model(lambda x: sess.run(None, {name: x})[0], self.spec, str(path), discriminate)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """P(closed) for a batch of crops, (N, S, S) or (N, 1, S, S) uint8 → (N,) float32."""
        s = self.spec.size
        x = np.asarray(batch)
        if x.dtype != np.uint8:
            raise DrowsyError(f"crops must be uint8, got {x.dtype}")
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1:] != (1, s, s):
            raise DrowsyError(f"crops must be (N, {s}, {s}) or (N, 1, {s}, {s}), got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        out = self.session.run(None, {self.input_name: np.ascontiguousarray(x)})[0]
        return np.asarray(out, dtype=np.float32).reshape(x.shape[0])

    @property
    def needs_blendshapes(self) -> bool:
        """Whether this model's eye fusion uses the landmarker's eyeBlink blendshapes."""
        return self.fusion in NEEDS_BLENDSHAPES

    def __call__(self, crops: EyeCrops, face: Face | None = None) -> EyeScores:
        """Scores of one frame's crops; `face` lends its blendshapes to fusions that use them."""
        c = crops.crops
        raw = self.predict(c.reshape(-1, c.shape[-2], c.shape[-1])).reshape(c.shape[:2])
        contrast = c[:, 0].reshape(2, -1).std(axis=1).astype(np.float32)
        blink = eyeblink(face.blendshapes) if face is not None and self.needs_blendshapes else None
        geo, w = None, 0.0
        if self.geometry is not None and self.geometry.weight and face is not None:
            geo, w = float(self.geometry.closedness(eye_aspect_ratio(face.landmarks).mean())), self.geometry.weight
        return EyeScores(p_closed=raw.mean(axis=1), spread=raw.std(axis=1), raw=raw, contrast=contrast,
                         fusion=self.fusion, blink=blink, geometry=geo, geometry_weight=w)

    def describe(self) -> dict:
        return {"path": str(self.path), "providers": self.providers, "threshold": self.threshold,
                "hysteresis": self.hysteresis, "fusion": self.fusion,
                "threshold_source": self.metadata.get("drowsy.threshold_source"),
                "crop": json.loads(self.spec.to_metadata())}
