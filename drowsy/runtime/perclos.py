"""PERCLOS bookkeeping: closed and assessable seconds in a sliding window (temporal.py uses it)."""

from __future__ import annotations

from collections import deque

CLOSED, OPEN, UNASSESSABLE = "closed", "open", "unassessable"


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
