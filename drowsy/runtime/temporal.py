"""Temporal stage: one fused closed score per frame → Drowsiness (PERCLOS, blinks, microsleep, alerts).

Everything is measured in seconds from the frames' timestamps, never in frames, so 10 and 30
frames per second give the same answer. Each frame's state (closed / open / not assessable)
holds from its timestamp until the next frame's, for at most `max_gap_s`; the rest of a longer
gap is not assessable. PERCLOS = closed time / assessable time in [t - window_s, t].

Alerts (alerts.py: each with its alert_on / alert_off events, a `reason` and a `level`):
- "microsleep" (warning), "sleep" and "unresponsive" (critical): raised at the first frame whose
  closure has lasted ≥ microsleep_s, sleep_s, unresponsive_s (a microsleep also at the opening
  frame, if the closure crossed microsleep_s between two frames); cleared once the closure has
  ended and the alert has been on for min_alert_s.
- "perclos" (advisory): raised when PERCLOS ≥ perclos_alert (not within cooldown_s after the
  last one cleared); cleared when PERCLOS < perclos_clear or unknown, once on for min_alert_s.
Frames that cannot be judged are neither open nor closed: they interrupt a closure (it never
becomes a microsleep through them) and a stretch of them ≥ not_visible_s is reported as
`not_visible` with Drowsiness.alert False and reason "not_visible" — never as a closed-eye alert.
One exception, the classic microsleep: a closure already longer than a blink (drop_min_closure_s)
whose last closed frame is at most drop_within_s old when the head drops (update's drop="head_drop")
or the face leaves the picture (drop="slump") CONTINUES unseen: a `head_drop` / `slump` event is
logged and its length keeps counting towards the closure alerts, until the eyes are judged again
(open ends it, closed carries it on), the driver is seen looking down with open eyes, the camera
is lost, or it has run unseen_max_s. Unseen time adds nothing to PERCLOS.
Defaults and their sources: see settings.py.
"""

from __future__ import annotations

import math

from ..errors import DrowsyError, UsageError
from ..settings import DEFAULT_HYSTERESIS, LIMITS, TemporalConfig
from ..settings_check import check, range_problem
from ..types import Drowsiness, Event
from .alerts import EPS, AlertBook
from .gate import assessability
from .perclos import CLOSED, OPEN, UNASSESSABLE, PerclosWindow

# Closure alerts by the closure's length, lowest first (the lengths are settings).
CLOSURE_ALERTS = (("microsleep", "microsleep_s"), ("sleep", "sleep_s"), ("unresponsive", "unresponsive_s"))
# What ends a closure that continues unseen (after a head drop or a slump): eyes seen open and
# looking down, or the camera itself gone. Anything else (no face, head turned) keeps it.
ENDS_UNSEEN = ("looking_down", "camera_lost", "end_of_input")


def _r(x: float) -> float:
    return round(float(x), 4)  # event data: 0.1 ms is plenty, and the logs stay readable


class DrowsinessMonitor:
    """The temporal stage as one stateful callable: update(t, p_closed) → Drowsiness.

    Deterministic: the same (t, p_closed, unassessable, drop) sequence gives the same states and
    events. `alerts`: an AlertBook shared with the attention logic (driver.py); else its own.
    """

    def __init__(self, cfg: TemporalConfig, threshold: float, hysteresis: float = DEFAULT_HYSTERESIS,
                 alerts: AlertBook | None = None):
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
        self.alerts = alerts if alerts is not None else AlertBook(cfg.min_alert_s)
        self._last_t: float | None = None
        self._last_state = UNASSESSABLE
        self._eye_closed = False  # hysteresis memory
        self._face: bool | None = None  # last seen face presence, for face_lost / face_found
        self._closure_start: float | None = None
        self._closure_raised: set[str] = set()  # closure alerts this closure has raised
        self._last_closed_t: float | None = None
        self._dropped = False  # a head drop (or slump) was logged in this closure
        self.unseen_since: float | None = None  # the closure continues unseen since then
        self._hidden_start: float | None = None  # start of the current unassessable stretch
        self._hidden_reported = False
        self._hidden_reason = ""
        self._perclos_cleared: float | None = None
        self._perclos: float | None = None

    def update(self, t: float, p_closed: float | None, unassessable: str | None = None,
               drop: str | None = None) -> Drowsiness:
        """One frame at `t` seconds. p_closed: the fused closed score, None when unassessable.
        drop: "head_drop" (head pitched past the gate or fast down) or "slump" (face gone) when
        the driver's facts (gaze.py) say so, else None."""
        return self._step(t, p_closed, unassessable, frame=True, drop=drop)

    def judge(self, t: float, face, crops, scores) -> Drowsiness:
        """The gate (cfg's pose and light limits), then the eye logic, for one frame: the eyes
        alone, without the driver's gaze and head (driver.DriverMonitor.judge adds those)."""
        reason = assessability(face, crops, self.cfg)  # None: a face, hence crops and scores
        return self.update(t, scores.fused if reason is None else None, reason)

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
        self.unseen_since = None
        self._end_closure(min(t, self._last_t + self.cfg.max_gap_s), t, "end_of_input", ev)
        for reason in ("microsleep", "sleep", "unresponsive", "perclos"):
            self.alerts.clear(reason, t, ev, owner="eyes", force=True)
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

    def _step(self, t: float, p_closed: float | None, unassessable: str | None, frame: bool,
              drop: str | None = None) -> Drowsiness:
        ev: list[Event] = []
        if p_closed is not None:
            p_closed = float(p_closed)  # numpy scalars would leak np.bool_ into the JSON records
        if unassessable is None and (p_closed is None or not math.isfinite(p_closed)):
            unassessable = "no_score"
        t = self._advance(t, unassessable or "frame_gap", ev)
        if frame:
            self._face_events(t, unassessable != "no_face", ev)
        if drop is not None and self._closure_start is not None and not self._dropped:
            self._log_drop(t, drop, unassessable, ev)
        closed: bool | None = None
        if unassessable:
            state = UNASSESSABLE
            self._interrupt(t, t, unassessable, ev)
        else:
            if self._hidden_start is not None:
                self._end_hidden(t, ev)
            self.unseen_since = None  # the eyes are judged again
            # Hysteresis: closed at p >= threshold, open again only below threshold - hysteresis.
            closed = p_closed >= (self.open_below if self._eye_closed else self.threshold)
            self._eye_closed = closed
            state = CLOSED if closed else OPEN
            if closed:
                if self._closure_start is None:
                    self._closure_start, self._closure_raised, self._dropped = t, set(), False
                self._last_closed_t = t
            else:
                self._end_closure(t, t, None, ev)
        closed_for = t - self._closure_start if self._closure_start is not None else 0.0
        if self._closure_start is not None:
            self._closure_alerts(t, closed_for, ev)
        self._update_alerts(t, closed_for, ev)
        self._last_t, self._last_state = t, state
        reason, level = self.alerts.top()
        if reason is None and self._hidden_reported:
            reason = "not_visible"
        return Drowsiness(closed=closed, perclos=self._perclos, closed_for_s=closed_for,
                          alert=level is not None, reason=reason, events=tuple(ev), level=level)

    def _log_drop(self, t: float, drop: str, unassessable: str | None, ev: list[Event]) -> None:
        """The head drops (or the face goes) during a closure longer than a blink: log it once,
        and let the closure continue through the frames the gate cannot judge."""
        age = t - self._closure_start
        recent = self._last_closed_t is not None and t - self._last_closed_t <= self.cfg.drop_within_s + EPS
        if age < self.cfg.drop_min_closure_s - EPS or not recent:
            return
        self._dropped = True
        ev.append(Event(t, drop, {"closure_start": _r(self._closure_start), "closed_for": _r(age),
                                  "seen_as": unassessable or "closed"}))

    def _closure_alerts(self, t: float, closed_for: float, ev: list[Event]) -> None:
        for reason, name in CLOSURE_ALERTS:
            if closed_for >= getattr(self.cfg, name) - EPS and reason not in self._closure_raised:
                self._closure_raised.add(reason)
                self._alert_on(reason, t, closed_for, ev)

    def _face_events(self, t: float, has_face: bool, ev: list[Event]) -> None:
        if self._face is True and not has_face:
            ev.append(Event(t, "face_lost"))
        elif self._face is False and has_face:
            ev.append(Event(t, "face_found"))
        self._face = has_face

    def _interrupt(self, t_end: float, t_now: float, reason: str, ev: list[Event]) -> None:
        """The eyes stop being assessable at t_end: a closure ends there (unless it continues
        unseen after a head drop or slump), a hidden stretch starts."""
        if self._closure_start is not None:
            keep = self._dropped and reason not in ENDS_UNSEEN
            if keep:
                self.unseen_since = t_end if self.unseen_since is None else self.unseen_since
                if t_now - self.unseen_since > self.cfg.unseen_max_s + EPS:
                    keep, reason = False, "unseen_too_long"
            if not keep:
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
        alerted = bool(self._closure_raised)
        long = alerted or (ended_by is None and duration >= self.cfg.microsleep_s - EPS)
        data = {"start": _r(start), "duration_s": _r(duration)}
        if ended_by is not None:
            data["ended_by"] = ended_by
        if self._dropped:
            data["unseen"] = True
        ev.append(Event(t_now, "microsleep" if long else "blink", data))
        if long and not alerted:  # crossed microsleep_s between two frames
            self._alert_on("microsleep", t_now, duration, ev)
        self._closure_raised, self._dropped, self.unseen_since = set(), False, None

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
        if reason == "perclos":
            self._perclos_cleared = None
        p = None if self._perclos is None else _r(self._perclos)
        self.alerts.raise_(reason, t, ev, owner="eyes", perclos=p, closed_for=_r(closed_for))

    def _update_alerts(self, t: float, closed_for: float, ev: list[Event]) -> None:
        cfg, p = self.cfg, self._perclos
        if self._closure_start is None:
            for reason, _ in CLOSURE_ALERTS:
                self.alerts.clear(reason, t, ev, owner="eyes")
        if not self.alerts.is_on("perclos"):
            cooled = self._perclos_cleared is None or t - self._perclos_cleared >= cfg.cooldown_s - EPS
            if p is not None and p >= cfg.perclos_alert and cooled:
                self._alert_on("perclos", t, closed_for, ev)
        elif (p is None or p < cfg.perclos_clear) and self.alerts.clear("perclos", t, ev):
            self._perclos_cleared = t
