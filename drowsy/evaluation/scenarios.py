"""Scenario schedules: what a synthetic driver does, second by second, and each frame's label.

A Scenario is a duration, eye events (blinks, closures held for seconds) and Moves (a head turn
or pitch, an iris shift, the picture sliding out of view, each ramped in and out). `frame_plan`
turns it into one FramePlan per frame at the clip's rate: which source frame to show (an open
stretch played back and forth, a blink's frames, or the closed frames held), the pose, iris and
slide commanded, and the label that follows from the schedule (eyes, on/off road, zone).
Everything is seconds: a scenario at 10 or 30 FPS has the same schedule. Rendering: scenario_render.py;
the Euro-NCAP-shaped suite and its expected outcomes: scenario_suite.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .clips import Labels


@dataclass(frozen=True)
class Move:
    """From start_s to end_s the driver looks at `zone` (off the forward road) with the head at
    yaw/pitch (degrees, the runtime's convention), the irises shifted by iris=(dx, dy) eye widths /
    heights, and/or the picture slid by `slide` (fraction of the frame) towards slide_dir; ramps of
    ramp_s in and out (a head turn takes ~0.3 s). end_s None: held to the end of the clip."""

    start_s: float
    end_s: float | None
    zone: str
    yaw: float = 0.0
    pitch: float = 0.0
    iris: tuple[float, float] = (0.0, 0.0)
    slide: float = 0.0
    slide_dir: str = "down"
    ramp_s: float = 0.3


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_s: float
    description: str
    expect: str  # a key of scenario_suite.EXPECTATIONS
    trigger_s: float  # when the tested behaviour starts: closure start, first leaving of the road
    moves: tuple[Move, ...] = ()
    closed: tuple[tuple[float, float], ...] = ()  # eyes held closed (start_s, end_s)
    blinks_s: tuple[float, ...] = ()  # a blink (the source clip's own) starts at each of these times
    seed: int = 0


@dataclass(frozen=True)
class FramePlan:
    """One synthetic frame: what to render and its label."""

    index: int
    t: float
    src: int  # source frame shown
    eyes: str  # open, closed, partial (from the source frame's label)
    zone: str | None  # None = on the forward road
    yaw: float
    pitch: float
    iris: tuple[float, float]
    slide: float
    slide_dir: str

    @property
    def on_road(self) -> bool:
        return self.zone is None


@dataclass(frozen=True)
class SourceClip:
    """The real clip a scenario is made from: its frame labels and where its blink is."""

    labels: Labels
    open_run: tuple[int, int]  # the longest stretch of clearly open frames (inclusive)
    blink: tuple[int, int, int, int]  # one blink: start, closed_start, closed_end, end frame

    def eye_state(self, i: int) -> str:
        lab = self.labels
        k = int(np.searchsorted(lab.frame, i))
        if k >= len(lab.frame) or lab.frame[k] != i:
            return "partial"
        if lab.closed[k]:
            return "closed"
        in_event = any(a <= i <= b for a, b in lab.blinks + lab.other_events)
        return "partial" if lab.ambiguous[k] or in_event else "open"


def source_clip(labels: Labels) -> SourceClip:
    """The longest clearly open stretch and the first labelled blink with fully closed frames."""
    from .metrics import intervals

    f = labels.frame
    in_event = np.zeros(len(f), bool)
    for a, b in labels.blinks + labels.other_events:
        in_event |= (f >= a) & (f <= b)
    runs = intervals(~labels.closed & ~labels.ambiguous & ~in_event)
    if not runs:
        raise ValueError("the source clip has no clearly open frame")
    a, b = max(runs, key=lambda r: r[1] - r[0])
    for start, end in labels.blinks:
        shut = f[labels.closed & (f >= start) & (f <= end)]
        if len(shut):
            return SourceClip(labels, (int(f[a]), int(f[b])), (start, int(shut[0]), int(shut[-1]), end))
    raise ValueError("the source clip has no labelled blink with closed frames")


def _pingpong(n: int, lo: int, hi: int) -> int:
    """Frame n of lo..hi played forwards then backwards, without a jump cut."""
    span = hi - lo
    if span <= 0:
        return lo
    k = n % (2 * span)
    return lo + (k if k <= span else 2 * span - k)


def _weight(t: float, m: Move, duration_s: float) -> float:
    """How far the move has gone at t: 0 before, ramps to 1, holds, ramps back to 0."""
    end = duration_s + m.ramp_s if m.end_s is None else m.end_s
    if m.ramp_s <= 0:
        return float(m.start_s <= t < end)
    up = (t - m.start_s) / m.ramp_s
    down = (end - t) / m.ramp_s
    return float(np.clip(min(up, down), 0.0, 1.0))


def _source_frame(t: float, sc: Scenario, src: SourceClip, step_s: float) -> int:
    """The source frame shown at t; step_s is the source's frame interval (time, not frame counts,
    so that a scenario rendered at another rate shows the same moments)."""
    n = int(t / step_s + 1e-6)
    start, c0, c1, end = src.blink
    onset, offset = (c0 - start) * step_s, (end - c1) * step_s
    for a, b in sc.closed:
        if a - onset <= t < a:  # the lids coming down, from the source's blink
            return start + int((t - (a - onset)) / step_s)
        if a <= t < b:
            return _pingpong(n, c0, c1)
        if b <= t < b + offset:
            return c1 + 1 + int((t - b) / step_s)
    for tb in sc.blinks_s:
        if tb <= t < tb + (end - start + 1) * step_s:
            return start + int((t - tb) / step_s)
    return _pingpong(n, *src.open_run)


def frame_plan(sc: Scenario, src: SourceClip, fps: float, src_fps: float | None = None) -> list[FramePlan]:
    """One FramePlan per frame of the scenario at `fps`; the source clip runs at src_fps (default:
    the same rate)."""
    step_s = 1.0 / fps
    out = []
    for n in range(int(round(sc.duration_s * fps))):
        t = n * step_s
        i = _source_frame(t, sc, src, 1.0 / (src_fps or fps))
        yaw = pitch = sl = 0.0
        iris = np.zeros(2)
        zone, direction = None, "down"
        for m in sc.moves:
            w = _weight(t, m, sc.duration_s)
            yaw, pitch, sl = yaw + w * m.yaw, pitch + w * m.pitch, sl + w * m.slide
            iris = iris + w * np.asarray(m.iris)
            if w > 0 and m.slide:
                direction = m.slide_dir
            end = sc.duration_s if m.end_s is None else m.end_s
            if m.start_s <= t < end:  # off the road for the whole commanded time, ramps included
                zone = m.zone
        out.append(FramePlan(n, round(t, 6), i, src.eye_state(i), zone, round(yaw, 3), round(pitch, 3),
                             (round(float(iris[0]), 4), round(float(iris[1]), 4)), round(sl, 4), direction))
    return out
