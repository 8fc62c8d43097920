"""The one frame loop: a source → one Step per frame, for `drowsy run`, `bench`, `eval-video`
and the scripts (Pipeline.run(source) builds it).

Parallel (the default): three stages overlap, each on its own thread, linked by small bounded
queues (so memory stays bounded and a file is decoded at most a few frames ahead):
- reader: source.read() (decoding a file, or waiting for a camera's frame) and its events;
- landmarks: the FaceLandmarker (MediaPipe's C++ work releases the GIL, so it truly overlaps);
- the caller's thread: crop, classify, temporal logic, then whatever the caller does with the
  Step (sinks, the window: OpenCV windows want the main thread).
Every frame passes every stage in order, the landmarker (which tracks a face from frame to
frame) sees the frames in the same order, and the temporal state is only touched on the
caller's thread: results, events and their order are those of the serial loop (a test compares
`--out` files). Serial (`parallel=False`, `drowsy run --no-parallel`): the same steps, one
after another on the caller's thread, for debugging.

Live sources (`source.live`: cameras, streams) keep latency low: between the reader and the
landmarks stage sits a one-frame mailbox where the newest frame wins; a frame replaced before
the landmarker took it is counted in `FrameLoop.dropped` (on top of the source's own
`.dropped`). Files are never dropped from: the reader waits instead.

With --landmarks-every N > 1 or auto, the landmarks stage is a tracker (track.py): the
landmarker on some frames, the newest landmarks moved by optical flow on the others; the rest of
the loop is unchanged, and each result carries its landmarks' age (FrameResult.landmarks_age).

An error in a worker thread is raised on the caller's thread, after the frames before it were
yielded, as in a serial run. `stop` (a threading.Event) is checked at least every 0.1 s;
closing the loop stops and joins the threads.

timings_ms of each result: "decode" (a file read as fast as it goes) or "capture" (a live
source or a --realtime file: includes waiting for the frame), then the pipeline's stages and
"total" (their sum), and "latency": from the frame's capture (its arrival for a live source,
the end of its decoding otherwise) to its result.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Iterator

from .capture import Source, VideoSource
from ..types import Drowsiness, Event, Face, Frame, FrameResult

READ_TIMEOUT_S = 0.1  # how long one read waits for a live frame: also the stop check interval
QUEUE_SIZE = 2  # frames between two stages (files); enough to smooth jitter, small for memory


@dataclass(frozen=True)
class Step:
    """One turn of the loop: a frame's result, or None when no frame came within the timeout."""

    result: FrameResult | None
    events: tuple[Event, ...] = ()  # the source's (camera_lost/back), then the monitor's during a gap
    gap: Drowsiness | None = None  # the monitor's state while a lost source sends nothing


class _Item:
    """What travels between the stages: a read (frame or none), its events, then its face."""

    __slots__ = ("frame", "capture_ms", "captured", "events", "face", "landmarks_ms", "motion_ms", "age")

    def __init__(self, frame, capture_ms, captured, events):
        self.frame, self.capture_ms, self.captured, self.events = frame, capture_ms, captured, events
        self.face: Face | None = None
        self.landmarks_ms = self.motion_ms = 0.0
        self.age = None  # a LandmarkAge with --landmarks-every N > 1 or auto


class _End:
    """The source ended; or, with `error` set, a worker failed."""

    def __init__(self, error: BaseException | None = None):
        self.error = error


class IterSource(Source):
    """Any iterable of Frames as a source (a generator of degraded or looped frames)."""

    def __init__(self, frames):
        self._it = iter(frames)

    def read(self, timeout_s: float | None = None) -> Frame | None:
        frame = next(self._it, None)
        self.ended = frame is None
        return frame


class _Mailbox:
    """A one-frame slot where the newest frame wins: a new frame replaces one not taken yet
    (counted as dropped); events are never lost (they go on with the item that stays), and a
    read that brought no frame does not displace one. The end comes after."""

    def __init__(self):
        self._cond = threading.Condition()
        self._items: list = []  # at most [an _Item] or [an _Item, the _End]
        self.dropped = 0

    def put(self, item, timeout: float | None = None) -> None:
        with self._cond:
            old = self._items[-1] if self._items else None
            if isinstance(old, _Item) and isinstance(item, _Item):
                if item.frame is None and old.frame is not None:
                    old.events = old.events + item.events  # nothing newer: keep the waiting frame
                    return
                self._items.pop()
                self.dropped += old.frame is not None
                item.events = old.events + item.events
            self._items.append(item)
            self._cond.notify_all()

    def get(self, timeout: float | None = None):
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._items), timeout=timeout):
                raise queue.Empty
            return self._items.pop(0)

    def get_nowait(self):
        return self.get(timeout=0)


class FrameLoop:
    """Iterate for Steps; close() (or `with`) stops the worker threads."""

    def __init__(self, pipeline, source, stop: threading.Event | None = None, parallel: bool = True):
        self.pipeline = pipeline
        self.source = source if hasattr(source, "read") else IterSource(source)
        self.stop = stop or threading.Event()
        self.parallel = parallel
        self.live = bool(getattr(self.source, "live", False))
        paced = isinstance(self.source, VideoSource) and self.source.realtime
        self.timing_key = "capture" if self.live or paced else "decode"
        self.lost = False  # a live source reported camera_lost and not yet camera_back
        self._halt = threading.Event()  # tells the workers to finish
        self._threads: list[threading.Thread] = []
        self._queues: list = []
        # --landmarks-every N > 1 or auto: landmarks on some frames, moved by flow (track.py)
        from .track import tracker_for

        self.tracker = tracker_for(pipeline)

    @property
    def dropped(self) -> int:
        """Live frames replaced by a newer one before the landmarker took them."""
        return sum(getattr(q, "dropped", 0) for q in self._queues)

    # -- stages ----------------------------------------------------------------------------
    def _read(self) -> _Item | _End:
        c0 = perf_counter()
        frame = self.source.read(timeout_s=READ_TIMEOUT_S)
        capture_ms = (perf_counter() - c0) * 1e3
        events = tuple(self.source.poll_events())
        if frame is None and self.source.ended and not events:
            return _End()
        # A live frame's t is its arrival on time.monotonic(); a file frame "arrives" when decoded.
        captured = frame.t if self.live and frame is not None else time.monotonic()
        return _Item(frame, capture_ms, captured, events)

    def _landmarks(self, item: _Item) -> _Item:
        if item.frame is not None and self.tracker is not None:
            tr = self.tracker(item.frame)
            item.face, item.landmarks_ms, item.motion_ms, item.age = tr.face, tr.landmarks_ms, tr.motion_ms, tr.age
        elif item.frame is not None:
            item.face, item.landmarks_ms = self.pipeline.landmarks(item.frame)
        return item

    def _finish(self, item: _Item) -> Step:
        """The caller's-thread stage: gap or crop → classify → temporal, and the timings."""
        events = list(item.events)
        for ev in item.events:
            if ev.kind in ("camera_lost", "camera_back"):
                self.lost = ev.kind == "camera_lost"
        if item.frame is None:
            gap = None
            if self.lost:
                # No frames while reconnecting: the time is not assessable, alerts may clear,
                # and a long outage is reported as "not visible" without waiting for frames.
                gap = self.pipeline.gap(time.monotonic(), "camera_lost")
                events += gap.events
            return Step(None, tuple(events), gap)
        result = self.pipeline.assess(item.frame, item.face, item.landmarks_ms)
        timings = {self.timing_key: item.capture_ms, **result.timings_ms}
        if self.tracker is not None:  # the flow that moved the landmarks (or decided on a pass)
            timings["motion"] = item.motion_ms
            timings["total"] += item.motion_ms
        timings["latency"] = (time.monotonic() - item.captured) * 1e3
        return Step(replace(result, timings_ms=timings, landmarks_age=item.age), tuple(events))

    # -- serial ----------------------------------------------------------------------------
    def _serial(self) -> Iterator[Step]:
        while not self.stop.is_set():
            item = self._read()
            if isinstance(item, _End):
                return
            yield self._finish(self._landmarks(item))

    # -- parallel --------------------------------------------------------------------------
    def _put(self, q, item) -> bool:
        """Put unless halted (a full queue is retried, so a halt is seen within 0.1 s)."""
        while not self._halt.is_set():
            try:
                q.put(item, timeout=READ_TIMEOUT_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q):
        while not self._halt.is_set():
            try:
                return q.get(timeout=READ_TIMEOUT_S)
            except queue.Empty:
                continue
        return None

    def _worker(self, inbox, outbox) -> None:
        """Reader (no inbox) or landmarks stage; any exception travels on as an _End."""
        try:
            while not self._halt.is_set():
                item = self._read() if inbox is None else self._get(inbox)
                if item is None:
                    return
                if isinstance(item, _Item) and inbox is not None:
                    item = self._landmarks(item)
                if not self._put(outbox, item) or isinstance(item, _End):
                    return
        except BaseException as e:  # noqa: BLE001 -- re-raised on the caller's thread
            self._put(outbox, _End(e))

    def _parallel(self) -> Iterator[Step]:
        # With --landmarks-every N the landmark stage takes one long turn every N frames: room for
        # N frames lets the reader and the eye stage work on through it instead of waiting.
        size = QUEUE_SIZE + (getattr(self.tracker, "every", 0) or 0)
        read_q = _Mailbox() if self.live else queue.Queue(size)
        done_q = queue.Queue(1 if self.live else size)
        self._queues = [read_q, done_q]
        for name, inbox, outbox in (("reader", None, read_q), ("landmarks", read_q, done_q)):
            t = threading.Thread(target=self._worker, args=(inbox, outbox), name=f"drowsy-{name}",
                                 daemon=True)
            t.start()
            self._threads.append(t)
        while not self.stop.is_set():
            try:
                item = done_q.get(timeout=READ_TIMEOUT_S)
            except queue.Empty:
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield self._finish(item)

    def __iter__(self) -> Iterator[Step]:
        return self._parallel() if self.parallel else self._serial()

    def close(self) -> None:
        self._halt.set()
        if self.tracker is not None:
            self.tracker.close()
        for q in self._queues:  # unblock a worker waiting to put
            try:
                while True:
                    q.get_nowait()
            except queue.Empty:
                pass
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(2.0)  # a read waits at most READ_TIMEOUT_S; a landmarker call some ms
        self._threads = []

    def __enter__(self) -> "FrameLoop":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
