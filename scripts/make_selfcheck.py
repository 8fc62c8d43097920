"""Regenerate assets/selfcheck_crops.npz: real eye crops the eye model is checked on at load time.

  PYTHONPATH=. python scripts/make_selfcheck.py            # from ../shared/videos/grid

Source: GRID audiovisual corpus (Cooke, Barker, Cunningham, Shao, JASA 2006; CC BY 4.0),
clip id2_vcd_swwp2s.mpg, with its frame labels (<clip>.eyestate.csv). Every labelled-closed
frame gives two closed crops (both eyes); as many open frames, spread over the clip and at
least 3 frames away from any blink, give the open crops. Crops are cut with drowsy's own
landmarker and cropper at a wider context than the default crop (CONTEXT_SIZE px at
CONTEXT_SCALE × the eye-corner distance, the default's pixel density), so a model with another
crop geometry gets its own crop as the centre part (drowsy.runtime.selfcheck).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from drowsy.paths import REPO_ROOT, shared_dir
from drowsy.runtime.capture import VideoSource
from drowsy.runtime.crop import CropSpec, crop_eyes
from drowsy.runtime.landmarks import Landmarker
from drowsy.runtime.selfcheck import CONTEXT_SCALE, CONTEXT_SIZE

CLIP = "id2_vcd_swwp2s.mpg"
MARGIN = 3  # open frames at least this far from a closed or partial frame


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(shared_dir() / "videos" / "grid" / CLIP))
    ap.add_argument("--landmarker", default=str(shared_dir() / "models" / "face_landmarker.task"))
    ap.add_argument("--out", default=str(REPO_ROOT / "assets" / "selfcheck_crops.npz"))
    args = ap.parse_args()
    clip = Path(args.clip)
    with open(str(clip) + ".eyestate.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    closed = [int(r["frame"]) for r in rows if r["closed"] == "1"]
    busy = {int(r["frame"]) for r in rows if r["closed"] == "1" or r["in_event"] == "1"
            or r["partial_ambiguous"] == "1"}
    calm = [int(r["frame"]) for r in rows
            if all(abs(int(r["frame"]) - b) > MARGIN for b in busy)]
    opened = [calm[i] for i in np.linspace(0, len(calm) - 1, len(closed)).round().astype(int)]
    wanted = {i: 1 for i in closed} | {i: 0 for i in opened}
    spec = CropSpec(size=CONTEXT_SIZE, scale=CONTEXT_SCALE)
    crops, labels, frames, eyes = [], [], [], []
    with Landmarker(args.landmarker, blendshapes=False) as lm, VideoSource(clip) as src:
        for frame in src:
            face = lm(frame)
            if frame.index not in wanted:
                continue
            if face is None:
                print(f"frame {frame.index}: no face, skipped", file=sys.stderr)
                continue
            c = crop_eyes(frame.image, face.landmarks, spec, jitter=0).crops[:, 0]
            for eye in range(2):
                crops.append(c[eye])
                labels.append(wanted[frame.index])
                frames.append(frame.index)
                eyes.append(eye)
    np.savez_compressed(args.out, crops=np.stack(crops), closed=np.array(labels, np.uint8),
                        frame=np.array(frames, np.int16), eye=np.array(eyes, np.uint8),
                        scale=np.float32(CONTEXT_SCALE), clip=np.array(CLIP))
    n = len(labels)
    print(f"wrote {args.out}: {n} crops ({sum(labels)} closed, {n - sum(labels)} open) of {CLIP}, "
          f"frames {sorted(set(frames))}, {Path(args.out).stat().st_size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
