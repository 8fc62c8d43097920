"""`drowsy bench --landmarks-every 1,2,4,6,auto`: eye-state FPS and landmark FPS of each value.

Each value gets a fresh pipeline and source (the landmarker's VIDEO-mode clock starts again)
and the same warm-up and measured frames as the main table. Eye-state FPS: results (eye crops
and scores, one per frame) per second of wall time; landmark FPS: landmarker passes per second
over the same span; CPU ms / frame: the process's CPU time (every thread) over the same span per
frame, which other jobs on a shared machine disturb far less than the wall-clock rates. On a file they run as fast as the box goes; for a small box, run the
whole command under `taskset -c 0` (one core), as docs/speed.md does.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from ..errors import UsageError
from ..settings_check import problem


def parse_every(text: str) -> list[str]:
    values = [v.strip().lower() for v in str(text).split(",") if v.strip()]
    bad = [v for v in values if problem("landmarks_every", v)]
    if bad or not values:
        raise UsageError(f"--landmarks-every takes comma-separated values from 1 to 30 or auto, got {text!r}")
    return values


def landmark_passes(loop, seen: int) -> int:
    """Landmarker passes so far: one per frame, or the tracker's count (--landmarks-every)."""
    return seen if loop.tracker is None else loop.tracker.passes


def every_rows(args, cfg, source, measure) -> list[dict]:
    """One measurement per --landmarks-every value: its FPS figures and median stage times."""
    from .benchstats import summary_ms
    from ..runtime.pipeline import Pipeline

    rows = []
    for every in parse_every(args.landmarks_every):
        frames, described, close = source(args, args.warmup + args.frames)
        try:
            with Pipeline.from_config(replace(cfg, model=replace(cfg.model, landmarks_every=every))) as pipeline:
                print(f"timing --landmarks-every {every} on {args.warmup} + {args.frames} frames ...",
                      file=sys.stderr, flush=True)
                m = measure(pipeline, frames, args.warmup, args.frames, parallel=not args.serial)
        finally:
            close()
        stages = {k: summary_ms(v)["mean_ms"] for k, v in m["times"].items()}
        rows.append({"every": every, "eye_fps": m["fps"], "landmark_fps": m["landmark_fps"],
                     "landmark_passes": m["landmark_passes"], "frames": m["frames"], "faces": m["faces"],
                     "cpu_ms_per_frame": m["cpu_ms_per_frame"],
                     "mean_ms": stages, "cores": _cores()})
    return rows


def _cores() -> int | None:
    import os

    try:
        return len(os.sched_getaffinity(0))  # what taskset allows, not the machine's count
    except AttributeError:
        return os.cpu_count()
