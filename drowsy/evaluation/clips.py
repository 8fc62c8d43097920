"""One pass of the real pipeline over a labelled clip, for `drowsy eval-video`.

The landmarker runs once per clip and condition; the three scores come from that same pass:
- ours: p_closed, the classifier's fused mean of both eyes (computed for every frame with a
  face, whether or not the temporal logic judges it);
- blendshape: the mean of MediaPipe's eyeBlinkLeft / eyeBlinkRight;
- ear: minus the mean eye aspect ratio of both eyes (negated, so higher = closed).
A frame without a face has no score for any of them. Our blinks are the DrowsinessMonitor's
`blink` events, mapped back to the frames they cover.
Labels: `<clip>.eyestate.csv` (frame,closed,in_event,partial_ambiguous) and the folder's
`blink_events.csv` (video,event,start_frame,closed_start,closed_end,end_frame,kind,note).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DrowsyError

METHODS = ("ours", "blendshape", "ear")
LABEL_SUFFIX = ".eyestate.csv"


@dataclass(frozen=True)
class Labels:
    frame: np.ndarray  # (N,) int, 0-based decode index
    closed: np.ndarray  # (N,) bool
    ambiguous: np.ndarray  # (N,) bool: partial_ambiguous, left out of every figure
    blinks: tuple[tuple[int, int], ...]  # kind=blink events, inclusive frame ranges
    other_events: tuple[tuple[int, int], ...]  # partial closures etc.: detections there don't count


@dataclass(frozen=True)
class ClipPass:
    """Per decoded frame of one clip under one condition (arrays in decode order)."""

    video: str
    condition: str
    frame: np.ndarray  # (N,) int
    t: np.ndarray  # (N,) float seconds
    face: np.ndarray  # (N,) bool
    scores: dict  # method → (N,) float, nan where no face
    blinks_ours: tuple[tuple[int, int], ...]  # the monitor's blink events as frame ranges
    size: tuple[int, int]  # (width, height) processed


def read_labels(path: str | Path, video_name: str, events_csv: str | Path | None = None) -> Labels:
    """The frame labels of one clip, and its events from blink_events.csv beside the labels."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        frame = np.array([int(r["frame"]) for r in rows], dtype=int)
        closed = np.array([r["closed"].strip() == "1" for r in rows], dtype=bool)
        ambiguous = np.array([r.get("partial_ambiguous", "0").strip() == "1" for r in rows], dtype=bool)
    except FileNotFoundError:
        raise DrowsyError(f"labels not found: {path}") from None
    except (KeyError, ValueError, AttributeError) as e:
        raise DrowsyError(f"{path} is not an eyestate CSV (frame,closed,in_event,partial_ambiguous): {e}") from None
    blinks, other = [], []
    events = Path(events_csv) if events_csv else path.parent / "blink_events.csv"
    if events.is_file():
        with open(events, newline="") as f:
            for r in csv.DictReader(f):
                if r.get("video") != video_name:
                    continue
                span = (int(r["start_frame"]), int(r["end_frame"]))
                (blinks if r.get("kind") == "blink" else other).append(span)
    return Labels(frame, closed, ambiguous, tuple(blinks), tuple(other))


def find_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """(video, labels) pairs under `folder`: every X.eyestate.csv whose video X exists."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DrowsyError(f"not a folder: {folder}")
    pairs = []
    for labels in sorted(folder.rglob("*" + LABEL_SUFFIX)):
        video = labels.with_name(labels.name[: -len(LABEL_SUFFIX)])
        if video.is_file():
            pairs.append((video, labels))
    if not pairs:
        raise DrowsyError(f"no <video>{LABEL_SUFFIX} files beside their videos under {folder}")
    return pairs


def _frames_between(t: np.ndarray, start_s: float, end_s: float) -> tuple[int, int] | None:
    """Positions of the frames a closure [start_s, end_s) covers (end = the reopening frame)."""
    eps = 1e-6
    inside = np.flatnonzero((t >= start_s - eps) & (t < end_s - eps))
    return (int(inside[0]), int(inside[-1])) if inside.size else None


def run_clip(video: Path, condition: str, classifier, landmarker_path: Path, jitter: int,
             temporal_cfg) -> ClipPass:
    """Decode, degrade and run the whole pipeline once; collect all three scores per frame."""
    from ..runtime.capture import VideoSource
    from ..runtime.crop import Cropper, eye_aspect_ratio
    from .degrade import degrade_frame
    from ..runtime.landmarks import Landmarker
    from ..runtime.temporal import DrowsinessMonitor
    from ..runtime.pipeline import Pipeline

    rows, events, size = [], [], (0, 0)
    landmarker = Landmarker(landmarker_path)
    pipeline = Pipeline(landmarker, Cropper(classifier.spec, jitter), classifier,
                        DrowsinessMonitor(temporal_cfg, classifier.threshold))
    with pipeline, VideoSource(video) as source:
        step_s = 1.0 / (source.fps or 25.0)
        for frame in source:
            frame = degrade_frame(frame, condition)
            size = (frame.image.shape[1], frame.image.shape[0])
            r = pipeline(frame)
            events += r.state.events
            if r.face is None or r.scores is None:
                rows.append((frame.index, frame.t, False, np.nan, np.nan, np.nan))
                continue
            b = r.face.blendshapes
            blink = (b["eyeBlinkLeft"] + b["eyeBlinkRight"]) / 2 if "eyeBlinkLeft" in b else np.nan
            ear = float(np.mean(eye_aspect_ratio(r.face.landmarks)))
            rows.append((frame.index, frame.t, True, r.scores.fused, blink, -ear))
        if rows:
            # End of input one frame after the last: a closure still open covers the last frame.
            events += pipeline.finish(rows[-1][1] + step_s)
    if not rows:
        raise DrowsyError(f"{video}: no frame decoded")
    a = list(zip(*rows))
    t = np.array(a[1], dtype=float)
    blinks = [_frames_between(t, float(e.data["start"]), float(e.data["start"]) + float(e.data["duration_s"]))
              for e in events if e.kind == "blink"]
    frame_idx = np.array(a[0], dtype=int)
    return ClipPass(video=video.name, condition=condition, frame=frame_idx, t=t,
                    face=np.array(a[2], dtype=bool),
                    scores={m: np.array(a[3 + i], dtype=float) for i, m in enumerate(METHODS)},
                    blinks_ours=tuple((int(frame_idx[i]), int(frame_idx[j])) for i, j in
                                      (b for b in blinks if b is not None)),
                    size=size)


def threshold_blinks(clip: ClipPass, method: str, threshold: float) -> tuple[tuple[int, int], ...]:
    """A baseline's blinks: each run of consecutive frames with score >= threshold (frames
    without a face end a run). Frame indices, inclusive."""
    from .metrics import intervals

    s = clip.scores[method]
    above = np.where(np.isfinite(s), s, -np.inf) >= threshold
    return tuple((int(clip.frame[i]), int(clip.frame[j])) for i, j in intervals(above))
