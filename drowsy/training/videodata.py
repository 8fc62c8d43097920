"""Labelled clips → EyeData (training) and per-frame tables (frame-level evaluation).

`load_video_dataset` turns the runtime's crops of every labelled clip and condition
(drowsy.training.videocrops, cached) into one EyeData: one centre crop per (clip, condition, frame,
eye) with a label, grouped by person. The jittered neighbours stay out of the training set
because the training augmentation already shifts and scales every crop over a wider range,
and 9 near-copies per eye would swamp the leak check. They are used where the runtime uses
them: `frame_tables` gives every frame's full crop stack, so a model's frame score is computed
exactly as the classifier fuses it (mean over jitters, then over both eyes).

Frames in transition (a blink's partially closed frames, `partial_ambiguous`) are left out of
training and of every figure, as the eval-video labels ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DrowsyError
from ..runtime.crop import CropSpec
from .eyedata import EyeData, spaced
from .videocrops import CONDITIONS, LABEL_SUFFIX, cached_clip, clip_info, eye_labels

JITTER = 8  # the runtime's default: what `drowsy run` classifies


@dataclass(frozen=True)
class FrameTable:
    """One clip under one condition: the frames that have a face and a frame label."""

    info: dict  # person, source, clip, glasses, view
    condition: str
    frame: np.ndarray  # (N,) decode index
    closed: np.ndarray  # (N,) bool, both eyes fully closed (eyestate `closed`)
    crops: np.ndarray  # (N, 2, J+1, S, S) uint8
    blink: np.ndarray  # (N,) MediaPipe eyeBlink mean (higher = closed)
    ear: np.ndarray  # (N,) eye aspect ratio (lower = closed)


def _passes(root: Path, conditions, landmarker, spec: CropSpec, limit: int | None, log, cache=None):
    from ..evaluation.clips import find_pairs
    from ..paths import resolve_landmarker

    clips = [video for video, _ in find_pairs(root)]  # raises when there is none
    if limit is not None:  # tiny runs: a few clips spread over the listing
        clips = [clips[i] for i in spaced(len(clips), max(1, limit // 100))]
    lm = resolve_landmarker(landmarker)
    for video in clips:
        info = clip_info(video, root)
        for cond in conditions:
            yield video, info, cond, cached_clip(video, cond, lm, spec, JITTER, cache=cache, log=log)


def load_video_dataset(root: str | Path, conditions=CONDITIONS, landmarker=None, spec: CropSpec = CropSpec(),
                       limit: int | None = None, log=None, cache: Path | None = None) -> EyeData:
    """Centre crops of every labelled, unambiguous eye in every frame with a face."""
    root = Path(root)
    images, closed, group, files = [], [], [], []
    cond: dict[str, list] = {k: [] for k in ("source", "glasses", "view", "degrade", "side", "clip")}
    for video, info, c, clip in _passes(root, conditions, landmarker, spec, limit, log, cache):
        labels = eye_labels(video, int(clip.frame.max()) + 1 if len(clip.frame) else 0)
        for eye, side in enumerate(("right", "left")):
            lab = labels.closed[clip.frame, eye]
            keep = clip.face & (lab >= 0) & ~labels.ambiguous[clip.frame, eye]
            k = np.flatnonzero(keep)
            images.append(clip.crops[k, eye, 0])
            closed.append(lab[k].astype(np.uint8))
            group += [info["person"]] * len(k)
            files += [f"{video.relative_to(root)}#{f}:{c}:{side}" for f in clip.frame[k]]
            for name, value in (("source", info["source"]), ("glasses", info["glasses"]), ("view", info["view"]),
                                ("degrade", c), ("side", side), ("clip", info["clip"])):
                cond[name] += [value] * len(k)
    if not files:
        raise DrowsyError(f"{root}: no labelled frame with a face in any clip")
    return EyeData(name="video", root=str(root), images=np.concatenate(images), closed=np.concatenate(closed),
                   group=np.array(group), files=np.array(files),
                   conditions={k: np.array(v) for k, v in cond.items()})


def frame_tables(root: str | Path, conditions=CONDITIONS, persons=None, landmarker=None,
                 spec: CropSpec = CropSpec(), log=None, cache: Path | None = None) -> list[FrameTable]:
    """Per clip and condition, the frames with a face and an unambiguous frame label
    (eyestate.csv: closed = both eyes fully closed), limited to `persons` when given."""
    from ..evaluation.clips import read_labels

    root = Path(root)
    out = []
    for video, info, c, clip in _passes(root, conditions, landmarker, spec, None, log, cache):
        if persons is not None and info["person"] not in persons:
            continue
        lab = read_labels(video.with_name(video.name + LABEL_SUFFIX), video.name)
        closed = np.full(len(clip.frame), -1, dtype=np.int8)
        pos = {int(f): i for i, f in enumerate(clip.frame)}
        for f, y, amb in zip(lab.frame, lab.closed, lab.ambiguous):
            if int(f) in pos and not amb:
                closed[pos[int(f)]] = int(y)
        k = np.flatnonzero(clip.face & (closed >= 0))
        out.append(FrameTable(info, c, clip.frame[k], closed[k].astype(bool), clip.crops[k], clip.blink[k],
                              clip.ear[k]))
    return out


def frame_scores(predict, table: FrameTable) -> np.ndarray:
    """A model's frame score as the runtime fuses it: mean over each eye's crops, then eyes."""
    c = table.crops
    if not len(c):
        return np.zeros(0)
    p = np.asarray(predict(c.reshape(-1, c.shape[-2], c.shape[-1])), dtype=np.float64)
    return p.reshape(c.shape[:3]).mean(axis=2).mean(axis=1)
