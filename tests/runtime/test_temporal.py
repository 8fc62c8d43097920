"""The temporal logic on generated time series: PERCLOS in seconds, blinks, microsleep, alerts."""

from __future__ import annotations

import numpy as np
import pytest

from drowsy.errors import UsageError
from drowsy.runtime.temporal import DrowsinessMonitor
from drowsy.settings import TemporalConfig

THR = 0.5


def closed_at(intervals, t: float) -> bool:
    return any(a <= t < b for a, b in intervals)


def run(cfg, times, p_of_t, unassessable_of_t=lambda t: None, threshold=THR):
    """Feed a monitor; returns (states, events) with every event of the run, in order."""
    m = DrowsinessMonitor(cfg, threshold)
    states, events = [], []
    for t in times:
        why = unassessable_of_t(t)
        s = m.update(t, None if why else p_of_t(t), why)
        states.append(s)
        events += s.events
    return m, states, events


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def frames(fps: float, duration_s: float, t0: float = 0.0):
    return [t0 + i / fps for i in range(int(round(duration_s * fps)))]


def true_share(intervals, t0: float, t1: float) -> float:
    closed = sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in intervals)
    return closed / (t1 - t0)


# Closures (start, end) in seconds, deliberately off any frame grid; all shorter than 1.5 s.
rng = np.random.default_rng(7)
CLOSURES = []
_t = 0.37
while _t < 80:
    d = float(rng.uniform(0.12, 1.2))
    CLOSURES.append((_t, _t + d))
    _t += d + float(rng.uniform(0.4, 4.0))


def test_same_perclos_at_10_and_30_fps():
    cfg = TemporalConfig(window_s=20.0, min_assessable_s=10.0)
    p = lambda t: 0.9 if closed_at(CLOSURES, t) else 0.1  # noqa: E731
    _, s10, _ = run(cfg, frames(10, 80), p)
    _, s30, _ = run(cfg, frames(30, 80), p)
    compared = 0
    for i, st in enumerate(s10):
        t = i / 10
        if t < 10:
            assert st.perclos is None and s30[3 * i].perclos is None
            continue
        lo = max(0.0, t - 20.0)
        truth = true_share(CLOSURES, lo, t)
        # Each closure edge inside the window can be off by at most one frame interval.
        edges = sum((lo <= a <= t) + (lo <= b <= t) for a, b in CLOSURES)
        tol = (edges + 1) * 0.1 / (t - lo)
        assert abs(st.perclos - truth) <= tol
        assert abs(s30[3 * i].perclos - truth) <= tol / 3 + 1e-9
        assert abs(st.perclos - s30[3 * i].perclos) <= tol
        compared += 1
    assert compared > 600
    assert max(s.perclos for s in s10 if s.perclos is not None) > 0.1  # the signal is not trivial


def test_perclos_weights_time_not_frames():
    # A camera that slows down while the eyes are open: 30 FPS closed, 5 FPS open.
    # Counting frames would call this ~75 % closed; in seconds it is exactly one third.
    ticks, k = [], 0  # time in 1/30 s: closed for the first 30 ticks of every 90
    while k < 900:
        ticks.append(k)
        k += 1 if k % 90 < 30 else 6
    times = [k / 30 for k in ticks]
    cfg = TemporalConfig(window_s=15.0, min_assessable_s=5.0, max_gap_s=0.5, microsleep_s=5.0)
    closed = {k / 30: k % 90 < 30 for k in ticks}
    _, states, _ = run(cfg, times, lambda t: 0.9 if closed[t] else 0.1)
    at_cycle = [s.perclos for k, s in zip(ticks, states) if k >= 600 and k % 90 == 0]
    assert len(at_cycle) == 3 and all(p == pytest.approx(1 / 3) for p in at_cycle)
    share_of_frames = sum(k % 90 < 30 for k in ticks) / len(ticks)
    assert share_of_frames > 0.7  # what counting frames would have said


@pytest.mark.parametrize("fps", [10, 30])
def test_microsleep_alert_within_one_frame_and_clears_after_eyes_open(fps):
    cfg = TemporalConfig(window_s=60.0, min_assessable_s=30.0, microsleep_s=1.5, min_alert_s=0.5)
    start, end = 5.013, 7.013  # a 2 s closure
    _, states, events = run(cfg, frames(fps, 12), lambda t: 0.95 if start <= t < end else 0.05)
    on = [e for e in kinds(events, "alert_on") if e.data["reason"] == "microsleep"]
    off = [e for e in kinds(events, "alert_off") if e.data["reason"] == "microsleep"]
    assert len(on) == 1 and len(off) == 1
    assert start + 1.5 <= on[0].t <= start + 1.5 + 1 / fps + 1e-9
    assert end <= off[0].t <= end + 1 / fps + 1e-9  # the first open frame (on for > min_alert_s)
    (ms,) = kinds(events, "microsleep")
    assert abs(ms.data["duration_s"] - 2.0) <= 1 / fps + 1e-9
    assert not kinds(events, "blink")
    during = [s for t, s in zip(frames(fps, 12), states) if on[0].t <= t < off[0].t]
    assert during and all(s.alert and s.reason == "microsleep" for s in during)
    assert max(s.closed_for_s for s in states) == pytest.approx(2.0, abs=1 / fps + 1e-9)


def test_microsleep_alert_stays_on_for_min_alert_s():
    cfg = TemporalConfig(microsleep_s=1.5, min_alert_s=2.0)
    _, _, events = run(cfg, frames(30, 8), lambda t: 0.95 if 1.0 <= t < 2.6 else 0.05)
    (on,) = kinds(events, "alert_on")
    (off,) = kinds(events, "alert_off")
    assert off.t - on.t == pytest.approx(2.0, abs=1 / 30 + 1e-9)  # eyes opened after 0.1 s


@pytest.mark.parametrize("fps", [10, 30])
def test_blinks_found_with_their_duration(fps):
    blinks = [(1.0 + 2.5 * k + 0.011 * k, 1.2 + 2.5 * k + 0.011 * k) for k in range(8)]
    _, _, events = run(TemporalConfig(), frames(fps, 22), lambda t: 0.9 if closed_at(blinks, t) else 0.1)
    found = kinds(events, "blink")
    assert len(found) == len(blinks)
    for e, (a, _b) in zip(found, blinks):
        assert e.data["duration_s"] == pytest.approx(0.2, abs=1 / fps + 1e-9)
        assert a <= e.data["start"] <= a + 1 / fps
    assert not kinds(events, "alert_on") and not kinds(events, "microsleep")


def test_hysteresis_keeps_one_blink_through_a_dip():
    # A closure whose score dips to 0.45 (above threshold - hysteresis) is one blink, not two.
    p = lambda t: 0.45 if 1.1 <= t < 1.2 else (0.9 if 1.0 <= t < 1.3 else 0.1)  # noqa: E731
    _, _, events = run(TemporalConfig(hysteresis=0.1), frames(30, 3), p)
    assert [round(e.data["duration_s"], 2) for e in kinds(events, "blink")] == [0.3]
    _, _, events = run(TemporalConfig(hysteresis=0.0), frames(30, 3), p)
    assert len(kinds(events, "blink")) == 2


def test_no_face_never_raises_a_closed_eye_alert():
    cfg = TemporalConfig(window_s=10.0, min_assessable_s=5.0, not_visible_s=3.0)
    gone = (20.0, 30.0)
    times = frames(30, 40)
    _, states, events = run(cfg, times, lambda t: 0.1,
                            lambda t: "no_face" if gone[0] <= t < gone[1] else None)
    assert not kinds(events, "alert_on")
    assert [e.kind for e in events] == ["face_lost", "not_visible", "face_found", "visible_again"]
    nv, va = kinds(events, "not_visible")[0], kinds(events, "visible_again")[0]
    assert nv.t == pytest.approx(23.0, abs=1 / 30) and nv.data["reason"] == "no_face"
    assert va.data["duration_s"] == pytest.approx(10.0, abs=1 / 30)
    for t, s in zip(times, states):
        if gone[0] <= t < gone[1]:
            assert s.closed is None and not s.alert
            assert s.reason == ("not_visible" if t >= nv.t else None)
    # PERCLOS knows nothing while the window holds no assessable time, and never counts it closed.
    assert all(s.perclos is None for t, s in zip(times, states) if 30.0 - 1e-9 <= t < 35.0 - 0.05)


def test_unassessable_frames_interrupt_a_closure():
    # Eyes closed for 1 s, then the face is lost for 4 s with a closed-looking score: no microsleep.
    cfg = TemporalConfig(microsleep_s=1.5)
    times = frames(30, 8)
    why = lambda t: "too_dark" if 2.0 <= t < 6.0 else None  # noqa: E731
    m = DrowsinessMonitor(cfg, THR)
    events = []
    for t in times:
        p = 0.95 if 1.0 <= t < 6.5 else 0.05
        events += m.update(t, p, why(t)).events  # the score is ignored when unassessable
    assert not kinds(events, "microsleep") and not kinds(events, "alert_on")
    interrupted = [e for e in kinds(events, "blink") if e.data.get("ended_by")]
    assert interrupted[0].data["ended_by"] == "too_dark"
    assert interrupted[0].data["duration_s"] == pytest.approx(1.0, abs=1 / 30 + 1e-9)
    # After the break the eyes are closed again for 0.5 s: a blink of its own.
    assert kinds(events, "blink")[-1].data["duration_s"] == pytest.approx(0.5, abs=1 / 30 + 1e-9)


def test_camera_gap_counts_neither_open_nor_closed():
    cfg = TemporalConfig(window_s=20.0, min_assessable_s=5.0, microsleep_s=1.5)
    m = DrowsinessMonitor(cfg, THR)
    events = []
    for t in frames(30, 10):
        events += m.update(t, 0.9 if t >= 9.0 else 0.1).events  # closing as the camera drops
    before = m.update(10.0, 0.9)
    for t in np.arange(10.5, 16.0, 0.5):
        s = m.gap(float(t))
        events += s.events
        assert not s.alert
    after = m.update(16.0, 0.1)
    events += after.events
    assert not kinds(events, "microsleep") and not kinds(events, "alert_on")
    assert kinds(events, "not_visible")[0].data["reason"] == "camera_lost"
    assert kinds(events, "visible_again")
    # Only 0.5 s (max_gap_s) of the last closed frame was added: the rest of the gap is not time.
    assert after.perclos == pytest.approx(1.5 / 10.5, abs=0.01)
    assert before.perclos == pytest.approx(1.0 / 10.0, abs=0.01)


def test_a_long_timestamp_jump_is_capped_at_max_gap():
    cfg = TemporalConfig(window_s=30.0, min_assessable_s=1.0, max_gap_s=0.5, not_visible_s=3.0,
                         perclos_alert=0.5, perclos_clear=0.4)
    m = DrowsinessMonitor(cfg, THR)
    for t in frames(10, 2):
        m.update(t, 0.1)
    m.update(2.0, 0.9)  # closed at 2.0, then nothing until 12.0
    s = m.update(12.0, 0.1)
    assert s.perclos == pytest.approx(0.5 / 2.5)
    assert [e.kind for e in s.events] == ["blink", "not_visible", "visible_again"]
    assert s.events[0].data == {"start": 2.0, "duration_s": 0.5, "ended_by": "frame_gap"}


def test_no_perclos_alert_before_min_assessable():
    # Half the time closed, in 1 s closures: PERCLOS 0.5, far above the alert level.
    cfg = TemporalConfig(window_s=60.0, min_assessable_s=30.0)
    times = frames(10, 40)
    _, states, events = run(cfg, times, lambda t: 0.9 if (t % 2.0) < 1.0 else 0.1)
    assert all(s.perclos is None and not s.alert for t, s in zip(times, states) if t < 30.0 - 1e-9)
    (on,) = kinds(events, "alert_on")
    assert on.data["reason"] == "perclos" and on.t == pytest.approx(30.0, abs=0.1 + 1e-9)
    assert on.data["perclos"] == pytest.approx(0.5, abs=0.02)


def hovering(t: float) -> float:
    """Eyes closed 0.9 s in every 5.3 s: over a 10 s window PERCLOS ripples between 0.12 and 0.18."""
    return 0.9 if (t % 5.3) < 0.9 else 0.1


def test_hysteresis_no_flicker_around_the_threshold():
    times = frames(30, 240)
    base = dict(window_s=10.0, min_assessable_s=5.0)
    _, states, events = run(TemporalConfig(**base), times, hovering)
    ps = [s.perclos for s in states if s.perclos is not None]
    assert min(ps[600:]) < 0.15 <= max(ps[600:])  # it really hovers around the threshold
    assert len(kinds(events, "alert_on")) == 1 and not kinds(events, "alert_off")
    # The same signal without hysteresis, minimum duration or cooldown flickers: the test can fail.
    bare = TemporalConfig(**base, perclos_clear=0.15, min_alert_s=0.0, cooldown_s=0.0)
    _, _, events = run(bare, times, hovering)
    assert len(kinds(events, "alert_on")) > 10


def test_cooldown_delays_a_new_perclos_alert():
    def p(t):  # drowsy (50 % closed) for 6 s, awake for 6 s, drowsy again
        return 0.9 if (t % 12.0) < 6.0 and (t % 1.0) < 0.5 else 0.1

    base = dict(window_s=4.0, min_assessable_s=2.0, microsleep_s=100.0, min_alert_s=0.0)
    times = frames(30, 30)
    _, _, ev = run(TemporalConfig(**base, cooldown_s=0.0), times, p)
    on0 = kinds(ev, "alert_on")
    _, _, ev = run(TemporalConfig(**base, cooldown_s=10.0), times, p)
    on, off = kinds(ev, "alert_on"), kinds(ev, "alert_off")
    assert len(on0) >= 2 and on0[1].t < off[0].t + 10.0  # without a cooldown it re-raises sooner
    assert len(on) >= 2 and on[1].t >= off[0].t + 10.0 - 1e-9
    assert on[1].t == pytest.approx(off[0].t + 10.0, abs=1 / 30 + 1e-9)  # and as soon as allowed


def test_long_run_keeps_the_segment_deque_bounded():
    cfg = TemporalConfig(window_s=10.0, min_assessable_s=5.0)
    m = DrowsinessMonitor(cfg, THR)
    r = np.random.default_rng(3)
    p = r.random(100_000)
    n = 0
    for i in range(100_000):
        m.update(i / 30, float(p[i]), "no_face" if i % 997 == 0 else None)
        n = max(n, len(m.window.segments))
    assert n <= 10.0 * 30 + 2  # at most one segment per frame in the window
    # The running sums have not drifted from a recount of what is left in the window.
    closed = sum(b - a for a, b, c in m.window.segments if c)
    assert m.window.closed_s == pytest.approx(closed, abs=1e-6)


def test_deterministic():
    cfg = TemporalConfig(window_s=10.0, min_assessable_s=5.0)
    why = lambda t: "no_face" if 12 <= t < 17 else None  # noqa: E731
    a = run(cfg, frames(30, 30), hovering, why)[1]
    b = run(cfg, frames(30, 30), hovering, why)[1]
    assert a == b


def test_finish_closes_what_is_open():
    m = DrowsinessMonitor(TemporalConfig(microsleep_s=1.5), THR)
    for t in frames(10, 3):
        m.update(t, 0.9 if t >= 1.0 else 0.1)
    events = m.finish(2.9)
    assert [e.kind for e in events] == ["microsleep", "alert_off"]
    assert events[0].data["ended_by"] == "end_of_input"
    assert events[0].data["duration_s"] == pytest.approx(1.9)
    assert m.finish(3.0) == ()


def test_closed_threshold_overrides_the_model():
    m = DrowsinessMonitor(TemporalConfig(closed_threshold=0.8), threshold=0.3)
    assert m.update(0.0, 0.6).closed is False
    m2 = DrowsinessMonitor(TemporalConfig(), threshold=0.3)
    assert m2.update(0.0, 0.6).closed is True


@pytest.mark.parametrize("bad", [dict(window_s=0.0), dict(perclos_alert=1.2), dict(perclos_clear=0.2),
                                 dict(microsleep_s=-1.0), dict(closed_threshold=1.5),
                                 dict(min_assessable_s=90.0), dict(max_gap_s=float("nan"))])
def test_invalid_temporal_config_is_a_usage_error(bad):
    with pytest.raises(UsageError, match=next(iter(bad))):
        DrowsinessMonitor(TemporalConfig(**bad), THR)


def test_numpy_scores_give_plain_json_values():
    import json

    m = DrowsinessMonitor(TemporalConfig(), THR)
    s = m.update(np.float64(0.0), np.float32(0.9))
    assert type(s.closed) is bool
    json.dumps({"closed": s.closed, "perclos": s.perclos, "closed_for": s.closed_for_s})
    assert m.update(0.1, float("nan")).closed is None  # a broken score is not assessable


def brute_perclos(times, states, k, window_s, max_gap_s):
    """(closed, assessable) seconds at frame k, from scratch: each frame's state held <= max_gap_s."""
    lo, closed, assessable = times[k] - window_s, 0.0, 0.0
    for i in range(k - 1, -1, -1):
        if times[i + 1] <= lo:
            break
        if states[i] is None:
            continue
        a, b = max(times[i], lo), min(times[i + 1], times[i] + max_gap_s)
        if b > a:
            assessable += b - a
            closed += (b - a) if states[i] else 0.0
    return closed, assessable


@pytest.mark.parametrize("seed", range(12))
def test_perclos_matches_a_recount_from_scratch(seed):
    # Random frame intervals (mostly video-like, some long gaps) and random closed/open/no-face.
    r = np.random.default_rng(seed)
    n = 400
    dt = np.where(r.random(n) < 0.9, r.uniform(0.01, 0.1, n), r.uniform(0.1, 2.0, n))
    times = list(np.cumsum(dt))
    states = [(True, False, None)[i] for i in r.choice(3, n, p=(0.3, 0.6, 0.1))]
    m = DrowsinessMonitor(TemporalConfig(window_s=5.0, min_assessable_s=0.0, max_gap_s=0.5), THR)
    checked = 0
    for k, (t, state) in enumerate(zip(times, states)):
        p = None if state is None else (0.9 if state else 0.1)
        s = m.update(t, p, "no_face" if state is None else None)
        closed, assessable = brute_perclos(times, states, k, 5.0, 0.5)
        if assessable == 0.0:
            assert s.perclos is None
        elif assessable > 1e-6:  # (a sliver of a segment may round either way)
            assert s.perclos == pytest.approx(closed / assessable, abs=1e-9)
            checked += 1
    assert checked > n / 2
