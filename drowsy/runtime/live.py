"""Live capture: a camera index or a stream URL, read on its own thread, newest frame wins.

The reader thread keeps only the latest frame; the pipeline takes it when it is ready, so a
slow pipeline never falls behind the camera (frames replaced before being taken are counted
in `.dropped`). `t` is time.monotonic() when the frame arrived; `index` counts every frame
received, so dropped ones leave gaps. When the device or stream stops delivering, the thread
reports `camera_lost`, reopens it with exponential backoff (0.5 s doubling, at most
`reconnect_max_s` between tries) until it works or the source is closed, then reports
`camera_back`. Events are collected with poll_events().
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from .capture import Source, quiet_opencv
from ..errors import DrowsyError
from ..secrets import mask
from ..types import Event, Frame

FIRST_BACKOFF_S = 0.5
LOST_AFTER_S = 0.5  # failed reads for this long (or LOST_AFTER_READS in a row) = lost
LOST_AFTER_READS = 10


def open_capture(source: int | str, timeout_s: float = 5.0):
    """An opened cv2.VideoCapture, or None. Streams get open/read timeouts so a dead host
    fails in seconds instead of blocking for FFmpeg's default (minutes)."""
    cv2 = quiet_opencv()
    if isinstance(source, int):
        cap = cv2.VideoCapture(source)
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # fewer stale frames queued in the driver
    else:
        ms = int(timeout_s * 1000)
        cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG,
                               [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    if not cap.isOpened():
        cap.release()
        return None
    return cap


class LiveSource(Source):
    """A camera (int index) or stream (URL) read on a background thread."""

    live = True

    def __init__(self, source: int | str, reconnect_max_s: float = 30.0, open_timeout_s: float = 5.0,
                 opener: Callable[[int | str], object] | None = None):
        self.source = source
        self.name = f"camera {source}" if isinstance(source, int) else f"stream {mask(str(source))}"
        self.reconnect_max_s = max(FIRST_BACKOFF_S, float(reconnect_max_s))
        self._open = opener or (lambda s: open_capture(s, open_timeout_s))
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._events: list[Event] = []
        self._latest: tuple[np.ndarray, float, int] | None = None
        self._taken = -1  # index of the last frame handed out
        self._received = 0
        cap = self._open(source)
        if cap is None:
            raise DrowsyError(f"cannot open {self.name}")
        self._thread = threading.Thread(target=self._run, args=(cap,), name="drowsy-capture", daemon=True)
        self._thread.start()
        with self._cond:
            self._cond.wait_for(lambda: self._latest is not None, timeout=open_timeout_s)
            first = self._latest
        if first is None:
            self.close()
            raise DrowsyError(f"{self.name} opened but sent no frame within {open_timeout_s:g} s")
        self.size = (int(first[0].shape[1]), int(first[0].shape[0]))

    # -- reader thread ---------------------------------------------------------------------
    def _emit(self, kind: str, **data) -> None:
        with self._cond:
            self._events.append(Event(t=time.monotonic(), kind=kind, data={"source": self.name, **data}))
            self._cond.notify_all()

    def _run(self, cap) -> None:
        fail_since, fails = None, 0
        try:
            while not self._stop.is_set():
                ok, image = cap.read()
                now = time.monotonic()
                if ok and image is not None and getattr(image, "size", 0):
                    fail_since, fails = None, 0
                    with self._cond:
                        if self._latest is not None and self._latest[2] > self._taken:
                            self.dropped += 1
                        self._latest = (image, now, self._received)
                        self._received += 1
                        self._cond.notify_all()
                    continue
                # One bad read (a damaged MJPEG frame) is not a lost camera; a run of them is.
                self.failed += 1
                fails += 1
                fail_since = now if fail_since is None else fail_since
                if fails < LOST_AFTER_READS and now - fail_since < LOST_AFTER_S:
                    time.sleep(0.01)
                    continue
                cap.release()
                cap = self._reconnect(now)
                fail_since, fails = None, 0
        finally:
            if cap is not None:
                cap.release()
            with self._cond:
                self.ended = True
                self._cond.notify_all()

    def _reconnect(self, lost_t: float):
        self._emit("camera_lost")
        delay = FIRST_BACKOFF_S
        while not self._stop.wait(delay):
            cap = self._open(self.source)
            if cap is not None:
                self._emit("camera_back", gap_s=round(time.monotonic() - lost_t, 3))
                return cap
            delay = min(delay * 2, self.reconnect_max_s)
        return None

    # -- consumer side ---------------------------------------------------------------------
    def read(self, timeout_s: float | None = None) -> Frame | None:
        """The newest frame not handed out yet; None after timeout_s or once closed."""
        with self._cond:
            fresh = lambda: self._latest is not None and self._latest[2] > self._taken  # noqa: E731
            self._cond.wait_for(lambda: fresh() or self.ended, timeout=timeout_s)
            if not fresh() or self._stop.is_set():
                return None
            image, t, index = self._latest
            self._taken = index
            return Frame(image=image, index=index, t=t)

    def poll_events(self) -> list[Event]:
        with self._cond:
            out, self._events = self._events, []
        return out

    def close(self, timeout_s: float = 0.5) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread = getattr(self, "_thread", None)
        # A read can block for the stream's read timeout; the daemon thread then finishes
        # (and releases the capture) on its own.
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        self.ended = True
