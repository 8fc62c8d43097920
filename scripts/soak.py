"""Soak: loop a clip through the full per-frame path for tens of thousands of frames and watch
the process's memory. A monitor runs for hours; a leak of 1 KB per frame is 100 MB an hour at
30 FPS, so memory must stay flat once warmed up.

Per frame, what `drowsy run --headless` does: the same frame loop (Pipeline.run, stages in
threads: landmarker, then crop → classify → PERCLOS), the --out and --events JSON Lines (to
/dev/null), and the overlay drawn as for the window. Time runs on from loop to loop (t = i / fps), so the PERCLOS window keeps sliding.
RSS (VmRSS from /proc/self/status) is sampled every --every frames; after --warmup frames the
first sample is the baseline. Exit 1 when RSS grows more than --max-growth-mb over it, or its
least-squares slope exceeds --max-slope-mb per 10k frames.

    python scripts/soak.py --frames 30000 [--video CLIP] [--model PATH] [--json soak.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux), from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status (not Linux?)")


def read_clip(path: Path) -> tuple[list[np.ndarray], float]:
    from drowsy.runtime.capture import VideoSource

    with VideoSource(path) as src:
        frames = [f.image for f in src]
        return frames, src.fps or 25.0


def slope_per_10k(frames: list[int], values: list[float]) -> float:
    if len(frames) < 2:
        return 0.0
    return float(np.polyfit(np.asarray(frames, float), np.asarray(values, float), 1)[0] * 10_000)


def soak(pipeline, images: list[np.ndarray], fps: float, n_frames: int, every: int,
         sample=rss_mb, progress=None) -> list[tuple[int, float]]:
    """Run n_frames through `pipeline` (looping `images`), with the overlay and both logs as in
    drowsy run (logs to os.devnull); [(frames done, sample())] every `every` frames."""
    from drowsy.runtime.render import draw as draw_overlay
    from drowsy.runtime.sinks import EventLog, FrameLog
    from drowsy.types import Frame

    frames_log = FrameLog(os.devnull)
    events_log = EventLog(os.devnull)
    samples = [(0, sample())]
    frames = (Frame(images[i % len(images)], i, i / fps) for i in range(n_frames))
    try:
        with pipeline.run(frames) as loop:  # the frame loop of drowsy run, threads included
            for result in (step.result for step in loop if step.result is not None):
                frames_log.add(result)
                for ev in result.state.events:
                    events_log.add(ev)
                draw_overlay(result.frame.image, result, 25.0, pipeline.threshold, 0.15)
                done = result.frame.index + 1
                if done % every == 0:
                    samples.append((done, sample()))
                    if progress:
                        progress(samples[-1])
    finally:
        frames_log.close()
        events_log.close()
    return samples


def verdict(samples: list[tuple[int, float]], warmup: int, max_growth: float, max_slope: float) -> dict:
    after = [(n, v) for n, v in samples if n >= warmup]
    if len(after) < 2:
        raise SystemExit(f"soak: fewer than 2 samples after the {warmup}-frame warm-up; raise --frames")
    base = after[0][1]
    growth = max(v for _, v in after) - base
    slope = slope_per_10k([n for n, _ in after], [v for _, v in after])
    return {"start_mb": samples[0][1], "baseline_mb": base, "end_mb": samples[-1][1],
            "max_mb": max(v for _, v in samples), "growth_mb": growth, "slope_mb_per_10k": slope,
            "ok": growth <= max_growth and slope <= max_slope}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=30_000)
    p.add_argument("--video", help="clip to loop (default: a GRID clip from ../shared)")
    p.add_argument("--model", help="eye model (default: the bundled one)")
    p.add_argument("--landmarker", help="face landmarker .task (default: as drowsy run finds it)")
    p.add_argument("--every", type=int, default=500, help="frames between RSS samples")
    p.add_argument("--warmup", type=int, default=1000, help="frames before the baseline sample")
    p.add_argument("--max-growth-mb", type=float, default=25.0)
    p.add_argument("--max-slope-mb", type=float, default=5.0, help="per 10k frames")
    p.add_argument("--json", help="write the samples and the verdict here")
    args = p.parse_args(argv)
    if args.frames < args.warmup + 2 * args.every:
        p.error("--frames must cover the warm-up and at least two samples after it")

    from drowsy.settings import ModelConfig, OutputConfig, RunConfig
    from drowsy.errors import DrowsyError
    from drowsy.paths import shared_dir
    from drowsy.runtime.pipeline import Pipeline

    video = Path(args.video) if args.video else shared_dir() / "videos" / "grid" / "brbk7n.mpg"
    try:
        images, fps = read_clip(video)
        cfg = RunConfig(model=ModelConfig(model=args.model, landmarker=args.landmarker, threads=1),
                        output=OutputConfig(headless=True, alarm=False))
        pipeline = Pipeline.from_config(cfg)
    except DrowsyError as e:
        print(f"soak: error: {e}", file=sys.stderr)
        return 1
    print(f"soak: {args.frames} frames of {video.name} ({len(images)}-frame loop, {fps:g} FPS), "
          f"RSS every {args.every} frames", flush=True)
    t0 = time.monotonic()
    show = lambda s: print(f"  {s[0]:>7d} frames  RSS {s[1]:7.1f} MB  {s[0] / (time.monotonic() - t0):5.1f} fps",  # noqa: E731
                           flush=True)
    with pipeline:
        samples = soak(pipeline, images, fps, args.frames, args.every, progress=show)
    wall = time.monotonic() - t0
    v = verdict(samples, args.warmup, args.max_growth_mb, args.max_slope_mb)
    print(f"soak: {args.frames} frames in {wall:.0f} s ({args.frames / wall:.1f} fps); RSS MB start "
          f"{v['start_mb']:.1f}, after warm-up {v['baseline_mb']:.1f}, end {v['end_mb']:.1f}, max {v['max_mb']:.1f}; "
          f"growth {v['growth_mb']:+.1f} MB (bound {args.max_growth_mb:g}), slope {v['slope_mb_per_10k']:+.2f} MB "
          f"per 10k frames (bound {args.max_slope_mb:g}): {'OK' if v['ok'] else 'FAIL'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"video": str(video), "frames": args.frames, "wall_s": wall,
                                               "samples": samples, **v}, indent=1))
    return 0 if v["ok"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # run from a checkout without installing
    sys.exit(main())
