"""The driver's gaze facts (drowsy/runtime/gaze.py) on the labelled real clips: how often ordinary
open eyes and blinks would be called looking down or off the road, and the iris / eyeLookDown
figures the looking-down thresholds were chosen from (settings.py, docs/driver-state.md).

Table 1, the clean pass, per group of clips (ZJU by condition: FNN no glasses, FTN thin rims, FBN
black frames, UNN looking upward; GRID; dinoman) and label (open / closed; partial_ambiguous frames
left out): frames, the share called looking_down and off the road (any reason), and the 50th / 99th
percentile and the maximum of the iris's downward and sideways offset (eye widths) and of eyeLookDown.

Table 2, per group, over every pass set eval-video records (clean, dark, lowres, blurgray; clean at
15 and 6 FPS) and EVERY frame with a face (open, closed and ambiguous alike: a runtime rule sees them
all): the paired sideways look, both eyes turned the same way (MediaPipe names the subject's eyes: a
look to the image right is eyeLookOutLeft AND eyeLookInRight), the weaker of the pair, the larger of
the two directions; "with iris": the same, 0 unless the iris offset points the same way. 99.9th
percentile and maximum, the largest single eyeLookIn/Out blendshape for comparison, where the
maximum is (with that frame's sideways iris offset), and the longest stretch of frames with a paired
look of at least 0.6 (first to last such frame). The landmarker passes are eval-video's (recorded
once, replayed after: --cache).

--scenarios DIR (clips made by `drowsy eval-video --scenarios DIR`, SYNTHETIC): the same measures
on each clip's frames while its first move is held (after its ramp), from a fresh landmarker pass.

    python scripts/gaze_stats.py [--dir ../shared/videos] [--cache DIR] [--scenarios DIR]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from drowsy.evaluation.clips import find_pairs, read_labels
from drowsy.evaluation.degrade import degrade_frame
from drowsy.evaluation.eval_video import pass_sets
from drowsy.evaluation.passes import decimate, landmark_stage
from drowsy.paths import resolve_landmarker, shared_dir
from drowsy.runtime.capture import VideoSource
from drowsy.runtime.gaze import GazeReader
from drowsy.settings import TemporalConfig

HIGH = 0.6  # a paired look this high: how long do real frames stay there?
LOOKS = ("eyeLookOutLeft", "eyeLookInRight", "eyeLookOutRight", "eyeLookInLeft")


def paired_look(b) -> float:
    """Signed: > 0 both eyes turned to the image right (the subject's left), < 0 to the image left;
    the weaker eye of the pair, so one eye alone (or both turned inwards) reads low."""
    if not all(k in b for k in LOOKS):
        return np.nan
    right, left = min(b["eyeLookOutLeft"], b["eyeLookInRight"]), min(b["eyeLookOutRight"], b["eyeLookInLeft"])
    return right if right >= left else -left


def group_of(video: Path) -> str:
    return f"zju {video.stem[8:11]}" if video.parent.name == "zju" else video.parent.name


def q3(a: np.ndarray, qs=(50, 99)) -> str:
    return " / ".join(f"{v:.2f}" for v in [*np.nanpercentile(a, qs), np.nanmax(a)])


def looks_of(face, gaze) -> tuple[float, float, float]:
    """(|paired look|, the same when the iris points the same way else 0, largest single eyeLook)."""
    pl = paired_look(face.blendshapes)
    agree = abs(pl) if np.sign(pl) == np.sign(gaze[0]) else 0.0
    return abs(pl), agree, max((face.blendshapes.get(k, np.nan) for k in LOOKS), default=np.nan)


def scenario_looks(folder: Path, landmarker: Path) -> None:
    """The paired look on synthetic scenario clips, while the first move is held."""
    import json

    from drowsy.runtime.gaze import iris_offset
    from drowsy.runtime.landmarks import Landmarker

    print("\n| SYNTHETIC scenario | iris commanded | frames held | paired look min / median / max | "
          "with iris median | iris sideways read (median) | largest single median |")
    print("|---|---|---|---|---|---|---|")
    for meta in sorted(folder.glob("*.scenario.json")):
        sc = json.loads(meta.read_text())["scenario"]
        if not sc["moves"]:
            continue
        mv, stage, held = sc["moves"][0], Landmarker(landmarker), []
        with VideoSource(meta.with_name(meta.name.replace(".scenario.json", ".avi"))) as source:
            for frame in source:
                face = stage(frame)
                if face is not None and mv["start_s"] + mv["ramp_s"] <= frame.t <= mv["end_s"] - mv["ramp_s"]:
                    gaze = iris_offset(face.landmarks)
                    if gaze is not None:
                        held.append((*looks_of(face, gaze), gaze[0]))
        stage.close()
        a = np.array(held, dtype=float).reshape(-1, 4)
        print(f"| {sc['name']} | {mv['iris']} | {len(a)} | " + (
            f"{np.min(a[:, 0]):.2f} / {np.median(a[:, 0]):.2f} / {np.max(a[:, 0]):.2f} | {np.median(a[:, 1]):.2f} | "
            f"{np.median(a[:, 3]):+.2f} | {np.median(a[:, 2]):.2f} |" if len(a) else "- | - | - | - |"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default=None, help="labelled clips (default: ../shared/videos)")
    p.add_argument("--cache", default=None, help="eval-video's landmarker passes (default: the user cache)")
    p.add_argument("--scenarios", default=None, help="also measure the synthetic scenario clips in this folder")
    args = p.parse_args()
    from drowsy.evaluation.eval_video import cache_folder

    root = Path(args.dir) if args.dir else shared_dir() / "videos"
    landmarker, cache, cfg = resolve_landmarker(None), cache_folder(args.cache), TemporalConfig()
    rows = defaultdict(list)  # (group, label) -> [(looking_down, off_road, iris_y, |iris_x|, eyeLookDown)]
    looks = defaultdict(list)  # group -> [(paired, paired with iris, largest single)]
    where = {}  # group -> (paired, pass set, clip, t, iris x) of its largest paired look
    longest = defaultdict(float)  # group -> longest stretch (s) of a paired look >= HIGH
    for name, condition, fps, _ in pass_sets("clean,dark,lowres,blurgray", "15,6"):
        for video, labels_csv in find_pairs(root):
            labels = read_labels(labels_csv, video.name)
            label = {int(f): (bool(c), bool(a)) for f, c, a in zip(labels.frame, labels.closed, labels.ambiguous)}
            stage, save = landmark_stage(video, condition, fps, landmarker, cache)
            reader, since = GazeReader(cfg), None  # since: first frame of the current stretch >= HIGH
            with VideoSource(video) as source:
                for frame in (degrade_frame(f, condition) for f in decimate(source, fps)):
                    face = stage(frame)
                    att = reader(frame.t, face)
                    g, pl = group_of(video), np.nan
                    if att.gaze is not None:
                        looks[g].append(looks_of(face, att.gaze))
                        pl = looks[g][-1][0]
                        if pl > where.get(g, (-1,))[0]:
                            where[g] = (pl, name, video.name, frame.t, att.gaze[0])
                    since = (since if since is not None else frame.t) if pl >= HIGH else None
                    if since is not None:
                        longest[g] = max(longest[g], frame.t - since)
                    closed, ambiguous = label.get(frame.index, (None, True))
                    if name != "clean" or ambiguous or att.gaze is None:
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
        q = [q3(a[:, j]) for j in (2, 3, 4)]
        print(f"| {group} | {lab} | {len(a)} | {int(a[:, 0].sum())} | {int(a[:, 1].sum())} | " + " | ".join(q) + " |")
    print("\n| group | frames (all pass sets) | paired look p99.9 / max | paired with iris p99.9 / max | "
          f"largest single eyeLookIn/Out max | the maximum at (iris sideways) | longest >= {HIGH} |")
    print("|---|---|---|---|---|---|---|")
    for group, r in [*sorted(looks.items()), ("all", [x for r in looks.values() for x in r])]:
        a = np.array(r, dtype=float)
        at = max(where.values()) if group == "all" else where[group]
        print(f"| {group} | {len(a)} | " + " | ".join(q3(a[:, j], (99.9,)) for j in (0, 1))
              + f" | {np.nanmax(a[:, 2]):.2f} | {at[2]} {at[1]} t={at[3]:.2f} s ({at[4]:+.2f}) | "
              f"{max(longest.values()) if group == 'all' else longest[group]:.2f} s |")
    if args.scenarios:
        scenario_looks(Path(args.scenarios), landmarker)

if __name__ == "__main__":
    main()
