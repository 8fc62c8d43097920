"""`drowsy run`: a camera, a video file or a stream → overlay window, alarm, JSONL logs.

Order of work, so that every failure is one line before anything is processed and a run that
cannot start never truncates a log: settings are resolved, the --out/--events paths checked
against every input and each other (drowsy/outputs.py), the source opened (its first frame
decoded), the models loaded, the web view's socket bound and the MQTT client set up, then the
--out/--events files opened, then frames flow through the frame loop (loop.py: decode,
landmarks and the rest overlap in threads unless --no-parallel). SIGINT/SIGTERM (and q/Esc in
the window) stop after the current frame, and every wait (opening the source, --realtime
pacing, reconnecting) wakes for them: outputs are flushed, the closing events and the summary
written, the window closed, and the exit code is 0.

Exit codes: 0 done (also a truncated video: what could be read is processed, then one warning
line says the file ended early, because the outputs are valid for the part read); 1 a
handled error (missing or unreadable video, a camera that does not open, an output path that
cannot be written, a bad model); 2 invalid settings. One summary line on stderr at the end.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

PROG = "drowsy run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..settings_io import add_run_arguments

    add_run_arguments(p)


def warn(msg: str) -> None:
    from ..secrets import escape, mask

    print(f"{PROG}: warning: {escape(mask(msg))}", file=sys.stderr, flush=True)


class _Stop:
    """SIGINT/SIGTERM set a flag the loop checks after each frame; a second signal while
    stopping raises KeyboardInterrupt (exit 130) in case something hangs."""

    def __init__(self):
        self.flag = threading.Event()
        self._previous = {}

    def _handler(self, signum, _frame):
        if self.flag.is_set():
            raise KeyboardInterrupt
        self.flag.set()

    def __enter__(self) -> "_Stop":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary(source, n: int, span_s: float, wall_s: float, counts, loop_dropped: int = 0,
             prog: str = PROG) -> None:
    """The last line(s) on stderr: what was processed, and a truncated file if it was one."""
    print(f"{prog}: {_plural(n, 'frame')} ({span_s:.1f} s of input) in {wall_s:.1f} s, "
          f"{n / wall_s if wall_s > 0 else 0.0:.1f} fps; {_plural(counts['blink'], 'blink')}, "
          f"{_plural(counts['alert_on'], 'alert')}; {source.dropped + loop_dropped} dropped, "
          f"{source.failed} failed frames",
          file=sys.stderr, flush=True)
    if getattr(source, "truncated", False):
        warn(f"{source.path} ends early: read up to frame {source.position} of the "
             f"{source.expected_frames} its container declares (truncated file?); the outputs cover the part read")


class _Counter:
    """Frames processed, the input span they cover, and the display's smoothed frame rate."""

    def __init__(self):
        self.n, self.t_first, self.t_last, self.fps, self._last_wall = 0, None, None, None, None

    def add(self, t: float) -> None:
        self.n += 1
        self.t_first = t if self.t_first is None else self.t_first
        self.t_last = t
        now = time.monotonic()
        if self._last_wall is not None and now > self._last_wall:
            inst = 1.0 / (now - self._last_wall)
            self.fps = inst if self.fps is None else 0.9 * self.fps + 0.1 * inst
        self._last_wall = now

    @property
    def span_s(self) -> float:
        return 0.0 if self.t_first is None else self.t_last - self.t_first


def _log_events(events, emit) -> None:
    for ev in events:
        emit(ev)
        if ev.kind in ("camera_lost", "camera_back"):
            where = ev.data.get("source", "source")
            warn(f"{where} lost; reconnecting" if ev.kind == "camera_lost"
                 else f"{where} back after {ev.data.get('gap_s')} s")


def _process(cfg, loop, pipeline, frames_log, emit, remote, window, alarm, label=None) -> _Counter:
    """Consume the frame loop: logs, remote sinks, alarm and window per step; stops when the
    window closes."""
    from .render import draw

    count = _Counter()
    for step in loop:
        _log_events(step.events, emit)
        if step.gap is not None:
            alarm.update(step.gap.alert, step.gap.level)
        result = step.result
        if result is None:
            if not window.poll():
                break
            continue
        frames_log.add(result)
        for sink in remote:
            sink.on_frame(result)
        for ev in result.state.events:
            emit(ev)
        alarm.update(result.state.alert, result.state.level)
        count.add(result.frame.t)
        if window.active and not window.show(draw(result.frame.image, result, count.fps, pipeline.threshold,
                                                  getattr(cfg.temporal, "perclos_alert", None), label)):
            break
    return count


def _check_geometry_with_tracking(cfg, profile) -> None:
    """A profile's lid geometry needs fresh landmarks on every frame: optical flow (track.py) moves
    them rigidly, so the eye aspect ratio between two landmark passes is that of the last pass,
    and a blink there would be outvoted by open-eye geometry (UsageError, before any output)."""
    from ..errors import UsageError
    from .track import landmarks_every

    geo = None if profile is None else profile.geometry
    if geo is not None and geo.weight and landmarks_every(cfg.model.landmarks_every) != 1:
        raise UsageError(f"--landmarks-every {cfg.model.landmarks_every} cannot go with this profile's lid geometry "
                         f"(weight {geo.weight:g}): it needs landmarks on every frame (--landmarks-every 1)")


def run(cfg, stop: threading.Event | None = None, *, opener=None, sinks=(), prog: str = PROG) -> int:
    """Process the configured source until it ends or `stop` is set; returns the exit code.

    `drowsy demo` reuses this whole run: `opener(cfg.source, stop)` replaces open_source (its
    looping clip), `sinks` are extra sinks like --serve's (on_frame, on_event, close; its
    terminal narration) and `prog` names the command in the summary line."""
    from .alarm import Alarm
    from .pipeline import Pipeline
    from .remote import check as check_remote, close_all, open_remote
    from .profile import for_run
    from .sources import open_source
    from .render import Window
    from .sinks import EventLog, FrameLog, check_run_outputs

    stop = stop or threading.Event()
    frames_log = events_log = source = pipeline = window = alarm = None
    remote = []  # --serve, --mqtt: each gets every frame result and event

    def emit(ev) -> None:
        events_log.add(ev)
        for sink in remote:
            sink.on_event(ev)

    try:
        check_remote(cfg)
        cfg, profile = for_run(cfg)  # before any output: a bad profile is one line, nothing written
        label = None if profile is None else profile.name
        _check_geometry_with_tracking(cfg, profile)
        if profile is not None:
            print(f"{PROG}: {profile.describe()}", file=sys.stderr, flush=True)  # describe() escapes the name
        check_run_outputs(cfg)  # before anything opens: no log is truncated by a run that cannot start
        source = (opener or open_source)(cfg.source, stop)
        if source is None:
            print(f"{PROG}: stopped while opening the source; nothing processed, no output written",
                  file=sys.stderr, flush=True)
            return 0
        pipeline = Pipeline.from_config(cfg)
        if profile is not None:  # the driver's lid geometry joins the fused score (None: CNN alone)
            pipeline.classifier.geometry = profile.geometry
        # The web server's socket is bound and the MQTT TLS context loaded before the logs open:
        # a port in use or a bad CA file must not empty yesterday's --out/--events.
        remote = [*sinks, *open_remote(cfg, pipeline.threshold, warn)]
        frames_log = FrameLog(cfg.output.out, extra=None if profile is None else {"profile": label})
        events_log = EventLog(cfg.output.events)
        window = Window("drowsy", headless=cfg.output.headless, warn=warn)
        alarm = Alarm(cfg.output.alarm, warn=warn)
        wall0 = time.monotonic()
        with pipeline.run(source, stop, parallel=getattr(cfg.model, "parallel", True)) as loop:
            count = _process(cfg, loop, pipeline, frames_log, emit, remote, window, alarm, label)
        if count.t_last is not None:
            for ev in pipeline.finish(count.t_last):
                emit(ev)
        _summary(source, count.n, count.span_s, time.monotonic() - wall0, events_log.counts, loop.dropped, prog)
        return 0
    finally:
        close_all(remote)  # after the summary: MQTT adds its own line (published, dropped)
        for part in (alarm, window, pipeline, source, events_log, frames_log):
            if part is not None:
                part.close()


def main(args: argparse.Namespace) -> int:
    from ..settings_io import resolve, to_toml

    from .sinks import check_run_outputs

    cfg = resolve(args)
    if getattr(args, "print_config", False):
        print(to_toml(cfg, mask_secrets=not getattr(args, "show_secrets", False)), end="")
        return 0
    check_run_outputs(cfg, getattr(args, "config", None))
    with _Stop() as stop:
        return run(cfg, stop.flag)
