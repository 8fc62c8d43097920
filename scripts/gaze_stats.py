"""The driver's gaze facts (drowsy/runtime/gaze.py) on the labelled real clips: how often ordinary
open eyes and blinks would be called looking down or off the road, and the iris / eyeLookDown
figures the looking-down thresholds were chosen from (settings.py, docs/driver-state.md).

Per group of clips (ZJU by condition: FNN no glasses, FTN thin rims, FBN black frames, UNN looking
upward; GRID; dinoman) and label (open / closed; partial_ambiguous frames left out): frames, the
share called looking_down and off the road (any reason), and the 50th / 99th percentile and the
maximum of the iris's downward and sideways offset (eye widths) and of eyeLookDown.
The landmarker passes are eval-video's (recorded once, replayed after: --cache).

    python scripts/gaze_stats.py [--dir ../shared/videos] [--cache DIR]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from drowsy.evaluation.clips import find_pairs, read_labels
from drowsy.evaluation.passes import landmark_stage
from drowsy.paths import resolve_landmarker, shared_dir
from drowsy.runtime.capture import VideoSource
from drowsy.runtime.gaze import GazeReader
from drowsy.settings import TemporalConfig


def group_of(video: Path) -> str:
    return f"zju {video.stem[8:11]}" if video.parent.name == "zju" else video.parent.name


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default=None, help="labelled clips (default: ../shared/videos)")
    p.add_argument("--cache", default=None, help="eval-video's landmarker passes (default: the user cache)")
    args = p.parse_args()
    from drowsy.evaluation.eval_video import cache_folder

    root = Path(args.dir) if args.dir else shared_dir() / "videos"
    landmarker, cache, cfg = resolve_landmarker(None), cache_folder(args.cache), TemporalConfig()
    rows = defaultdict(list)  # (group, label) -> [(looking_down, off_road, iris_y, |iris_x|, eyeLookDown)]
    for video, labels_csv in find_pairs(root):
        labels = read_labels(labels_csv, video.name)
        label = {int(f): (bool(c), bool(a)) for f, c, a in zip(labels.frame, labels.closed, labels.ambiguous)}
        stage, save = landmark_stage(video, "clean", None, landmarker, cache)
        reader = GazeReader(cfg)
        with VideoSource(video) as source:
            for frame in source:
                att = reader(frame.t, stage(frame))
                closed, ambiguous = label.get(frame.index, (None, True))
                if ambiguous or att.gaze is None:
                    continue
                rows[(group_of(video), "closed" if closed else "open")].append(
                    (att.looking_down, att.on_road is False, att.gaze[1], abs(att.gaze[0]),
                     np.nan if att.look_down is None else att.look_down))
        save()
        stage.close()
    print("| group | label | frames | looking_down | off road | iris down p50 / p99 / max | "
          "iris sideways p50 / p99 / max | eyeLookDown p50 / p99 / max |")
    print("|---|---|---|---|---|---|---|---|")
    for (group, lab), r in sorted(rows.items()):
        a = np.array(r, dtype=float)
        q = [" / ".join(f"{v:.2f}" for v in (np.nanpercentile(a[:, j], 50), np.nanpercentile(a[:, j], 99),
                                               np.nanmax(a[:, j]))) for j in (2, 3, 4)]
        print(f"| {group} | {lab} | {len(a)} | {int(a[:, 0].sum())} | {int(a[:, 1].sum())} | " + " | ".join(q) + " |")


if __name__ == "__main__":
    main()
