"""One calibration pass over a source: the pipeline's stages up to the scores, per frame, and the
prompts that guide a driver through a live calibration (window overlay and terminal).

The frames go through the run's own frame loop and pipeline (Pipeline.run) with default settings:
a frame the gate rejects (pose measured from facing the camera) keeps its pose but has no score,
as in `drowsy run`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..errors import DrowsyError

PROG = "drowsy calibrate"
# The live schedule (seconds per phase); calibrate.py reads the phases back from Samples.phase.
OPEN_S, CLOSED_S, BLINK_S, READY_S = 15.0, 3.0, 6.0, 2.0
PHASES = (("ready", READY_S, "Get ready: look at the road"),
          ("open", OPEN_S, "Look at the road, eyes open"),
          ("closed", CLOSED_S, "Close your eyes now; open them at the beep"),
          ("blink", BLINK_S, "Eyes open: blink a few times"))


@dataclass(frozen=True)
class Samples:
    """Per frame of a calibration, in time order."""

    t: np.ndarray  # (N,) seconds
    face: np.ndarray  # (N,) bool
    fused: np.ndarray  # (N,) the pipeline's closed score; nan where the frame cannot be judged
    p: np.ndarray  # (N, 2) per eye [right, left]; nan likewise
    yaw: np.ndarray  # (N,) degrees, nan without a face
    pitch: np.ndarray
    phase: np.ndarray  # (N,) str: a PHASES name live, "video" for a file
    # The landmarks' own view of the lids (calibrate_geometry.py), kept whatever the gate says:
    ear: np.ndarray  # (N,) mean eye aspect ratio of both eyes, nan without a face
    blink: np.ndarray | None = None  # (N,) mean eyeBlink blendshape, nan without a face or blendshapes
    iris_x: np.ndarray | None = None  # (N,) sideways iris offset (gaze.iris_offset x), nan without a face or iris


class Guide:
    """The live schedule: which phase a time (seconds since the first frame) falls in; it prints
    each prompt once in the terminal and rings the terminal bell when the eyes should open."""

    def __init__(self, out=None):
        self.out = out or sys.stderr
        self.current: str | None = None
        ends, t = [], 0.0
        for name, length, text in PHASES:
            t += length
            ends.append((name, t, text))
        self.ends = ends

    def __call__(self, t_rel: float) -> tuple[str, str, float] | None:
        """(phase, prompt, seconds left in it), or None once the schedule is over."""
        for name, end, text in self.ends:
            if t_rel < end:
                if name != self.current:
                    if self.current == "closed":
                        self.out.write("\a")  # the beep: open your eyes
                    self.current = name
                    print(f"{PROG}: {text} ({end - t_rel:.0f} s)", file=self.out, flush=True)
                return name, text, end - t_rel
        if self.current is not None:
            print(f"{PROG}: done", file=self.out, flush=True)
            self.current = None
        return None


def overlay(image: np.ndarray, text: str, left_s: float, face: bool) -> np.ndarray:
    """The frame with the prompt, the seconds left, and whether a face is seen."""
    import cv2

    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.45, min(w, 2 * h) / 800)
    for i, (s, color) in enumerate(((text, (255, 255, 255)), (f"{left_s:.0f} s", (0, 170, 255)),
                                    ("face: yes" if face else "face: NOT SEEN",
                                     (60, 200, 60) if face else (40, 40, 230)))):
        y = int(30 * scale) * (i + 1) + 8
        (tw, th), base = cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(out, (6, y - th - 2), (10 + tw, y + base), (0, 0, 0), -1)
        cv2.putText(out, s, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)
    return out


def _row(r) -> tuple:
    """(face, fused, right, left, yaw, pitch, ear, blink, iris x) of one frame's result; nan scores
    where the gate rejected it (the state is then neither open nor closed), nan pose without a face."""
    from .calibrate_geometry import lids
    from .gaze import iris_offset

    if r.face is None:
        return (False, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan)
    iris = iris_offset(r.face.landmarks)
    geo = (*lids(r.face), np.nan if iris is None else iris[0])
    if r.state.closed is None:
        return (True, np.nan, np.nan, np.nan, r.face.yaw_deg, r.face.pitch_deg, *geo)
    return (True, r.scores.fused, *(float(v) for v in r.scores.p_closed), r.face.yaw_deg, r.face.pitch_deg, *geo)


def calibration_pipeline(classifier, landmarker, jitter: int):
    """The run's own pipeline with default settings (pose gate from facing the camera);
    `landmarker`: a .task path, or a landmark stage (evaluation: a recorded pass). The run's
    landmarker gives the eyeBlink blendshapes: a second cue for the open and closed frames."""
    from .pipeline import Pipeline
    from ..settings import ModelConfig, RunConfig

    if callable(landmarker):
        return Pipeline.from_config(RunConfig(model=ModelConfig(jitter=jitter)), classifier, landmarker)
    return Pipeline.from_config(RunConfig(model=ModelConfig(jitter=jitter, landmarker=str(landmarker))), classifier)


def collect(source, pipeline, live: bool, headless: bool = True) -> Samples:
    """Every frame of a video, or the guided schedule of a live source, as Samples, walked through
    the run's frame loop (Pipeline.run)."""
    from .render import Window

    guide = Guide() if live else None
    window = Window("drowsy calibrate", headless=headless or not live,
                    warn=lambda m: print(f"{PROG}: warning: {m}", file=sys.stderr))
    rows, t0 = [], None
    try:
        with pipeline.run(source) as loop:
            for step in loop:
                r = step.result
                if r is None:  # no frame within the loop's timeout: keep the window responsive
                    if not window.poll():
                        raise DrowsyError("calibration stopped before it was done (window closed)")
                    continue
                t0 = r.frame.t if t0 is None else t0
                phase = guide(r.frame.t - t0) if guide else ("video", "", 0.0)
                if phase is None:
                    break
                row = _row(r)
                rows.append((r.frame.t, *row, phase[0]))  # phase last: cols[10]
                if window.active and not window.show(overlay(r.frame.image, phase[1], phase[2], row[0])):
                    raise DrowsyError("calibration stopped before it was done (q pressed or window closed)")
    finally:
        window.close()
    if not rows:
        raise DrowsyError("too few frames: no frame was read from the source")
    cols = list(zip(*rows))
    return Samples(t=np.array(cols[0], float), face=np.array(cols[1], bool), fused=np.array(cols[2], float),
                   p=np.stack([np.array(cols[3], float), np.array(cols[4], float)], axis=1),
                   yaw=np.array(cols[5], float), pitch=np.array(cols[6], float), phase=np.array(cols[10]),
                   ear=np.array(cols[7], float), blink=np.array(cols[8], float), iris_x=np.array(cols[9], float))
