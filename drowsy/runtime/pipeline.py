"""The per-frame pipeline: Frame → landmarks → eye crops → classifier → temporal → FrameResult.

Each stage is one callable and is timed (ms, perf_counter) into FrameResult.timings_ms with the
keys "landmarks", "crop", "classify", "temporal" and "total" (their sum). The frame loop
(Pipeline.run, loop.py) adds "decode" or "capture" and "latency" (capture to result).
The landmark stage (`landmarks`) and the rest (`assess`) are separate calls so that the loop can
run them on different threads; `pipeline(frame)` runs both, one after the other.

The classifier runs whenever eye crops exist, so p_closed is recorded even for frames the
temporal logic will not judge (head turned, too dark); only assessable frames feed it a score.
"""

from __future__ import annotations

from time import perf_counter

from ..errors import DrowsyError
from ..types import Drowsiness, Event, Face, Frame, FrameResult


class Pipeline:
    """Wires the stages; call it with each Frame in time order."""

    # --landmarks-every and its early-update limit: the frame loop's tracker reads them (track.py)
    landmarks_every = "1"
    track_max_motion = 0.5

    def __init__(self, landmarker, cropper, classifier, monitor):
        self.landmarker = landmarker
        self.cropper = cropper
        self.classifier = classifier
        self.monitor = monitor  # holds the temporal settings (monitor.cfg) and the threshold in use

    @property
    def threshold(self) -> float:
        """The closed/open decision threshold in use: the config's, else the model's."""
        return self.monitor.threshold

    def landmarks(self, frame: Frame) -> tuple[Face | None, float]:
        """The landmark stage alone: (the face or None, its time in ms)."""
        t0 = perf_counter()
        face = self.landmarker(frame)
        return face, (perf_counter() - t0) * 1e3

    def assess(self, frame: Frame, face: Face | None, landmarks_ms: float = 0.0) -> FrameResult:
        """Crop, classify and the temporal logic for a frame whose landmarks are known."""
        t1 = perf_counter()
        crops = None
        if face is not None:
            try:
                crops = self.cropper(frame, face)
            except DrowsyError:  # degenerate landmarks (not finite): treat as no face
                face = None
        t2 = perf_counter()
        scores = self.classifier(crops, face) if crops is not None else None
        t3 = perf_counter()
        state = judge(self.monitor, frame.t, face, crops, scores)
        t4 = perf_counter()
        # "total" is the sum of the stages, not a wall-clock span: with the stages on different
        # threads, the span would include the time a frame waits in a queue ("latency" has that).
        timings = {"landmarks": landmarks_ms, "crop": (t2 - t1) * 1e3, "classify": (t3 - t2) * 1e3,
                   "temporal": (t4 - t3) * 1e3, "total": landmarks_ms + (t4 - t1) * 1e3}
        return FrameResult(frame=frame, face=face, crops=crops, scores=scores, state=state,
                           timings_ms=timings)

    def __call__(self, frame: Frame) -> FrameResult:
        return self.assess(frame, *self.landmarks(frame))

    def run(self, source, stop=None, parallel: bool = True):
        """The frame loop over a source (or any iterable of Frames): a FrameLoop to iterate
        (and close, or use in a `with`), yielding one loop.Step per frame or idle wait."""
        from .loop import FrameLoop

        return FrameLoop(self, source, stop=stop, parallel=parallel)

    def gap(self, t: float, reason: str) -> Drowsiness:
        """No frame up to t (a camera lost): that time counts neither open nor closed.

        Called repeatedly during an outage, it lets alerts clear and "not visible" be reported
        while no frame arrives.
        """
        return self.monitor.gap(t, reason)

    def finish(self, t: float) -> tuple[Event, ...]:
        """End of input at t: the events still open (an alert on, a closure in progress)."""
        return tuple(self.monitor.finish(t))

    @classmethod
    def from_config(cls, cfg, classifier=None, landmarker=None) -> "Pipeline":
        """The real stages from a RunConfig: eye model first (a bad file fails fastest).

        `classifier`: an EyeClassifier already loaded (eval-video loads one for all clips);
        `landmarker`: a landmark stage to use instead of a new Landmarker (eval-video's
        recorded or replayed landmarker passes).
        """
        from .classify import EyeClassifier
        from .crop import Cropper
        from .landmarks import Landmarker
        from ..paths import default_eye_model, resolve_landmarker

        m = cfg.model
        if classifier is None:
            classifier = EyeClassifier(m.model or default_eye_model(), device=m.device, threads=m.threads)
        monitor = monitor_for(cfg.temporal, classifier)  # before the landmarker: nothing to close
        if landmarker is None:
            # Blendshapes always: the driver's gaze (gaze.py: eyeLookDown) needs them, and the eye
            # fusion of some models; they cost a fraction of a millisecond per frame.
            landmarker = Landmarker(resolve_landmarker(m.landmarker), blendshapes=True,
                                    num_faces=getattr(m, "faces", 1),
                                    quiet=not getattr(cfg.output, "mediapipe_logs", False))
        pipeline = cls(landmarker, Cropper(classifier.spec, m.jitter), classifier, monitor)
        pipeline.landmarks_every = getattr(m, "landmarks_every", "1")
        pipeline.track_max_motion = getattr(m, "track_max_motion", 0.5)
        return pipeline

    def close(self) -> None:
        close = getattr(self.landmarker, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def monitor_for(temporal, classifier):
    """The temporal stage for these settings and eye model: the settings' threshold and hysteresis
    when given (a flag, a config, a driver profile), else the model's own (its metadata)."""
    from .driver import DriverMonitor

    return DriverMonitor(temporal, classifier.threshold, classifier.hysteresis)


def judge(monitor, t: float, face: Face | None, crops, scores) -> Drowsiness:
    """The gate (monitor.cfg's pose and light limits), then the temporal stage, for one frame.
    Also used to replay recorded scores under other settings (evaluation/calibration.py)."""
    return monitor.judge(t, face, crops, scores)  # driver.py (eyes, gaze, head) or temporal.py (eyes)
