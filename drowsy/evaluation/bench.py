"""`drowsy bench`: time every stage of the real pipeline, then the eye classifier alone.

Sources:
- `--synthetic` (the default when no source is given, so the command runs anywhere: no file,
  no camera, no display): a drawn face that sways and blinks (synthetic.py), 640×480 unless
  `--size`. Every stage runs on every frame, as with a person in view; "decode" is the cost of
  handing out a frame (one frame-sized copy), less than decoding a real video.
- `--video PATH`: a file, decoded as fast as possible and replayed from the start as often as
  `--warmup + --frames` needs (re-opening counts as decode time of that frame).
- `--camera N`: a live camera; "capture" is then the wait for the camera's next frame, so the
  end-to-end rate cannot exceed the camera's own.
Frames go through the same frame loop as `drowsy run` (runtime/loop.py: decode, landmarks and
the rest overlap in threads; `--serial` runs them one after another). Stage times are the time
each frame spent in each stage, after `--warmup` frames; "latency" is from a frame's capture (the
end of its decoding, or its arrival from the camera) to its result, queue waits included.
End-to-end FPS = measured frames / wall time from the last warm-up result to the last result.
With `--video`, the reference loop runs in the same process right before and after: OpenCV
decode + MediaPipe `detect_for_video` with the same landmarker settings, nothing else, one
after another (benchstats.reference_loop); "ratio" = our FPS / its FPS (mean of both runs),
so above 1 drowsy is faster than that bare loop. With `--faces N` (N > 1) the reference asks
MediaPipe for N faces, which runs its detector on every frame with fewer faces in view, while
drowsy tracks one face and looks for all N once a second (runtime/landmarks.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..errors import DrowsyError, UsageError
from ..settings import DEVICES
from ..settings_check import problem

STAGES = ("decode", "landmarks", "crop", "classify", "temporal", "total", "latency")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Without a source it times --synthetic: a drawn, blinking face, so it runs with no file, "
                "camera or display, and every stage runs on every frame. Stage times are per frame after "
                "the warm-up; a markdown table goes to stdout.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--video", metavar="PATH", help="time on a video file (replayed as needed)")
    src.add_argument("--camera", type=int, metavar="N", help="time on a live camera")
    src.add_argument("--synthetic", action="store_true", help="time on a generated face (the default)")
    p.add_argument("--size", default="640x480", metavar="WxH", help="frame size of --synthetic (640x480)")
    p.add_argument("--frames", type=int, default=300, metavar="N", help="frames measured (300)")
    p.add_argument("--warmup", type=int, default=30, metavar="N", help="frames run first, not measured (30)")
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="where the eye model runs in the pipeline (auto)")
    p.add_argument("--jitter", type=int, default=8, metavar="J", help="jittered crops per eye (8)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="onnxruntime threads in the pipeline, 0 = all (1)")
    p.add_argument("--model", metavar="PATH", help="eye model .onnx (default: the bundled one)")
    p.add_argument("--landmarker", metavar="PATH", help="face landmarker .task file")
    p.add_argument("--faces", type=int, default=1, metavar="N",
                   help="as drowsy run --faces; the reference loop asks MediaPipe for N faces (1)")
    p.add_argument("--serial", action="store_true", help="stages one after another instead of overlapping")
    p.add_argument("--micro", choices=("all", "ours", "none"), default="all",
                   help="classifier micro-benchmark: ours and ResNet-18 (all), ours only, or none")
    p.add_argument("--landmarks-every", default="1", metavar="N,...",
                   help="also time these --landmarks-every values (e.g. 1,2,4,6,auto): eye-state FPS and "
                   "landmark FPS of each, a table of its own (1)")
    p.add_argument("--json", metavar="FILE", help="write the numbers as JSON")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 640x480, got {text!r}") from None
    if not (32 <= w <= 8192 and 32 <= h <= 8192):
        raise UsageError(f"--size must be between 32x32 and 8192x8192, got {text!r}")
    return w, h


def _looped_video(path: str, n: int):
    """n frames of a file, replayed from the start as needed, with t and index running on."""
    from ..runtime.capture import VideoSource

    produced, offset = 0, 0.0
    while produced < n:
        with VideoSource(path) as source:
            step, last_t = 1.0 / (source.fps or 25.0), None
            for frame in source:
                yield replace(frame, index=produced, t=frame.t + offset)
                produced, last_t = produced + 1, frame.t
                if produced >= n:
                    return
        if last_t is None:  # opens but decodes nothing: it would loop forever
            raise DrowsyError(f"{path}: no frame decoded")
        offset += last_t + step


def _source(args, n: int):
    """(a source or an iterable of frames, description, closer)."""
    if args.video:
        if not Path(args.video).is_file():
            raise DrowsyError(f"video not found: {args.video}")
        return _looped_video(args.video, n), f"video {args.video}", lambda: None
    if args.camera is not None:
        from ..runtime.live import LiveSource

        source = LiveSource(args.camera)
        return source, f"camera {args.camera}", source.close
    from .synthetic import synthetic_frames

    w, h = _size(args.size)
    return synthetic_frames(n, w, h), "synthetic face", lambda: None


def measure(pipeline, frames, warmup: int, n: int, parallel: bool = True) -> dict:
    """Run warmup + n frames through the frame loop; per-stage times of the n measured ones,
    end-to-end FPS and the live frames dropped."""
    from .benchrates import landmark_passes as _passes

    times = {k: [] for k in STAGES}
    faces, seen, size, passes0, cpu0 = 0, 0, None, 0, time.process_time()
    wall0 = time.perf_counter()
    with pipeline.run(frames, parallel=parallel) as loop:
        for step in loop:
            r = step.result
            if r is None:
                continue
            seen += 1
            if seen <= warmup:
                wall0, cpu0 = time.perf_counter(), time.process_time()
                passes0 = _passes(loop, seen)
                continue
            size = (int(r.frame.image.shape[1]), int(r.frame.image.shape[0]))
            t = r.timings_ms
            times["decode"].append(t.get("decode", t.get("capture")))
            for k in STAGES[1:]:
                times[k].append(t[k])
            if "motion" in t:  # --landmarks-every N > 1 or auto: the optical flow
                times.setdefault("motion", []).append(t["motion"])
            faces += r.face is not None
            if seen >= warmup + n:
                break
        dropped = loop.dropped + getattr(loop.source, "dropped", 0)
        passes = _passes(loop, seen) - passes0
    measured = len(times["total"])
    if measured == 0:
        raise DrowsyError(f"the source ended within the {warmup} warm-up frames: nothing measured")
    wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"cpu_ms_per_frame": cpu_s * 1e3 / measured, "times": times, "frames": measured, "faces": faces, "wall_s": wall_s,
            "fps": measured / wall_s, "size": size, "dropped": dropped,
            "landmark_passes": passes, "landmark_fps": passes / wall_s}



def _load() -> float | None:
    """The 1-minute load average: other jobs on the machine slow every stage down."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):  # not on Windows
        return None


def _check(args) -> None:
    if args.frames < 1 or args.warmup < 0:
        raise UsageError("--frames must be >= 1 and --warmup >= 0")
    for name in ("jitter", "faces"):
        why = problem(name, getattr(args, name))
        if why:
            raise UsageError(f"--{name} {why}, got {getattr(args, name)}")
    from .benchrates import parse_every

    parse_every(args.landmarks_every)
    if not 0 <= args.threads <= 256:  # more can exhaust the machine (and hang at exit)
        raise UsageError(f"--threads must be 0..256, got {args.threads}")


def _pipeline_and_reference(args, cfg) -> tuple[dict, object, dict | None]:
    """(our measurement, the classifier, the reference loop's or None): with --video, the
    reference loop runs right before and right after ours, so both see the same machine."""
    from .benchstats import reference_loop
    from ..paths import resolve_landmarker
    from ..runtime.pipeline import Pipeline

    ref_runs = []

    def reference():
        print(f"timing the reference loop on {args.warmup} + {args.frames} frames ...", file=sys.stderr, flush=True)
        ref_runs.append(reference_loop(args.video, resolve_landmarker(args.landmarker), args.warmup,
                                       args.frames, num_faces=args.faces))

    frames, described, close = _source(args, args.warmup + args.frames)  # checks the file first
    if args.video:
        reference()
    try:
        with Pipeline.from_config(cfg) as pipeline:
            print(f"timing {args.warmup} + {args.frames} frames of the {described} ...", file=sys.stderr, flush=True)
            m = measure(pipeline, frames, args.warmup, args.frames, parallel=not args.serial)
            m["source"] = described
            classifier = pipeline.classifier
    finally:
        close()
    if not args.video:
        return m, classifier, None
    reference()
    fps = [r["fps"] for r in ref_runs]
    return m, classifier, {"fps": sum(fps) / len(fps), "runs": ref_runs,
                           "what": "OpenCV decode + MediaPipe detect_for_video, same landmarker settings"}


def main(args: argparse.Namespace) -> int:
    from .benchstats import classifier_bench, cpu_model, gpu_name, summary_ms, versions
    from .benchtable import every_table, markdown
    from ..settings import ModelConfig, RunConfig
    from ..paths import cache_dir
    from ..runtime.classify import PROVIDERS

    _check(args)
    from ..outputs import Output, check
    from ..paths import default_eye_model, find_landmarker

    check([Output("--json", args.json)], {"--video": args.video, "--model": args.model or default_eye_model(),
                                         "--landmarker": find_landmarker(args.landmarker)[0]})
    load_before = _load()
    cfg = RunConfig(model=ModelConfig(model=args.model, landmarker=args.landmarker, device=args.device,
                                      jitter=args.jitter, threads=args.threads, faces=args.faces))
    m, classifier, ref = _pipeline_and_reference(args, cfg)
    import onnxruntime as ort

    available = ort.get_available_providers()
    devices = ["cpu"] + [d for d in ("cuda", "tensorrt") if PROVIDERS[d][0] in available]
    notes = []
    if m["faces"] < m["frames"]:
        notes.append(f"no face in {m['frames'] - m['faces']} of {m['frames']} frames: crop and classify "
                     "did not run on those, so their stage times cover fewer frames")
    rows = []
    if args.micro != "none":
        print("timing the classifier alone ...", file=sys.stderr, flush=True)
        rows = classifier_bench(classifier.path, args.jitter, devices, args.micro == "all",
                                cache_dir() / "bench", notes)
    doc = {"fps": m["fps"], "frames": m["frames"], "warmup": args.warmup, "wall_s": m["wall_s"],
           "face_frames": m["faces"], "source": m["source"], "frame_size": list(m["size"]), "jitter": args.jitter,
           "faces": args.faces, "parallel": not args.serial, "dropped": m["dropped"],
           "stages": {k: summary_ms(v) for k, v in m["times"].items()},
           "reference": ref, "ratio": None if ref is None else m["fps"] / ref["fps"],
           "cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_1min": [load_before, _load()],
           "gpu": gpu_name(), "device": args.device,
           "providers": classifier.providers, "available_providers": available, "versions": versions(),
           "eye_model": str(classifier.path), "classifier": rows, "notes": notes}
    if args.landmarks_every != "1":
        from .benchrates import every_rows

        doc["landmarks_every"] = every_rows(args, cfg, _source, measure)
    print(markdown(doc))
    if doc.get("landmarks_every"):
        print("\n" + every_table(doc["landmarks_every"]))
    if args.json:
        from ..outputs import write_text

        write_text(args.json, json.dumps(doc, indent=1), "--json")
    return 0
