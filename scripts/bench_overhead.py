"""How much does drowsy cost over the bare landmarker loop? (the speed targets of issues 4 and 12)

Times whole processes, set-up (imports, model loading) included, alternating over --reps
repetitions so neither side always runs on a warmer or busier machine; medians:
  (a) the reference loop: OpenCV decode + MediaPipe detect_for_video on every frame, with the
      landmarker settings drowsy run uses, nothing else (drowsy.evaluation.benchstats.reference_loop),
      run as `python scripts/bench_overhead.py --reference --video CLIP`;
  (b) `python -m drowsy run --video CLIP --headless --no-alarm` (and, with --serial, also
      `--no-parallel`: the stages one after another).
Target (issue 12): (b) <= (a) / 0.95 in wall time; the aim is (b) <= (a), since decoding and
the landmarker overlap in drowsy run. With --every N,... also (d) `drowsy run --landmarks-every N`
(landmarks on one frame in N, the eye stage on every frame); target (issue 20): N = 6 at least
2.5x as fast as (a), i.e. (a)/(d) >= 2.5. Without --video, a 640x480 clip is made from a GRID clip
of ../shared (scaled to fit, padded, looped to --frames) in a temp dir; it is never kept.

    python scripts/bench_overhead.py [--video CLIP] [--frames 300] [--reps 5] [--serial] [--every 2,6]
    python scripts/bench_overhead.py --make-clip /tmp/clip640.mp4 --frames 813   # for drowsy bench --video
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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


def frame_count(clip: Path) -> int:
    from drowsy.runtime.capture import VideoSource

    with VideoSource(clip) as source:
        return sum(1 for _ in source)


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child, all threads) of one process; exits on its failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"bench_overhead: {' '.join(cmd[:4])} ... failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def commands(clip: Path, landmarker: Path, frames: int, model: Path | None, serial: bool,
             every: tuple[int, ...] = ()) -> dict:
    run = [sys.executable, "-m", "drowsy", "run", "--video", str(clip), "--headless", "--no-alarm",
           "--landmarker", str(landmarker)] + (["--model", str(model)] if model else [])
    out = {"(a) reference loop": [sys.executable, str(Path(__file__).resolve()), "--reference", "--video", str(clip),
                                  "--landmarker", str(landmarker), "--frames", str(frames)],
           "(b) drowsy run --headless": run}
    if serial:
        out["(c) drowsy run --no-parallel"] = run + ["--no-parallel"]
    for n in every:
        out[f"(d) drowsy run --landmarks-every {n}"] = run + ["--landmarks-every", str(n)]
    return out


def main() -> int:
    from drowsy.evaluation.benchstats import cpu_model, reference_loop
    from drowsy.paths import resolve_landmarker, shared_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", type=Path, help="a 640x480 clip (default: made from a GRID clip)")
    p.add_argument("--source", type=Path, default=shared_dir() / "videos" / "grid" / "brbk7n.mpg",
                   help="clip to scale up when --video is not given")
    p.add_argument("--frames", type=int, default=300, help="frames of the made clip (300)")
    p.add_argument("--reps", type=int, default=5, help="alternating repetitions (5)")
    p.add_argument("--serial", action="store_true", help="also time drowsy run --no-parallel")
    p.add_argument("--every", default="", metavar="N,...", help="also time drowsy run --landmarks-every N")
    p.add_argument("--model", type=Path, help="eye model (default: the bundled one)")
    p.add_argument("--landmarker", type=Path, help="face landmarker .task (default: ../shared's, else the user cache)")
    p.add_argument("--make-clip", type=Path, metavar="PATH", help="only write the 640x480 clip to PATH")
    p.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)  # the child process of (a)
    args = p.parse_args()
    if args.make_clip:
        print(f"wrote {make_clip(args.source, args.make_clip, args.frames)}")
        return 0
    dev_copy = shared_dir() / "models" / "face_landmarker.task"
    landmarker = args.landmarker or (dev_copy if dev_copy.is_file() else resolve_landmarker(None, download=False))
    if args.reference:
        reference_loop(args.video, landmarker, 0, args.frames)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.video or make_clip(args.source, Path(tmp) / "clip640x480.mp4", args.frames)
        n = frame_count(clip)
        every = tuple(int(v) for v in args.every.split(",") if v.strip())
        cmds = commands(clip, landmarker, n, args.model, args.serial, every)
        times = {k: [] for k in cmds}
        for rep in range(args.reps):
            order = list(cmds) if rep % 2 == 0 else list(cmds)[::-1]
            for k in order:
                times[k].append(timed(cmds[k]))
            print(f"rep {rep + 1}: " + ";  ".join(f"{k[:3]} {times[k][-1][0]:.2f} s wall, {times[k][-1][1]:.2f} s CPU"
                                                  for k in cmds), file=sys.stderr, flush=True)
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    ref_wall, ref_cpu = med["(a) reference loop"]
    print(f"clip: {args.video or f'{args.source.name} scaled and padded to 640x480'}, {n} frames; "
          f"CPU: {cpu_model()} ({os.cpu_count()} logical cores, load average {os.getloadavg()[0]:.2f} at the end); "
          f"whole processes, {args.reps} alternating repetitions, medians")
    print("| process | wall s (median) | frames/s | CPU s, all threads (median) | wall ratio to (a) |")
    print("|---|---:|---:|---:|---:|")
    for k, (wall, cpu) in med.items():
        print(f"| {k} | {wall:.2f} | {n / wall:.1f} | {cpu:.2f} | {ref_wall / wall:.3f} |")
    ratio = ref_wall / med["(b) drowsy run --headless"][0]
    print(f"target: (a)/(b) >= 0.95 (aim >= 1.0): {ratio:.3f}, "
          f"{'met' if ratio >= 0.95 else 'NOT met'}{' (aim met)' if ratio >= 1.0 else ''}")
    key = "(d) drowsy run --landmarks-every 6"
    if key in med:
        r6 = ref_wall / med[key][0]
        print(f"target (issue 20): (a)/(d) >= 2.5 for --landmarks-every 6: {r6:.3f}, {'met' if r6 >= 2.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # run from a checkout without installing
    from drowsy.errors import DrowsyError

    try:
        sys.exit(main())
    except DrowsyError as e:
        sys.exit(f"bench_overhead: error: {e}")
