"""What the eyeLook blendshapes cost: the face landmarker (VIDEO mode, as drowsy run uses it) with
and without blendshapes on the same frames, in alternating blocks so that both see the same load.

    python scripts/blendshape_cost.py [--video ../shared/videos/zju/000001M_FNN.mp4] [--rounds 6]

Prints the median ms per frame of each and their ratio. The driver state (runtime/gaze.py) needs
the blendshapes, so since issue 19 `drowsy run` always asks for them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from drowsy.paths import resolve_landmarker, shared_dir
from drowsy.runtime.capture import VideoSource
from drowsy.runtime.landmarks import Landmarker
from drowsy.types import Frame


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default=str(shared_dir() / "videos/zju/000001M_FNN.mp4"))
    p.add_argument("--rounds", type=int, default=6)
    args = p.parse_args()
    with VideoSource(args.video) as src:
        frames = [f.image for f in src]
    path = resolve_landmarker(None)
    ms = {False: [], True: []}
    with Landmarker(path, blendshapes=False) as plain, Landmarker(path, blendshapes=True) as full:
        clock = 0.0
        for r in range(args.rounds + 1):  # round 0 warms both up and is not counted
            for with_bs, lm in ((False, plain), (True, full)):
                for img in frames:
                    clock += 1 / 30
                    t0 = time.perf_counter()
                    lm(Frame(img, 0, clock))
                    if r:
                        ms[with_bs].append((time.perf_counter() - t0) * 1e3)
    a, b = np.median(ms[False]), np.median(ms[True])
    print(f"{len(frames)} frames x {args.rounds} rounds: landmarker {a:.2f} ms without blendshapes, "
          f"{b:.2f} ms with (+{b - a:.2f} ms, ratio {b / a:.3f})")


if __name__ == "__main__":
    main()
