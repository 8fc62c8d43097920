"""Temporal stage: one fused closed score per frame → Drowsiness (PERCLOS, blinks, microsleep, alerts).

Everything is measured in seconds from the frames' timestamps, never in frames, so 10 and 30
frames per second give the same answer. Each frame's state (closed / open / not assessable)
holds from its timestamp until the next frame's, for at most `max_gap_s`; the rest of a longer
gap is not assessable. PERCLOS = closed time / assessable time in [t - window_s, t].

Two alerts, each with its own alert_on / alert_off events (the `reason` pairs them):
- "microsleep": raised at the first frame whose closure has lasted ≥ microsleep_s (or at the
  opening frame, if the closure crossed microsleep_s between two frames); cleared at the first
  frame that is not closed once it has been on for min_alert_s.
- "perclos": raised when PERCLOS ≥ perclos_alert (not within cooldown_s after the last one
  cleared); cleared when PERCLOS < perclos_clear or unknown, once on for min_alert_s.
Frames that cannot be judged are neither open nor closed: they interrupt a closure (it never
becomes a microsleep through them) and a stretch of them ≥ not_visible_s is reported as
`not_visible` with Drowsiness.alert False and reason "not_visible" — never as a closed-eye alert.
Defaults and their sources: see settings.py.
"""

from __future__ import annotations

import math
from collections import deque

from ..errors import DrowsyError, UsageError
from ..settings import DEFAULT_HYSTERESIS, LIMITS, TemporalConfig, check, range_problem
from ..types import Drowsiness, Event

CLOSED, OPEN, UNASSESSABLE = "closed", "open", "unassessable"
EPS = 1e-9  # seconds: i/30 - j/30 must not miss a threshold by a rounding error


def _r(x: float) -> float:
    return round(float(x), 4)  # event data: 0.1 ms is plenty, and the logs stay readable


class PerclosWindow:
    """Closed and assessable seconds in the last `window_s`, from time segments.

    Only assessable segments are stored (unassessable time counts for nothing), adjacent ones of
    one state are merged, and segments older than the window are evicted: O(1) amortised per
    frame, and at most one segment per state change within the window.
    """

    def __init__(self, window_s: float):
        self.window_s = window_s
        self.segments: deque[list] = deque()  # [t0, t1, closed: bool]
        self.closed_s = 0.0
        self.assessable_s = 0.0

    def add(self, t0: float, t1: float, state: str) -> None:
        if t1 <= t0 or state == UNASSESSABLE:
            return
        closed = state == CLOSED
        last = self.segments[-1] if self.segments else None
        if last is not None and last[2] == closed and last[1] == t0:
            last[1] = t1
        else:
            self.segments.append([t0, t1, closed])
        self.assessable_s += t1 - t0
        self.closed_s += (t1 - t0) if closed else 0.0

    def evict(self, t: float) -> None:
        lo = t - self.window_s
        while self.segments and self.segments[0][0] < lo:
            seg = self.segments[0]
            cut = min(seg[1], lo) - seg[0]
            self.assessable_s -= cut
            self.closed_s -= cut if seg[2] else 0.0
            if seg[1] <= lo:
                self.segments.popleft()
            else:
                seg[0] = lo
        if not self.segments:  # no float drift survives an empty window
            self.closed_s = self.assessable_s = 0.0

    def perclos(self, min_assessable_s: float) -> float | None:
        if self.assessable_s <= 0.0 or self.assessable_s < min_assessable_s - 1e-9:
            return None
        return min(1.0, max(0.0, self.closed_s / self.assessable_s))


class DrowsinessMonitor:
    """The temporal stage as one stateful callable: update(t, p_closed) → Drowsiness.

    Deterministic: the same (t, p_closed, unassessable) sequence gives the same states and events.
    """

    def __init__(self, cfg: TemporalConfig, threshold: float, hysteresis: float = DEFAULT_HYSTERESIS):
        problems = check(cfg)
        if problems:
            name, why = problems[0]
            raise UsageError(f"temporal setting {name} {why}, got {getattr(cfg, name)!r}")
        thr = cfg.closed_threshold if cfg.closed_threshold is not None else threshold
        if range_problem(thr, LIMITS["closed_threshold"]):
            raise UsageError(f"closed threshold must be between 0 and 1, got {thr!r}")
        self.cfg = cfg
        self.threshold = float(thr)
        # Like the threshold: the setting when given, else the eye model's (its metadata).
        self.hysteresis = float(cfg.hysteresis if cfg.hysteresis is not None else hysteresis)
        if self.hysteresis >= self.threshold:  # reopening below 0: one blink would never end
            whose = lambda v, own: "" if v is not None else f" (the eye model's {own})"  # noqa: E731
            raise UsageError(f"hysteresis {self.hysteresis:g}{whose(cfg.hysteresis, 'hysteresis')} must be below the "
                             f"closed threshold {self.threshold:g}{whose(cfg.closed_threshold, 'threshold')}")
        self.open_below = max(0.0, self.threshold - self.hysteresis)
        self.window = PerclosWindow(cfg.window_s)
        self._last_t: float | None = None
        self._last_state = UNASSESSABLE
        self._eye_closed = False  # hysteresis memory
        self._face: bool | None = None  # last seen face presence, for face_lost / face_found
        self._closure_start: float | None = None
        self._closure_alerted = False
        self._hidden_start: float | None = None  # start of the current unassessable stretch
        self._hidden_reported = False
        self._hidden_reason = ""
        self._microsleep_on: float | None = None
        self._perclos_on: float | None = None
        self._perclos_cleared: float | None = None
        self._perclos: float | None = None

    def update(self, t: float, p_closed: float | None, unassessable: str | None = None) -> Drowsiness:
        """One frame at `t` seconds. p_closed: the fused closed score, None when unassessable."""
        return self._step(t, p_closed, unassessable, frame=True)

    def gap(self, t: float, reason: str = "camera_lost") -> Drowsiness:
        """No frame up to `t` (camera lost): the time counts as not assessable."""
        return self._step(t, None, reason, frame=False)

    def finish(self, t: float) -> tuple[Event, ...]:
        """End of input at `t`: close an open closure, alert and unassessable stretch."""
        ev: list[Event] = []
        if self._last_t is None:
            return ()
        # Only close what is open: the time after the last frame is neither a gap to report
        # as not visible nor part of PERCLOS any more.
        t = max(float(t), self._last_t)
        self._end_closure(min(t, self._last_t + self.cfg.max_gap_s), t, "end_of_input", ev)
        if self._microsleep_on is not None:
            self._alert_off("microsleep", t, ev)
        if self._perclos_on is not None:
            self._alert_off("perclos", t, ev)
        if self._hidden_start is not None:
            self._end_hidden(t, ev, ended_by="end_of_input")
        return tuple(ev)

    # -- the steps of one update ------------------------------------------------------------

    def _advance(self, t: float, reason: str, ev: list[Event]) -> float:
        """Account the time since the last frame; returns t (clamped: time never runs backwards)."""
        t = float(t)
        if not math.isfinite(t):
            raise DrowsyError(f"frame time must be a finite number of seconds, got {t}")
        if self._last_t is None:
            return t
        t = max(t, self._last_t)
        held_until = min(t, self._last_t + self.cfg.max_gap_s)
        self.window.add(self._last_t, held_until, self._last_state)
        if t > held_until:  # a gap longer than max_gap_s: the rest is not assessable
            self._interrupt(held_until, t, reason, ev)
        self.window.evict(t)
        self._perclos = self.window.perclos(self.cfg.min_assessable_s)
        return t

    def _step(self, t: float, p_closed: float | None, unassessable: str | None, frame: bool) -> Drowsiness:
        ev: list[Event] = []
        if p_closed is not None:
            p_closed = float(p_closed)  # numpy scalars would leak np.bool_ into the JSON records
        if unassessable is None and (p_closed is None or not math.isfinite(p_closed)):
            unassessable = "no_score"
        t = self._advance(t, unassessable or "frame_gap", ev)
        if frame:
            self._face_events(t, unassessable != "no_face", ev)
        closed: bool | None = None
        if unassessable:
            state = UNASSESSABLE
            self._interrupt(t, t, unassessable, ev)
        else:
            if self._hidden_start is not None:
                self._end_hidden(t, ev)
            # Hysteresis: closed at p >= threshold, open again only below threshold - hysteresis.
            closed = p_closed >= (self.open_below if self._eye_closed else self.threshold)
            self._eye_closed = closed
            state = CLOSED if closed else OPEN
            if closed:
                if self._closure_start is None:
                    self._closure_start, self._closure_alerted = t, False
                if t - self._closure_start >= self.cfg.microsleep_s - EPS and not self._closure_alerted:
                    self._closure_alerted = True
                    self._alert_on("microsleep", t, t - self._closure_start, ev)
            else:
                self._end_closure(t, t, None, ev)
        closed_for = t - self._closure_start if closed and self._closure_start is not None else 0.0
        self._update_alerts(t, closed, closed_for, ev)
        self._last_t, self._last_state = t, state
        if self._microsleep_on is not None:
            reason = "microsleep"
        elif self._perclos_on is not None:
            reason = "perclos"
        else:
            reason = "not_visible" if self._hidden_reported else None
        alert = self._microsleep_on is not None or self._perclos_on is not None
        return Drowsiness(closed=closed, perclos=self._perclos, closed_for_s=closed_for,
                          alert=alert, reason=reason, events=tuple(ev))

    def _face_events(self, t: float, has_face: bool, ev: list[Event]) -> None:
        if self._face is True and not has_face:
            ev.append(Event(t, "face_lost"))
        elif self._face is False and has_face:
            ev.append(Event(t, "face_found"))
        self._face = has_face

    def _interrupt(self, t_end: float, t_now: float, reason: str, ev: list[Event]) -> None:
        """The eyes stop being assessable at t_end: a closure ends there, a hidden stretch starts."""
        self._end_closure(t_end, t_now, reason, ev)
        self._eye_closed = False  # after a break a new closure needs p >= threshold again
        if self._hidden_start is None:
            self._hidden_start, self._hidden_reported = t_end, False
        self._hidden_reason = reason
        if not self._hidden_reported and t_now - self._hidden_start >= self.cfg.not_visible_s - EPS:
            self._report_hidden(t_now, ev)

    def _end_closure(self, t_end: float, t_now: float, ended_by: str | None, ev: list[Event]) -> None:
        """A closure ends at t_end (eyes seen open, or interrupted: ended_by says why)."""
        if self._closure_start is None:
            return
        start, duration = self._closure_start, t_end - self._closure_start
        self._closure_start = None
        # Only an observed closed frame past microsleep_s, or an observed opening after it,
        # makes a microsleep: an interrupted closure is never stretched into one.
        long = self._closure_alerted or (ended_by is None and duration >= self.cfg.microsleep_s - EPS)
        data = {"start": _r(start), "duration_s": _r(duration)}
        if ended_by is not None:
            data["ended_by"] = ended_by
        ev.append(Event(t_now, "microsleep" if long else "blink", data))
        if long and not self._closure_alerted:  # crossed microsleep_s between two frames
            self._alert_on("microsleep", t_now, duration, ev)
        self._closure_alerted = False

    def _report_hidden(self, t: float, ev: list[Event]) -> None:
        self._hidden_reported = True
        ev.append(Event(t, "not_visible", {"start": _r(self._hidden_start), "reason": self._hidden_reason,
                                           "duration_s": _r(t - self._hidden_start)}))

    def _end_hidden(self, t: float, ev: list[Event], ended_by: str | None = None) -> None:
        start = self._hidden_start
        if not self._hidden_reported and t - start >= self.cfg.not_visible_s - EPS:
            self._report_hidden(t, ev)  # the stretch crossed not_visible_s after its last frame
        if self._hidden_reported:
            data = {"start": _r(start), "duration_s": _r(t - start)}
            if ended_by:
                data["ended_by"] = ended_by
            ev.append(Event(t, "visible_again", data))
        self._hidden_start, self._hidden_reported = None, False

    def _alert_on(self, reason: str, t: float, closed_for: float, ev: list[Event]) -> None:
        if reason == "microsleep":
            if self._microsleep_on is not None:
                return  # still on from an earlier closure: no second alert_on
            self._microsleep_on = t
        else:
            self._perclos_on = t
        p = None if self._perclos is None else _r(self._perclos)
        ev.append(Event(t, "alert_on", {"reason": reason, "perclos": p, "closed_for": _r(closed_for)}))

    def _alert_off(self, reason: str, t: float, ev: list[Event]) -> None:
        if reason == "microsleep":
            on, self._microsleep_on = self._microsleep_on, None
        else:
            on, self._perclos_on, self._perclos_cleared = self._perclos_on, None, t
        ev.append(Event(t, "alert_off", {"reason": reason, "duration_s": _r(t - on)}))

    def _update_alerts(self, t: float, closed: bool | None, closed_for: float, ev: list[Event]) -> None:
        cfg, p = self.cfg, self._perclos
        ms_on = self._microsleep_on
        if ms_on is not None and closed is not True and t - ms_on >= cfg.min_alert_s - EPS:
            self._alert_off("microsleep", t, ev)
        if self._perclos_on is None:
            cooled = self._perclos_cleared is None or t - self._perclos_cleared >= cfg.cooldown_s - EPS
            if p is not None and p >= cfg.perclos_alert and cooled:
                self._alert_on("perclos", t, closed_for, ev)
        elif (p is None or p < cfg.perclos_clear) and t - self._perclos_on >= cfg.min_alert_s - EPS:
            self._alert_off("perclos", t, ev)
