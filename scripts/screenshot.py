"""Render the overlay of `drowsy run` on chosen frames of a clip, side by side, to one PNG.

    python scripts/screenshot.py --video ../shared/videos/grid/brbk7n.mpg --frames 12,22 -o docs/overlay.png

Runs the real pipeline (bundled eye model, FaceLandmarker) over the clip from its start, with a
short PERCLOS window so the gauge has a value within a 3 s clip, and draws exactly what the
window of `drowsy run` shows.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np


def main() -> None:
    import cv2

    from drowsy.settings_io import add_run_arguments, resolve
    from drowsy.runtime.pipeline import Pipeline
    from drowsy.runtime.render import draw

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="12,22", help="0-based frame indices to show")
    ap.add_argument("-o", "--output", default="docs/overlay.png")
    ap.add_argument("--zoom", type=float, default=2.0)
    add_run_arguments(ap)
    args = ap.parse_args()
    if getattr(args, "window_s", None) is None:
        args.window_s = 2.0
    cfg = resolve(args)
    wanted = [int(v) for v in args.frames.split(",")]
    from drowsy.runtime.capture import VideoSource

    shots = {}
    pipeline = Pipeline.from_config(cfg)
    src = VideoSource(cfg.source.video)
    try:
        with pipeline.run(src) as loop:
            for result in (step.result for step in loop if step.result is not None):
                frame = result.frame
                if frame.index not in wanted:
                    continue
                # Enlarge the frame for the README and move the eye boxes with it.
                big = cv2.resize(frame.image, None, fx=args.zoom, fy=args.zoom, interpolation=cv2.INTER_CUBIC)
                crops = result.crops and replace(result.crops, corners=result.crops.corners * args.zoom)
                shown = replace(result, frame=replace(frame, image=big), crops=crops)
                shots[frame.index] = draw(big, shown, None, pipeline.threshold, cfg.temporal.perclos_alert)
    finally:
        src.close()
        pipeline.close()
    cv2.imwrite(args.output, np.hstack([shots[i] for i in wanted if i in shots]))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
