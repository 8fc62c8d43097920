"""Which motion estimate moves the landmarks between landmark passes best, and at what cost? (issue 20)

For each labelled clip (and condition: clean, and the synthetic sway of evaluation/degrade.py),
the real landmarker runs on every frame. From every 6th frame k, each method moves frame k's
landmarks frame by frame (chained, as --landmarks-every 6 does) to frames k+1 .. k+5, and the
moved eye corners are compared with the landmarker's own on those frames (what N = 1 would
crop from). Reported: median / p90 / max of the largest eye-corner error in px and in eye
widths, misses (method gave up: an early pass), and ms per estimate (one run, the methods
interleaved, so their ratio is fair on a shared machine).

Methods:
- lk: runtime/track.py's: Lucas-Kanade flow of 17 head-rigid points (11x11 window),
  forward-backward checked, one similarity (rotation, scale, shift) for all landmarks;
- lk-w15: the same with a 15x15 window; lk-10pts: only 10 of the points (eye corners, outer
  eye, inner brows, nose bridge);
- phase: phase correlation (cv2.phaseCorrelate, Hanning window) of a square around each eye
  (2 eye widths), each eye's landmarks shifted by its own shift (no roll);
- none: the landmarks left where they were (what the eye stage would use without motion).

    python scripts/measure_motion.py --dir ../shared/videos \
        --persons 000001,000007,grid:brbk7n,grid:lwbsza,dinoman:example
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from time import perf_counter

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EVERY = 6


def phase(prev_gray, gray, lm):
    """Each eye's shift by phase correlation of a square around it; None when unsure."""
    import cv2

    from drowsy.runtime.crop import EYE_CORNERS

    out = lm.astype(np.float64).copy()
    h, w = gray.shape
    shifts = []
    for a, b in EYE_CORNERS:
        c = (lm[a] + lm[b]) / 2
        half = int(max(8, np.linalg.norm(lm[a] - lm[b])))
        x0, y0 = int(c[0]) - half, int(c[1]) - half
        if x0 < 0 or y0 < 0 or x0 + 2 * half > w or y0 + 2 * half > h:
            return None
        p = prev_gray[y0:y0 + 2 * half, x0:x0 + 2 * half].astype(np.float32)
        q = gray[y0:y0 + 2 * half, x0:x0 + 2 * half].astype(np.float32)
        (dx, dy), response = cv2.phaseCorrelate(p, q, cv2.createHanningWindow(p.shape[::-1], cv2.CV_32F))
        if response < 0.1:
            return None
        shifts.append((dx, dy))
    idx = [np.array(EYE_CORNERS[0]), np.array(EYE_CORNERS[1])]
    out += np.mean(shifts, axis=0)  # the rest of the face: the mean shift
    for e in range(2):
        out[idx[e]] = lm[idx[e]] + shifts[e]
    return out.astype(np.float32)


def lk(prev_gray, gray, lm):
    from drowsy.runtime.track import ANCHORS, flow_motion

    m = flow_motion(prev_gray, gray, lm[list(ANCHORS)])
    if m is None:
        return None
    return (lm.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def lk_w15(prev_gray, gray, lm):
    from drowsy.runtime.track import ANCHORS, flow_motion

    m = flow_motion(prev_gray, gray, lm[list(ANCHORS)], win=(15, 15))
    return None if m is None else (lm.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def lk_10pts(prev_gray, gray, lm):
    from drowsy.runtime.track import flow_motion

    m = flow_motion(prev_gray, gray, lm[[33, 133, 362, 263, 130, 359, 107, 336, 168, 6]])
    return None if m is None else (lm.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def none(prev_gray, gray, lm):
    return lm


METHODS = {"lk": lk, "lk-w15": lk_w15, "lk-10pts": lk_10pts, "phase": phase, "none": none}


def clip_landmarks(video: Path, condition: str, landmarker: Path):
    from drowsy.evaluation.degrade import degrade_frame
    from drowsy.runtime.capture import VideoSource
    from drowsy.runtime.landmarks import Landmarker
    from drowsy.runtime.crop import as_gray

    grays, lms = [], []
    with Landmarker(landmarker) as lmk, VideoSource(video) as source:
        for frame in source:
            frame = degrade_frame(frame, condition)
            face = lmk(frame)
            grays.append(as_gray(frame.image))  # both methods get gray frames
            lms.append(None if face is None else face.landmarks)
    return grays, lms


def measure(grays, lms, stats):
    from drowsy.runtime.crop import EYE_CORNERS

    corners = [i for pair in EYE_CORNERS for i in pair]
    for k in range(0, len(grays) - EVERY, EVERY):
        if any(lms[i] is None for i in range(k, k + EVERY)):
            continue
        width = float(np.mean([np.linalg.norm(lms[k][a] - lms[k][b]) for a, b in EYE_CORNERS]))
        for name, fn in METHODS.items():
            cur = lms[k]
            for j in range(1, EVERY):
                t0 = perf_counter()
                nxt = fn(grays[k + j - 1], grays[k + j], cur)
                stats[name]["ms"].append((perf_counter() - t0) * 1e3)
                if nxt is None:  # the method gives up: an early landmark pass
                    stats[name]["misses"] += 1
                    cur = lms[k + j]
                    continue
                cur = nxt
                err = float(np.max(np.linalg.norm(cur[corners] - lms[k + j][corners], axis=1)))
                stats[name]["px"].append(err)
                stats[name]["widths"].append(err / width)


def main() -> int:
    from drowsy.evaluation.clips import clip_info, find_pairs
    from drowsy.paths import resolve_landmarker

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--persons", help="comma-separated persons (as eval-video --persons)")
    p.add_argument("--conditions", default="clean,sway")
    p.add_argument("--landmarker", type=Path)
    args = p.parse_args()
    pairs = find_pairs(args.dir)
    if args.persons:
        wanted = set(args.persons.split(","))
        pairs = [(v, lab) for v, lab in pairs if clip_info(v).person in wanted]
    landmarker = resolve_landmarker(args.landmarker)
    print(f"{len(pairs)} clips; landmarks of frame k moved to k+1..k+{EVERY - 1}, k every {EVERY}th frame; "
          "error = largest eye-corner distance to the landmarker's own on that frame")
    print("| condition | method | moves | misses | median px | p90 px | max px | median eye widths | "
          "p90 eye widths | ms / move (mean) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for cond in args.conditions.split(","):
        stats = {m: {"px": [], "widths": [], "ms": [], "misses": 0} for m in METHODS}
        for video, _ in pairs:
            print(f"  {cond} {video.name}", file=sys.stderr, flush=True)
            measure(*clip_landmarks(video, cond, landmarker), stats)
        for name, s in stats.items():
            px, wd = np.array(s["px"]), np.array(s["widths"])
            print(f"| {cond} | {name} | {len(s['ms'])} | {s['misses']} | {np.median(px):.2f} | "
                  f"{np.percentile(px, 90):.2f} | {px.max():.2f} | {np.median(wd):.3f} | {np.percentile(wd, 90):.3f} | "
                  f"{np.mean(s['ms']):.3f} |")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
