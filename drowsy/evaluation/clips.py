"""One pass of the real pipeline over a labelled clip, for `drowsy eval-video`.

The landmarker runs once per clip, condition and frame rate (recorded and replayed by
passes.py); the three scores come from that same pass:
- ours: the runtime's fused p_closed (computed for every frame with a face, whether or not the
  temporal logic judges it);
- blendshape: the mean of MediaPipe's eyeBlinkLeft / eyeBlinkRight;
- ear: minus the mean eye aspect ratio of both eyes (negated, so higher = closed).
A frame without a face has no score for any of them. Our blinks are the DrowsinessMonitor's
`blink` events, mapped back to the frames they cover. Per-eye features (p_closed, jitter
spread, crop brightness / contrast, EAR, eyeBlink) and head pose are kept for fusion and
operating-point studies (operating_point.py).
Labels: `<clip>.eyestate.csv` (frame,closed,in_event,partial_ambiguous) and the folder's
`blink_events.csv` (video,event,start_frame,closed_start,closed_end,end_frame,kind,note); a
`kind=blink` event with no closed span is an incomplete blink (never fully closed). Persons and
conditions: the folder's `clips.csv` (ZJU: subject, glasses, view), else the clip is its own
person, frontal, without glasses (GRID) — `dinoman/` wears thin-rim glasses.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DrowsyError

METHODS = ("ours", "blendshape", "ear")
LABEL_SUFFIX = ".eyestate.csv"
GLASSES = {"none": "none", "thin-rim": "thin", "black-frame": "black"}


@dataclass(frozen=True)
class Labels:
    frame: np.ndarray  # (N,) int, 0-based decode index
    closed: np.ndarray  # (N,) bool
    ambiguous: np.ndarray  # (N,) bool: partial_ambiguous, left out of every figure
    blinks: tuple[tuple[int, int], ...]  # blinks whose eyes fully close, inclusive frame ranges
    other_events: tuple[tuple[int, int], ...]  # incomplete blinks, partial closures: don't care


@dataclass(frozen=True)
class ClipInfo:
    person: str  # ZJU: the first 6 characters of the name; GRID / dinoman: the clip itself
    glasses: str  # none, thin, black
    view: str  # frontal, upward

    @property
    def group(self) -> str:
        """The condition a clip is reported under: upward, else its glasses."""
        return "upward" if self.view == "upward" else f"glasses:{self.glasses}"


@dataclass(frozen=True)
class ClipPass:
    """Per kept frame of one clip under one condition and rate (arrays in decode order)."""

    video: str
    condition: str
    frame: np.ndarray  # (N,) int decode index
    t: np.ndarray  # (N,) float seconds
    face: np.ndarray  # (N,) bool
    scores: dict  # method → (N,) float, nan where no face
    blinks_ours: tuple[tuple[int, int], ...]  # the monitor's blink events as frame ranges
    size: tuple[int, int]  # (width, height) processed
    eyes: dict | None = None  # feature → (N, 2) per eye [right, left], nan where no face
    pose: np.ndarray | None = None  # (N, 2) yaw, pitch in degrees
    mean_gray: np.ndarray | None = None  # (N,) the gate's crop brightness
    fps: float | None = None  # None: every decoded frame; else decimated to this rate
    alerts: int = 0  # alert_on events of the run (ordinary blinking must raise none)
    driver_events: int = 0  # head_drop, slump, looking_down events (none expected on ordinary clips)
    judged: np.ndarray | None = None  # (N,) bool: the gate let the frame through (face, pose, light)
    landmark_passes: int | None = None  # frames the landmarker ran on (every one unless --landmarks-every)


def read_labels(path: str | Path, video_name: str, events_csv: str | Path | None = None) -> Labels:
    """The frame labels of one clip, and its events from blink_events.csv beside the labels."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        frame = np.array([int(r["frame"]) for r in rows], dtype=int)
        closed = np.array([r["closed"].strip() == "1" for r in rows], dtype=bool)
        ambiguous = np.array([(r.get("partial_ambiguous") or "0").strip() == "1" for r in rows], dtype=bool)
    except FileNotFoundError:
        raise DrowsyError(f"labels not found: {path}") from None
    except (KeyError, ValueError, AttributeError) as e:
        raise DrowsyError(f"{path} is not an eyestate CSV (frame,closed,in_event,partial_ambiguous): {e}") from None
    blinks, other = [], []
    events = Path(events_csv) if events_csv else path.parent / "blink_events.csv"
    if events.is_file():
        try:
            with open(events, newline="") as f:
                for r in csv.DictReader(f):
                    if r.get("video") != video_name:
                        continue
                    span = (int(r["start_frame"]), int(r["end_frame"]))
                    complete = r.get("kind") == "blink" and (r.get("closed_start") or "").strip() != ""
                    (blinks if complete else other).append(span)
        except (KeyError, ValueError) as e:
            raise DrowsyError(f"{events} is not a blink events CSV: {e}") from None
    return Labels(frame, closed, ambiguous, tuple(blinks), tuple(other))


def clip_info(video: Path) -> ClipInfo:
    """Person, glasses and view of a clip, from clips.csv beside it when there is one."""
    table = video.parent / "clips.csv"
    if table.is_file():
        with open(table, newline="") as f:
            for r in csv.DictReader(f):
                if r.get("clip") == video.name:
                    return ClipInfo(person=video.name[:6], glasses=GLASSES.get(r.get("glasses", ""), "none"),
                                    view=r.get("view") or "frontal")
    glasses = "thin" if video.parent.name == "dinoman" else "none"
    return ClipInfo(person=f"{video.parent.name}:{video.stem}", glasses=glasses, view="frontal")


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


def frames_between(t: np.ndarray, start_s: float, end_s: float) -> tuple[int, int] | None:
    """Positions of the frames a closure [start_s, end_s) covers (end = the reopening frame)."""
    eps = 1e-4  # event times are rounded to 0.1 ms (temporal._r); frames lie >= 1 ms apart
    inside = np.flatnonzero((t >= start_s - eps) & (t < end_s - eps))
    return (int(inside[0]), int(inside[-1])) if inside.size else None


def blink_frames(events, t: np.ndarray, frame: np.ndarray) -> tuple[tuple[int, int], ...]:
    """The monitor's blink events as inclusive ranges of decode indices."""
    spans = [frames_between(t, float(e.data["start"]), float(e.data["start"]) + float(e.data["duration_s"]))
             for e in events if e.kind == "blink"]
    return tuple((int(frame[i]), int(frame[j])) for i, j in (s for s in spans if s is not None))


FEATURES = ("p_closed", "spread", "crop_mean", "crop_std", "ear", "blink")


def _features(r) -> tuple:
    """One frame's row: face?, per-eye features (2 each), yaw, pitch, mean gray, the runtime's
    fused score; nan without a face."""
    from ..runtime.crop import eye_aspect_ratio

    if r.face is None or r.scores is None:
        return (False,) + (np.full(2, np.nan),) * len(FEATURES) + (np.nan,) * 4
    b = r.face.blendshapes
    centre = r.crops.crops[:, 0].reshape(2, -1).astype(np.float32)
    blink = np.array([b.get("eyeBlinkRight", np.nan), b.get("eyeBlinkLeft", np.nan)])
    return (True, r.scores.p_closed, r.scores.spread, centre.mean(axis=1), centre.std(axis=1),
            eye_aspect_ratio(r.face.landmarks), blink, r.face.yaw_deg, r.face.pitch_deg, r.crops.mean_gray,
            r.scores.fused)


def run_clip(video: Path, condition: str, classifier, landmarker_path: Path, jitter: int,
             temporal_cfg, fps: float | None = None, cache: Path | None = None,
             parallel: bool = True, every: int = 1) -> ClipPass:
    """Decode, degrade, decimate and run the whole pipeline once; collect every score per frame.
    every > 1: landmarks on one frame in `every` (and early), moved by flow between (runtime/track.py)."""
    from ..runtime.capture import VideoSource
    from .degrade import degrade_frame
    from .passes import decimate, landmark_stage
    from ..runtime.pipeline import Pipeline
    from ..settings import ModelConfig, RunConfig

    index, times, rows, judged, events, size = [], [], [], [], [], (0, 0)
    landmarks, save = landmark_stage(video, condition, fps, landmarker_path, cache, every)
    cfg = RunConfig(model=ModelConfig(jitter=jitter, landmarks_every=str(every)), temporal=temporal_cfg)
    pipeline = Pipeline.from_config(cfg, classifier=classifier, landmarker=landmarks)
    with pipeline, VideoSource(video) as source, pipeline.run(
            (degrade_frame(f, condition) for f in decimate(source, fps)), parallel=parallel) as loop:
        step_s = 1.0 / (fps or source.fps or 25.0)
        for r in (step.result for step in loop if step.result is not None):  # degraded on the reader thread
            frame = r.frame
            size = (frame.image.shape[1], frame.image.shape[0])
            events += r.state.events
            index.append(frame.index)
            times.append(frame.t)
            rows.append(_features(r))
            judged.append(r.state.closed is not None)
        passes = len(rows) if loop.tracker is None else loop.tracker.passes
        if rows:
            # End of input one frame after the last: a closure still open covers the last frame.
            events += pipeline.finish(times[-1] + step_s)
            save()
    if not rows:
        raise DrowsyError(f"{video}: no frame decoded")
    cols = list(zip(*rows))
    t, frame_idx = np.array(times, dtype=float), np.array(index, dtype=int)
    eyes = {name: np.array(cols[1 + i], dtype=float) for i, name in enumerate(FEATURES)}
    return ClipPass(video=video.name, condition=condition, frame=frame_idx, t=t,
                    face=np.array(cols[0], dtype=bool),
                    scores={"ours": np.array(cols[-1], dtype=float), "blendshape": eyes["blink"].mean(axis=1),
                            "ear": -eyes["ear"].mean(axis=1)},
                    blinks_ours=blink_frames(events, t, frame_idx), size=size, eyes=eyes,
                    pose=np.stack([np.array(cols[-4], float), np.array(cols[-3], float)], axis=1),
                    mean_gray=np.array(cols[-2], dtype=float), fps=fps,
                    alerts=sum(e.kind == "alert_on" for e in events), judged=np.array(judged, dtype=bool),
                    driver_events=sum(e.kind in ("head_drop", "slump", "looking_down") for e in events),
                    landmark_passes=passes)


def threshold_blinks(clip: ClipPass, method: str, threshold: float) -> tuple[tuple[int, int], ...]:
    """A baseline's blinks: each run of consecutive frames with score >= threshold (frames
    without a face end a run). Frame indices, inclusive."""
    from .metrics import intervals

    s = clip.scores[method]
    above = np.where(np.isfinite(s), s, -np.inf) >= threshold
    return tuple((int(clip.frame[i]), int(clip.frame[j])) for i, j in intervals(above))
