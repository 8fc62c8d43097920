"""Capture stage: frame sources → Frame(image BGR uint8, index, t).

- VideoSource: a file, decoded frame by frame as fast as possible (or paced at the file's rate
  with realtime=True); `t` is the frame's own timestamp. `index` is the frame's position in the
  file: frames that fail to decode are skipped and counted (`.failed`), and their positions stay
  taken, so frame numbers match those of an undamaged copy. A file that ends before the length
  its container declares is `.truncated` (containers without a length, like MPEG-PS, cannot tell).
- LiveSource (live.py): a camera or a stream, read on its own thread, newest frame wins;
  sources.open_source picks one of them from a SourceConfig.
- ArraySource: frames from a list of arrays at a fixed rate, for tests and replays.

Every source has `read(timeout_s) -> Frame | None`, `.ended`, `poll_events()` and `close()`,
and iterates over Frames, so the app treats them alike.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..errors import DrowsyError
from ..types import Event, Frame

MAX_BAD_RUN = 25  # failed reads in a row taken as the end of a file (1 s of damage at 25 fps)


def quiet_opencv():
    """Import cv2 with its own logging silenced, unless the user asked for it.

    OpenCV and FFmpeg print warnings for every damaged packet and failed open; drowsy counts
    and reports those itself in one line. OPENCV_FFMPEG_LOGLEVEL is read when the FFmpeg
    backend first starts, so it is set before any capture opens.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    import cv2

    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


class Source:
    """What every source shares: iteration, events, counters, context manager."""

    live = False  # a camera or stream: the frame loop lets the newest frame win
    fps: float | None = None
    size: tuple[int, int] = (0, 0)
    failed = 0
    dropped = 0
    truncated = False
    ended = False

    def read(self, timeout_s: float | None = None) -> Frame | None:  # pragma: no cover
        raise NotImplementedError

    def poll_events(self) -> list[Event]:
        return []

    def close(self) -> None:
        self.ended = True

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                if self.ended:
                    return
                continue
            yield frame

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoSource(Source):
    """A video file, frame by frame; t from the file's timestamps."""

    def __init__(self, path: str | os.PathLike, realtime: bool = False):
        p = Path(path)
        if not p.exists():
            raise DrowsyError(f"video not found: {p}")
        if p.is_dir():
            raise DrowsyError(f"{p} is a folder, not a video")
        if not os.access(p, os.R_OK):
            raise DrowsyError(f"cannot read {p}: permission denied")
        cv2 = quiet_opencv()
        self._cv2 = cv2
        self.path = p
        self.realtime = realtime
        self._fd = None
        self._cap = cv2.VideoCapture(self._openable(p))
        if not self._cap.isOpened():
            self._cap.release()
            raise DrowsyError(f"cannot open {p}: not a video, or a format OpenCV cannot decode")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if math.isfinite(fps) and 0 < fps < 1000 else None
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.expected_frames = int(count) if math.isfinite(count) and count > 0 else None
        self._position = 0  # next frame's index, failed ones included
        self._last_t: float | None = None
        self._wall0: float | None = None
        self._t0 = 0.0
        # Decode the first frame now, so a file with no readable frame fails before any
        # model is loaded or output written.
        self._pending = self._decode()
        if self._pending is None:
            self.close()
            raise DrowsyError(f"cannot read {p}: no frame could be decoded")
        self.size = (int(self._pending.image.shape[1]), int(self._pending.image.shape[0]))

    def _openable(self, p: Path) -> str:
        """A name OpenCV can take: it crashes (SIGSEGV) on a str that is not valid UTF-8, so such
        a file is opened here and handed over as /proc/self/fd/N (Linux; refused elsewhere)."""
        try:
            str(p).encode("utf-8")
            return str(p)
        except UnicodeEncodeError:
            pass
        if not Path("/proc/self/fd").is_dir():
            raise DrowsyError(f"cannot open {p}: its name is not valid UTF-8; rename the file")
        try:
            self._fd = os.open(p, os.O_RDONLY)
        except OSError as e:
            raise DrowsyError(f"cannot open {p}: {e.strerror or e}") from None
        return f"/proc/self/fd/{self._fd}"

    @property
    def position(self) -> int:
        """Frames passed so far (decoded or failed): the next frame's index."""
        return self._position

    def _short(self) -> bool:
        # Some containers only estimate their length (duration × rate): a small shortfall is
        # not evidence of a cut file.
        n = self.expected_frames
        return n is not None and self._position < n - max(1.0, 0.02 * n)

    def _time(self, pos_ms: float) -> float:
        step = 1.0 / (self.fps or 30.0)
        t = pos_ms / 1000.0 if math.isfinite(pos_ms) and pos_ms >= 0 else None
        if self._last_t is None:
            return t if t is not None else 0.0
        # A timestamp that does not advance (some containers report none) is replaced by
        # the previous one plus one frame interval: the temporal logic needs increasing t.
        if t is None or t <= self._last_t:
            return self._last_t + step
        if self.fps:
            # A jump of whole frame intervals means the decoder dropped frames it could not
            # decode (FFmpeg skips them silently): count them and keep their positions.
            missing = int(round((t - self._last_t) * self.fps)) - 1
            if missing > 0:
                self.failed += missing
                self._position += missing
        return t

    def _decode(self) -> Frame | None:
        cv2 = self._cv2
        while not self.ended:
            bad_run = 0
            while not self._cap.grab():
                # A damaged packet fails one grab and the next continues after it; only a
                # run of failures (or reaching the declared length) is the end of the file.
                bad_run += 1
                at_end = self.expected_frames is not None and self._position >= self.expected_frames
                if at_end or bad_run >= MAX_BAD_RUN:
                    self.ended = True
                    self.truncated = self._short()
                    return None
            t = self._time(self._cap.get(cv2.CAP_PROP_POS_MSEC))
            if bad_run and not self.fps:  # no frame rate to measure the gap: count the failures
                self.failed += bad_run
                self._position += bad_run
            ok, image = self._cap.retrieve()
            self._last_t = t
            if not ok or image is None or image.size == 0 or image.dtype != np.uint8:
                self.failed += 1
                self._position += 1
                continue
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            frame = Frame(image=image, index=self._position, t=t)
            self._position += 1
            return frame
        return None

    def read(self, timeout_s: float | None = None) -> Frame | None:
        """The next frame; with realtime pacing, None when it is not due within timeout_s (it is
        kept for the next call), so a caller checking for a stop signal wakes at least that often
        even in a file whose frames lie minutes apart."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            frame = self._decode()
        if frame is not None and self.realtime:
            if self._wall0 is None:
                self._wall0, self._t0 = time.monotonic(), frame.t
            # Pace only: when processing is slower than the file, no frame is skipped.
            delay = self._wall0 + (frame.t - self._t0) - time.monotonic()
            if timeout_s is not None and delay > timeout_s:
                time.sleep(max(0.0, timeout_s))
                self._pending = frame
                return None
            if delay > 0:
                time.sleep(delay)
        return frame

    def close(self) -> None:
        self.ended = True
        cap = getattr(self, "_cap", None)
        if cap is not None:
            cap.release()
            self._cap = None
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)


class ArraySource(Source):
    """Frames from a list of images at a fixed rate: t = t0 + i / fps."""

    def __init__(self, images: Sequence[np.ndarray], fps: float = 25.0, t0: float = 0.0):
        if not fps > 0:
            raise DrowsyError(f"fps must be > 0, got {fps}")
        self.images = images
        self.fps = float(fps)
        self.t0 = t0
        self._i = 0
        first = images[0] if len(images) else None
        self.size = (0, 0) if first is None else (int(first.shape[1]), int(first.shape[0]))
        self.ended = len(images) == 0

    def read(self, timeout_s: float | None = None) -> Frame | None:
        if self._i >= len(self.images):
            self.ended = True
            return None
        i = self._i
        self._i += 1
        return Frame(image=self.images[i], index=i, t=self.t0 + i / self.fps)
