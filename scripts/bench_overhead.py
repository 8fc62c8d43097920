"""How much do our stages add to the face landmarker? (the speed target of issue 4)

Times, in this one process and alternating over several repetitions:
  (a) a loop that only decodes the clip and runs the same landmarker (drowsy.runtime.landmarks,
      as the pipeline configures it) on every frame, set-up included;
  (b) the whole `drowsy run --headless --video CLIP` (cli.main in-process), set-up included.
Targets: (b) <= (a) / 0.85, i.e. our stages add at most ~18 %; and >= 100 frames/s end to
end for (b) on a 640x480 clip. Without --video, a 640x480 clip is made from a GRID clip of
../shared (scaled to fit, padded, looped to --frames) in a temp dir.

    python scripts/bench_overhead.py [--video CLIP] [--frames 300] [--reps 5] [--model PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def make_clip(src: Path, dst: Path, frames: int, size=(640, 480)) -> Path:
    """src scaled to fit size (aspect kept), padded black, looped to `frames`, mp4v at src fps."""
    import cv2
    import numpy as np

    from drowsy.runtime.capture import VideoSource

    with VideoSource(src) as source:
        images = [frame.image for frame in source]
        fps = source.fps or 25.0
    if not images:
        raise SystemExit(f"cannot read {src}")
    w, h = size
    ih, iw = images[0].shape[:2]
    k = min(w / iw, h / ih)
    nw, nh = int(round(iw * k)), int(round(ih * k))
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    canvas = np.zeros((h, w, 3), np.uint8)
    for i in range(frames):
        # Play forwards then backwards: no jump cut at the loop point for the face tracker.
        j = i % (2 * len(images) - 2) if len(images) > 1 else 0
        j = j if j < len(images) else 2 * len(images) - 2 - j
        canvas[y0:y0 + nh, x0:x0 + nw] = cv2.resize(images[j], (nw, nh), interpolation=cv2.INTER_LINEAR)
        out.write(canvas)
    out.release()
    return dst


def landmarker_loop(clip: Path, landmarker: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, frames): decode + landmarker only, set-up included."""
    from drowsy.runtime.capture import VideoSource
    from drowsy.runtime.landmarks import Landmarker

    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    with VideoSource(clip) as source, Landmarker(landmarker, blendshapes=False) as lm:
        for frame in source:
            lm(frame)
            n += 1
    return time.perf_counter() - t0, time.process_time() - c0, n


def full_run(clip: Path, landmarker: Path, model: Path | None) -> tuple[float, float]:
    """(wall s, CPU s) of `drowsy run --headless --video CLIP` in this process."""
    from drowsy.cli import main

    argv = ["run", "--headless", "--video", str(clip), "--landmarker", str(landmarker)]
    if model:
        argv += ["--model", str(model)]
    err = io.StringIO()
    t0, c0 = time.perf_counter(), time.process_time()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    if code != 0:
        raise SystemExit(f"drowsy run failed ({code}): {err.getvalue().strip()}")
    return wall_s, cpu_s


def main() -> int:
    from drowsy.evaluation.benchstats import cpu_model
    from drowsy.paths import resolve_landmarker, shared_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", type=Path, help="a 640x480 clip (default: made from a GRID clip)")
    p.add_argument("--source", type=Path, default=shared_dir() / "videos" / "grid" / "brbk7n.mpg",
                   help="clip to scale up when --video is not given")
    p.add_argument("--frames", type=int, default=300, help="frames of the made clip (300)")
    p.add_argument("--reps", type=int, default=5, help="alternating repetitions of (a) and (b) (5)")
    p.add_argument("--model", type=Path, help="eye model (default: the bundled one)")
    p.add_argument("--landmarker", type=Path, help="face landmarker .task (default: ../shared's, else the user cache)")
    args = p.parse_args()
    dev_copy = shared_dir() / "models" / "face_landmarker.task"
    landmarker = args.landmarker or (dev_copy if dev_copy.is_file() else resolve_landmarker(None, download=False))
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.video or make_clip(args.source, Path(tmp) / "clip640x480.mp4", args.frames)
        a_s, b_s, n = [], [], 0  # (wall, CPU) pairs
        for rep in range(args.reps):
            # Alternate the order so neither side always runs on a warmer (or busier) machine.
            for which in ("ab" if rep % 2 == 0 else "ba"):
                if which == "a":
                    wall, cpu, n = landmarker_loop(clip, landmarker)
                    a_s.append((wall, cpu))
                else:
                    b_s.append(full_run(clip, landmarker, args.model))
            print(f"rep {rep + 1}: (a) {a_s[-1][0]:.2f} s wall, {a_s[-1][1]:.2f} s CPU;  "
                  f"(b) {b_s[-1][0]:.2f} s wall, {b_s[-1][1]:.2f} s CPU", file=sys.stderr, flush=True)
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    a, b, a_cpu, b_cpu = med(a_s, 0), med(b_s, 0), med(a_s, 1), med(b_s, 1)
    ratio, cpu_ratio = b / a, b_cpu / a_cpu
    print(f"clip: {args.video or f'{args.source.name} scaled and padded to 640x480, {n} frames'}; "
          f"CPU: {cpu_model()} ({os.cpu_count()} logical cores, load average {os.getloadavg()[0]:.2f} at the end); "
          f"{args.reps} alternating repetitions, medians")
    best_a, best_b = min(x[0] for x in a_s), min(x[0] for x in b_s)
    print("| path | wall s (median) | frames/s | wall s (best) | CPU s, all threads (median) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| (a) decode + landmarker | {a:.2f} | {n / a:.1f} | {best_a:.2f} | {a_cpu:.2f} |")
    print(f"| (b) drowsy run --headless | {b:.2f} | {n / b:.1f} | {best_b:.2f} | {b_cpu:.2f} |")
    print(f"| ratio (b)/(a) | {ratio:.3f} | | {best_b / best_a:.3f} | {cpu_ratio:.3f} |")
    print(f"target 1, (b)/(a) <= {1 / 0.85:.3f} (our stages add <= ~18 %): wall {100 * (ratio - 1):+.1f} % "
          f"{'met' if ratio <= 1 / 0.85 else 'NOT met'}, CPU {100 * (cpu_ratio - 1):+.1f} % "
          f"{'met' if cpu_ratio <= 1 / 0.85 else 'NOT met'}")
    print(f"target 2, >= 100 frames/s end to end: {n / b:.1f} frames/s (median; best {n / best_b:.1f}), "
          f"{'met' if n / b >= 100 else 'NOT met'}; the landmarker loop alone: {n / a:.1f} (best {n / best_a:.1f})")
    return 0


if __name__ == "__main__":
    from drowsy.errors import DrowsyError

    try:
        sys.exit(main())
    except DrowsyError as e:
        sys.exit(f"bench_overhead: error: {e}")
