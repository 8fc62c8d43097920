"""One calibration pass over a source: the pipeline's stages up to the scores, per frame, and the
prompts that guide a driver through a live calibration (window overlay and terminal).

Each frame is judged by the run's own gate (default limits, pose measured from facing the camera):
a frame the gate rejects keeps its pose but has no score, as in `drowsy run`.
"""

from __future__ import annotations

import sys

import numpy as np

from .calibrate import PHASES, PROG, Samples
from ..errors import DrowsyError


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


def _score(frame, landmarker, cropper, classifier, gate):
    """(face, yaw, pitch, fused, per-eye) of one frame; nan scores when the gate rejects it."""
    from .gate import assessability

    face = landmarker(frame)
    nan = (np.nan, np.nan)
    if face is None:
        return False, np.nan, np.nan, np.nan, nan
    try:
        crops = cropper(frame, face)
    except DrowsyError:  # degenerate landmarks: as the pipeline, no face
        return False, np.nan, np.nan, np.nan, nan
    if assessability(face, crops, gate) is not None:
        return True, face.yaw_deg, face.pitch_deg, np.nan, nan
    scores = classifier(crops)
    return True, face.yaw_deg, face.pitch_deg, scores.fused, tuple(float(v) for v in scores.p_closed)


def collect(source, classifier, landmarker_path, jitter: int, live: bool, headless: bool = True) -> Samples:
    """Every frame of a video, or the guided schedule of a live source, as Samples."""
    from .crop import Cropper
    from .landmarks import Landmarker
    from .render import Window
    from ..settings import TemporalConfig

    gate, cropper = TemporalConfig(), Cropper(classifier.spec, jitter)
    guide = Guide() if live else None
    window = Window("drowsy calibrate", headless=headless or not live,
                    warn=lambda m: print(f"{PROG}: warning: {m}", file=sys.stderr))
    rows, t0 = [], None
    try:
        with Landmarker(landmarker_path, blendshapes=False) as landmarker:
            while True:
                frame = source.read(timeout_s=0.1)
                if frame is None:
                    if source.ended:
                        break
                    if not window.poll():
                        raise DrowsyError("calibration stopped before it was done (window closed)")
                    continue
                t0 = frame.t if t0 is None else t0
                step = guide(frame.t - t0) if guide else ("video", "", 0.0)
                if step is None:
                    break
                face, yaw, pitch, fused, eyes = _score(frame, landmarker, cropper, classifier, gate)
                rows.append((frame.t, face, fused, *eyes, yaw, pitch, step[0]))
                if window.active and not window.show(overlay(frame.image, step[1], step[2], face)):
                    raise DrowsyError("calibration stopped before it was done (q pressed or window closed)")
    finally:
        window.close()
    if not rows:
        raise DrowsyError("too little data: no frame was read from the source")
    cols = list(zip(*rows))
    return Samples(t=np.array(cols[0], float), face=np.array(cols[1], bool), fused=np.array(cols[2], float),
                   p=np.stack([np.array(cols[3], float), np.array(cols[4], float)], axis=1),
                   yaw=np.array(cols[5], float), pitch=np.array(cols[6], float), phase=np.array(cols[7]))
