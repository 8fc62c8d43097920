"""The alerts that are on, each with its level, shared by the eye logic and the attention logic.

Every alert has a reason and a level (docs/driver-state.md):
  advisory  perclos                      drowsiness building up over a minute
  warning   microsleep, distraction      act now: eyes closed 1.5 s, eyes off the road 3 s
  critical  sleep, unresponsive          eyes closed 3 s; closed or off road 6 s, or no return
                                         to the road within 3 s of a distraction warning
An alert is raised once (alert_on) and cleared once (alert_off), never before it has been on
min_alert_s; both events carry "reason" and "level". Several may be on at once: the highest
level (then the latest raised) is the one shown.
"""

from __future__ import annotations

from ..types import Event

LEVELS = ("advisory", "warning", "critical")
LEVEL_OF = {"perclos": "advisory", "microsleep": "warning", "distraction": "warning",
            "sleep": "critical", "unresponsive": "critical"}
EPS = 1e-9  # seconds: i/30 - j/30 must not miss a threshold by a rounding error


def _r(x: float) -> float:
    return round(float(x), 4)


class AlertBook:
    """reason → (time raised, owner) of every alert that is on."""

    def __init__(self, min_alert_s: float):
        self.min_alert_s = min_alert_s
        self.on: dict[str, tuple[float, str]] = {}

    def is_on(self, reason: str, owner: str | None = None) -> bool:
        return reason in self.on and (owner is None or self.on[reason][1] == owner)

    def since(self, reason: str) -> float | None:
        return self.on[reason][0] if reason in self.on else None

    def raise_(self, reason: str, t: float, ev: list[Event], owner: str = "eyes", **data) -> bool:
        """alert_on at t unless already on; True when raised now."""
        if reason in self.on:
            return False
        self.on[reason] = (t, owner)
        ev.append(Event(t, "alert_on", {"reason": reason, "level": LEVEL_OF[reason], **data}))
        return True

    def clear(self, reason: str, t: float, ev: list[Event], owner: str | None = None, force: bool = False) -> bool:
        """alert_off at t if on (and raised by `owner`, when given) for min_alert_s, or `force`."""
        if not self.is_on(reason, owner):
            return False
        on = self.on[reason][0]
        if not force and t - on < self.min_alert_s - EPS:
            return False
        del self.on[reason]
        ev.append(Event(t, "alert_off", {"reason": reason, "level": LEVEL_OF[reason], "duration_s": _r(t - on)}))
        return True

    def top(self) -> tuple[str | None, str | None]:
        """(reason, level) of the alert to show: the highest level, then the latest raised."""
        if not self.on:
            return None, None
        reason = max(self.on, key=lambda r: (LEVELS.index(LEVEL_OF[r]), self.on[r][0]))
        return reason, LEVEL_OF[reason]

    def finish(self, t: float, ev: list[Event], owner: str | None = None) -> None:
        for reason in [r for r in self.on if owner is None or self.on[r][1] == owner]:
            self.clear(reason, t, ev, force=True)
