"""Attention: eyes off the forward road → distraction and unresponsive alerts (Euro NCAP 2023 DSM).

Fed one frame's fact at a time: off the road (True), on it (False) or unknown (None: too dark to
tell, or the eye logic holds a closure that continues unseen, which is its business). Time is
measured from timestamps; each frame's fact holds until the next frame, for at most max_gap_s.
- long distraction: one stretch off the road >= long_distraction_s → alert "distraction"
  (warning), kind "long";
- VATS: off-road time within the last vats_window_s >= vats_s → "distraction", kind "vats"; the
  count restarts after vats_reset_s continuously on the road, and after each VATS alert;
- unresponsive (critical): one stretch off the road >= unresponsive_s, or no on-road frame within
  no_return_s of a distraction alert.
A glance ends when the driver has been back on the road for on_road_min_s (a shorter return is
part of it); both alerts clear then, once on for min_alert_s. Shorter glances (mirror checks) raise
nothing. A `looking_down` event marks the start of each stretch of open eyes looking down.
"""

from __future__ import annotations

from collections import deque

from ..settings import TemporalConfig
from ..types import Event
from .alerts import EPS, AlertBook, _r

OWNER = "attention"


class AttentionMonitor:
    def __init__(self, cfg: TemporalConfig, alerts: AlertBook):
        self.cfg, self.alerts = cfg, alerts
        self._last_t: float | None = None
        self._last_off: bool | None = None
        self.off_since: float | None = None  # start of the current stretch off the road
        self._on_since: float | None = None
        self._segments: deque[list[float]] = deque()  # off-road [t0, t1] within the VATS window
        self._warned: float | None = None  # a distraction alert waiting for a return to the road
        self._down = False

    def vats_s(self) -> float:
        return sum(b - a for a, b in self._segments)

    def update(self, t: float, off: bool | None, why: str | None = None) -> list[Event]:
        cfg, ev = self.cfg, []
        t = t if self._last_t is None else max(float(t), self._last_t)
        held = t if self._last_t is None else min(t, self._last_t + cfg.max_gap_s)
        if self._last_off is False and held - self._on_since >= cfg.vats_reset_s - EPS:
            self._segments.clear()  # back on the road long enough (held until this frame)
        if self._last_t is not None and self._last_off:
            t0, t1 = self._last_t, held
            if self._segments and self._segments[-1][1] == t0:
                self._segments[-1][1] = t1
            elif t1 > t0:
                self._segments.append([t0, t1])
        while self._segments and self._segments[0][1] <= t - cfg.vats_window_s:
            self._segments.popleft()
        if self._segments and self._segments[0][0] < t - cfg.vats_window_s:
            self._segments[0][0] = t - cfg.vats_window_s
        down = why == "looking_down"
        if down and not self._down:
            ev.append(Event(t, "looking_down"))
        self._down = down
        if off is True:
            self.off_since = t if self.off_since is None else self.off_since
            self._on_since = None
        elif off is False:
            self._on_since = t if self._on_since is None else self._on_since
        # A return to the road ends a glance away once it has lasted on_road_min_s: a frame or two
        # back in the zone (the head pose read a degree inside a limit, a face lost and found) is
        # part of the glance. Until then the glance's length stops growing at the return.
        back = off is False and t - self._on_since >= self.cfg.on_road_min_s - EPS
        if back:
            self.off_since, self._warned = None, None
        self._last_t, self._last_off = t, off
        until = t if self._on_since is None else self._on_since
        off_for = 0.0 if self.off_since is None else until - self.off_since
        if off_for >= cfg.long_distraction_s - EPS:
            self._distraction(t, "long", off_for, why, ev)
        elif self.vats_s() >= cfg.vats_s - EPS:
            self._distraction(t, "vats", self.vats_s(), why, ev)
            self._segments.clear()
        if off_for >= cfg.unresponsive_s - EPS:
            self.alerts.raise_("unresponsive", t, ev, owner=OWNER, cause="off_road", off_road_s=_r(off_for))
        elif self._warned is not None and off is not False and t - self._warned >= cfg.no_return_s - EPS:
            self.alerts.raise_("unresponsive", t, ev, owner=OWNER, cause="no_return", off_road_s=_r(off_for))
        if back:
            self.alerts.clear("distraction", t, ev, owner=OWNER)
            self.alerts.clear("unresponsive", t, ev, owner=OWNER)
        return ev

    def _distraction(self, t: float, kind: str, off_s: float, why: str | None, ev: list[Event]) -> None:
        if self.alerts.raise_("distraction", t, ev, owner=OWNER, kind=kind, off_road_s=_r(off_s), why=why):
            self._warned = t

    def finish(self, t: float) -> list[Event]:
        ev: list[Event] = []
        self.alerts.finish(t, ev, owner=OWNER)
        return ev
