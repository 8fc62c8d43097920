"""The driver monitor: the eye logic (temporal.py) and the attention logic (attention.py) fed
from one frame's gate and driver facts (gate.py, gaze.py), sharing one set of alerts (alerts.py).

It has the temporal stage's interface (cfg, threshold, gap, finish) plus `judge(t, face, crops,
scores)`, the one call per frame of pipeline.judge. Open eyes looking down are not judged by the
eye logic (reason "looking_down": lowered lids are not a closure) and are off the road.
"""

from __future__ import annotations

from dataclasses import replace

from ..settings import DEFAULT_HYSTERESIS, TemporalConfig
from ..types import Drowsiness, Event, Face
from .alerts import AlertBook
from .attention import AttentionMonitor
from .gate import assessability
from .gaze import GazeReader
from .temporal import DrowsinessMonitor


class DriverMonitor:
    def __init__(self, cfg: TemporalConfig, threshold: float, hysteresis: float = DEFAULT_HYSTERESIS):
        self.eyes = DrowsinessMonitor(cfg, threshold, hysteresis)  # checks the settings first
        self.alerts: AlertBook = self.eyes.alerts
        self.attention = AttentionMonitor(cfg, self.alerts)
        self.gaze = GazeReader(cfg)
        self._seen = False  # a face yet: before the first one there is no driver to watch

    @property
    def cfg(self) -> TemporalConfig:
        return self.eyes.cfg

    @property
    def threshold(self) -> float:
        return self.eyes.threshold

    @property
    def hysteresis(self) -> float:
        return self.eyes.hysteresis

    def judge(self, t: float, face: Face | None, crops, scores) -> Drowsiness:
        att = self.gaze(t, face)
        reason = assessability(face, crops, self.cfg)  # None: a face, hence crops and scores
        if reason is None and att.looking_down:
            reason = "looking_down"
        state = self.eyes.update(t, scores.fused if reason is None else None, reason, drop=att.drop)
        # While a closure continues unseen (head dropped, slumped) the driver is asleep, not
        # distracted: the attention logic waits. So it does until a face is first seen (an empty
        # seat, a camera still being aimed).
        self._seen = self._seen or face is not None
        waits = self.eyes.unseen_since is not None or att.on_road is None or not self._seen
        off = None if waits else not att.on_road
        ev = self.attention.update(t, off, att.why)
        return self._merge(state, ev, att)

    def update(self, t: float, p_closed: float | None, unassessable: str | None = None) -> Drowsiness:
        """The eye logic alone, for a recorded score (no face facts)."""
        return self.eyes.update(t, p_closed, unassessable)

    def gap(self, t: float, reason: str = "camera_lost") -> Drowsiness:
        return self._merge(self.eyes.gap(t, reason), self.attention.update(t, None), None)

    def finish(self, t: float) -> tuple[Event, ...]:
        return tuple(self.eyes.finish(t)) + tuple(self.attention.finish(t))

    def _merge(self, state: Drowsiness, ev: list[Event], att) -> Drowsiness:
        reason, level = self.alerts.top()
        if reason is None and state.reason == "not_visible":
            reason = "not_visible"
        return replace(state, events=state.events + tuple(ev), alert=level is not None, reason=reason,
                       level=level, attention=att)
