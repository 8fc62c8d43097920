"""Regenerate assets/demo.mp4, the clip `drowsy demo` runs: a real GRID face with a synthetic hold.

  PYTHONPATH=. python scripts/make_demo_clip.py           # from ../shared/videos/grid

Source: GRID audiovisual corpus (Cooke, Barker, Cunningham, Shao, JASA 2006; CC BY 4.0), clip
id2_vcd_swwp2s.mpg (the self-check crops' clip), 360 x 288, 25 fps, 75 frames, with its frame
labels (<clip>.eyestate.csv). The clip's blinks stay as they are. No real clip holds a long
closure, so the demo's microsleep is made: the middle frame of the longest labelled-closed run
is repeated for HOLD_S seconds right after itself (a synthetic hold; assets/DEMO.md says so).
Everything else is the decoded clip, frame for frame, re-encoded as MPEG-4 Part 2 (OpenCV's
"mp4v", in the wheel: no codec beyond what opencv-contrib-python brings).
Deterministic: the same input and OpenCV build give the same bytes (the script prints the
sha256; assets/DEMO.md names the shipped file's).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

from drowsy.paths import REPO_ROOT, shared_dir
from drowsy.runtime.capture import VideoSource, quiet_opencv

CLIP = "id2_vcd_swwp2s.mpg"
HOLD_S = 2.5  # microsleep alert at 1.5 s closed (settings.py): the hold shows it with a margin


def longest_closed_run(labels_csv: Path) -> list[int]:
    with open(labels_csv, newline="") as f:
        closed = [int(r["frame"]) for r in csv.DictReader(f) if r["closed"] == "1"]
    runs: list[list[int]] = []
    for i in closed:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return max(runs, key=len)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(shared_dir() / "videos" / "grid" / CLIP))
    ap.add_argument("--out", default=str(REPO_ROOT / "assets" / "demo.mp4"))
    args = ap.parse_args()
    clip, out = Path(args.clip), Path(args.out)
    run = longest_closed_run(Path(str(clip) + ".eyestate.csv"))
    hold_frame = run[len(run) // 2]
    with VideoSource(clip) as src:
        frames = [f.image for f in src]
        fps = src.fps or 25.0
    n_hold = round(HOLD_S * fps)
    sequence = frames[:hold_frame + 1] + [frames[hold_frame]] * n_hold + frames[hold_frame + 1:]
    cv2 = quiet_opencv()
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        print(f"cannot write {out} with OpenCV's mp4v encoder", file=sys.stderr)
        return 1
    for image in sequence:
        writer.write(image)
    writer.release()
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"wrote {out}: {len(sequence)} frames ({len(sequence) / fps:.2f} s at {fps:g} fps), {w}x{h}; "
          f"labelled closed run {run[0]}-{run[-1]}, frame {hold_frame} held {n_hold} frames "
          f"({n_hold / fps:.2f} s) after itself; {out.stat().st_size / 1024:.0f} KiB, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
