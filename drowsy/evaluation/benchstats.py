"""Helpers of `drowsy bench`: summary statistics, the machine's description, the reference
loop (what drowsy's frame rate is compared with), and the classifier micro-benchmark (our eye
model beside torchvision's ResNet-18 at 256×256).

ResNet-18 is what the seed project classified eyes with. It is timed with untrained weights
(timing does not depend on them), exported once to ONNX with torch and cached in the user
cache dir, so both models run in the same ONNX Runtime on the same machine.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import DrowsyError, first_line

DISTS = ("numpy", "opencv-contrib-python", "mediapipe", "onnxruntime", "onnxruntime-gpu", "torch")
RESNET_SIZE = 256


def summary_ms(values_ms) -> dict:
    """p50, p90 and mean of a list of durations in ms."""
    v = np.asarray(values_ms, dtype=float)
    if v.size == 0:
        return {"p50_ms": None, "p90_ms": None, "mean_ms": None, "n": 0}
    return {"p50_ms": float(np.percentile(v, 50)), "p90_ms": float(np.percentile(v, 90)),
            "mean_ms": float(v.mean()), "n": int(v.size)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    """The NVIDIA card's name, or None without one (or without nvidia-smi)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    names = [n.strip() for n in out.stdout.splitlines() if n.strip()]
    return ", ".join(names) if out.returncode == 0 and names else None


def versions() -> dict:
    out = {"python": platform.python_version()}
    for d in DISTS:
        try:
            out[d] = metadata.version(d)
        except metadata.PackageNotFoundError:
            pass
    return out


def reference_loop(video, landmarker, warmup: int, n: int, num_faces: int = 1) -> dict:
    """The bare loop: OpenCV decodes `video` (replayed as needed), MediaPipe's FaceLandmarker
    (VIDEO mode, the settings drowsy run uses: num_faces, no blendshapes, transformation
    matrixes) runs detect_for_video on every frame; nothing else, no threads of ours.
    Returns frames/s over the n frames after `warmup` (set-up excluded, as in measure)."""
    from ..runtime.capture import quiet_opencv
    from ..runtime.landmarks import silence_fd2

    cv2 = quiet_opencv()
    with silence_fd2():
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=Path(landmarker).read_bytes()),
            running_mode=vision.RunningMode.VIDEO, num_faces=num_faces,
            output_face_blendshapes=False, output_facial_transformation_matrixes=True)
        task = vision.FaceLandmarker.create_from_options(options)
    done, ms, t0 = 0, 0, time.perf_counter()
    try:
        while done < warmup + n:
            cap, before = cv2.VideoCapture(str(video)), done
            while done < warmup + n:
                ok, bgr = cap.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                with silence_fd2(ms == 0):  # MediaPipe's chatter comes on the first frame
                    task.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), ms)
                ms += 40
                done += 1
                if done == warmup:
                    t0 = time.perf_counter()
            cap.release()
            if done == before:
                raise DrowsyError(f"{video}: no frame decoded")
    finally:
        task.close()
    wall_s = time.perf_counter() - t0
    return {"frames": n, "wall_s": wall_s, "fps": n / wall_s}


def time_calls(fn, min_s: float = 0.4, max_calls: int = 200, min_calls: int = 5, warmup: int = 2) -> list[float]:
    """Durations in ms of repeated fn() calls: warm-up first, then until min_s has passed."""
    for _ in range(warmup):
        fn()
    out, start = [], time.perf_counter()
    while len(out) < min_calls or (len(out) < max_calls and time.perf_counter() - start < min_s):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def resnet18_onnx(cache: Path) -> Path:
    """torchvision ResNet-18 (untrained) at 256×256 as ONNX, exported once into `cache`.

    Raises DrowsyError when torch/torchvision are missing (the caller notes and skips it).
    """
    path = cache / f"resnet18_{RESNET_SIZE}.onnx"
    if path.is_file():
        return path
    try:
        import torch
        import torchvision
    except ImportError:
        raise DrowsyError("torch/torchvision not installed (pip install 'drowsy-eyes[train]')") from None
    import warnings

    cache.mkdir(parents=True, exist_ok=True)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.zeros(1, 3, RESNET_SIZE, RESNET_SIZE)
    tmp = path.with_suffix(".part")
    kwargs = dict(input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "n"}}, opset_version=17)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:  # the TorchScript exporter needs no onnxscript; `dynamo` exists from torch 2.5
            torch.onnx.export(model, (x,), str(tmp), dynamo=False, **kwargs)
        except TypeError:
            torch.onnx.export(model, (x,), str(tmp), **kwargs)
    tmp.replace(path)
    return path


def _ort_session(path: Path, providers: list, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=providers)


def _row(model: str, provider: str, threads: int, batch: int, label: str, times_ms: list[float]) -> dict:
    s = summary_ms(times_ms)
    return {"model": model, "provider": provider, "threads": threads, "batch": batch, "batch_label": label,
            **s, "per_crop_ms": s["p50_ms"] / batch}


def classifier_bench(model_path: Path, jitter: int, devices: list[str], resnet: bool,
                     cache: Path, notes: list[str]) -> list[dict]:
    """Rows: our eye model and ResNet-18, batch 1 / one frame's crops / 64, 1 and all threads
    (threads only matter on the CPU), for each available device."""
    from ..runtime.classify import EyeClassifier, provider_list

    per_frame = 2 * (jitter + 1)
    batches = [(1, "1 crop"), (per_frame, f"1 frame ({per_frame} crops)"), (64, "64 crops")]
    cores = os.cpu_count() or 1
    rng = np.random.default_rng(0)
    rows = []
    for device in devices:
        thread_opts = [(1, 1), (0, cores)] if device == "cpu" else [(0, cores)]
        for threads, shown in thread_opts:
            try:
                clf = EyeClassifier(model_path, device=device, threads=threads)
            except DrowsyError as e:
                notes.append(f"eye model on {device}: {e}")
                break
            s = clf.spec.size
            for n, label in batches:
                x = rng.integers(0, 256, (n, 1, s, s), dtype=np.uint8)
                rows.append(_row("ours", clf.providers[0], shown, n, label, time_calls(lambda: clf.predict(x))))
    if not resnet:
        return rows
    try:
        path = resnet18_onnx(cache)
    except DrowsyError as e:
        notes.append(f"ResNet-18 skipped: {e}")
        return rows
    for device in devices:
        providers = provider_list(device, RESNET_SIZE, cache / "trt", "x", channels=3, opt_batch=per_frame,
                                   max_batch=64)
        thread_opts = [(1, 1), (0, cores)] if device == "cpu" else [(0, cores)]
        for threads, shown in thread_opts:
            try:
                sess = _ort_session(path, providers, threads)
            except Exception as e:  # onnxruntime raises its own types per provider
                notes.append(f"ResNet-18 on {device}: {first_line(e)}")
                break
            wanted = providers[0] if isinstance(providers[0], str) else providers[0][0]
            if sess.get_providers()[0] != wanted:  # fell back: these would be CPU numbers again
                notes.append(f"ResNet-18 on {device}: ONNX Runtime fell back to {sess.get_providers()[0]}")
                break
            for n, label in batches[:2]:  # 64 ResNet crops take seconds per call on a CPU
                x = rng.random((n, 3, RESNET_SIZE, RESNET_SIZE), dtype=np.float32)
                run = lambda: sess.run(None, {"x": x})  # noqa: E731
                rows.append(_row(f"ResNet-18 {RESNET_SIZE}", sess.get_providers()[0], shown, n, label,
                                 time_calls(run, min_s=1.0, max_calls=20, min_calls=3, warmup=1)))
    return rows
