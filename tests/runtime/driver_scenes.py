"""Hand-made driver sequences for the driver-state tests (test_driver.py) and for the outputs'
tests (JSONL, MQTT, web view): synthetic faces whose pose, iris and eyeLookDown are set by hand."""

from __future__ import annotations

import numpy as np

from drowsy.runtime.driver import DriverMonitor
from drowsy.settings import TemporalConfig
from drowsy.types import EyeScores, Face, Frame, FrameResult

OPEN, CLOSED = 0.05, 0.95


def face(pitch=0.0, yaw=0.0, dy=-0.07, dx=0.0, look_down=0.1):
    """478 landmarks with both eyes' corners 20 px apart and the iris (dx, dy) eye widths off."""
    lm = np.full((478, 2), 100.0, np.float32)
    for iris, a, b, cx in ((468, 33, 133, 80.0), (473, 362, 263, 120.0)):
        lm[a], lm[b], lm[iris] = (cx - 10, 100), (cx + 10, 100), (cx + 20 * dx, 100 + 20 * dy)
    return Face(landmarks=lm, blendshapes={"eyeLookDownLeft": look_down, "eyeLookDownRight": look_down},
                yaw_deg=yaw, pitch_deg=pitch)


def scores(p):
    return EyeScores(p_closed=np.array([p, p], np.float32), spread=np.zeros(2, np.float32),
                     raw=np.full((2, 1), p, np.float32))


def run(script, fps=30.0, end=None, **cfg):
    """script(t) → (face or None, p_closed) per frame; returns [(t, event, data)] and the states
    (the last state also holds the events of finish())."""
    mon = DriverMonitor(TemporalConfig(**cfg), threshold=0.5, hysteresis=0.1)
    end = end if end is not None else 12.0
    evs, states = [], []
    for i in range(int(round(end * fps)) + 1):
        t = i / fps
        f, p = script(t)
        st = mon.judge(t, f, None, scores(p) if f is not None else None)
        states.append((t, st))
        evs += [(e.t, e.kind, dict(e.data)) for e in st.events]
    evs += [(e.t, e.kind, dict(e.data)) for e in mon.finish(end + 1 / fps)]
    return evs, states


def alerts(evs):
    return [(round(t, 3), d["reason"], d["level"]) for t, k, d in evs if k == "alert_on"]


def first(evs, kind, reason=None):
    hits = [t for t, k, d in evs if k == kind and (reason is None or d.get("reason") == reason)]
    return hits[0] if hits else None


def closure_then_slump(t):  # eyes close at 2 s, the driver slides out of the picture at 2.9 s
    if t < 2.0:
        return face(), OPEN
    return (face(), CLOSED) if t < 2.9 else (None, None)


def closure_then_pitch(t):  # eyes close at 2 s, the chin falls past the gate at 2.8 s
    if t < 2.0:
        return face(), OPEN
    return (face(), CLOSED) if t < 2.8 else (face(pitch=-45.0), CLOSED)



NEW_EVENTS = ("head_drop", "slump", "looking_down")
NEW_REASONS = ("sleep", "unresponsive", "distraction")


def every_new_event():
    """FrameResults (tiny images) and Events of four sequences that raise every new event kind
    and every new alert reason: closure + slump, closure + head drop, looking down 4 s, away 8 s."""
    from drowsy.types import Event

    results, events = [], []
    down = face(dy=0.12, look_down=0.75)
    for script in (closure_then_slump, closure_then_pitch,
                   lambda t: (down, CLOSED) if 2.0 <= t < 6.0 else (face(), OPEN),
                   lambda t: (None, None) if 2.0 <= t < 10.0 else (face(), OPEN)):
        evs, states = run(script, fps=10.0)
        events += [Event(t, k, d) for t, k, d in evs]
        results += [FrameResult(Frame(np.zeros((8, 8, 3), np.uint8), i, t), None, None, None, st, {"total": 1.0})
                    for i, (t, st) in enumerate(states)]
    return results, events
