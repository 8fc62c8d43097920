"""The driver state machine (runtime/driver.py) on hand-made sequences: closures that continue
through a head drop or slump, distraction (long, VATS), unresponsive, looking down, levels."""

import numpy as np
import pytest

from drowsy.runtime.gaze import iris_offset

from driver_scenes import CLOSED, OPEN, alerts, closure_then_pitch, closure_then_slump, face, first, run  # noqa: E402


def test_closure_then_slump_alerts_within_3_s_and_logs_a_slump():
    evs, _ = run(closure_then_slump)
    assert first(evs, "slump") == pytest.approx(2.9, abs=0.04)
    assert alerts(evs)[:3] == [(3.5, "microsleep", "warning"), (5.0, "sleep", "critical"),
                               (8.0, "unresponsive", "critical")]
    assert not any(k == "blink" for _, k, _ in evs)
    assert first(evs, "alert_on", "distraction") is None  # asleep, not distracted
    ms = [d for _, k, d in evs if k == "microsleep"]
    assert ms and ms[0]["unseen"] and ms[0]["start"] == 2.0


def test_closure_then_head_drop_past_the_gate_continues_the_closure():
    evs, states = run(closure_then_pitch)
    drop = [d for _, k, d in evs if k == "head_drop"]
    assert len(drop) == 1 and drop[0]["closure_start"] == 2.0
    assert first(evs, "alert_on", "microsleep") == pytest.approx(3.5, abs=1e-6)
    assert first(evs, "alert_on", "sleep") == pytest.approx(5.0, abs=1e-6)
    assert [s.closed_for_s for t, s in states if t == 4.0][0] == pytest.approx(2.0)
    assert first(evs, "alert_on", "distraction") is None


def test_fast_pitch_down_during_a_closure_is_a_head_drop():
    # Within the gate's limits, but 100 deg/s down: logged, and the closure goes on to alert.
    evs, _ = run(lambda t: (face(pitch=-min(20.0, max(0.0, t - 2.5) * 100)), CLOSED if t >= 2.0 else OPEN),
                 end=5.0)
    assert first(evs, "head_drop") == pytest.approx(2.5 + 1 / 30, abs=0.04)
    assert first(evs, "alert_on", "microsleep") == pytest.approx(3.5, abs=1e-6)


def test_blink_with_a_glance_down_is_no_microsleep():
    # A 0.2 s blink as the head goes down (as people do when they look down): a blink.
    evs, _ = run(lambda t: (face(), OPEN) if t < 2.0 else ((face(), CLOSED) if t < 2.2 else (face(pitch=-45.0), OPEN)),
                 end=4.0)
    assert [d["ended_by"] for _, k, d in evs if k == "blink"] == ["head_turned"]
    assert first(evs, "head_drop") is None and first(evs, "alert_on", "microsleep") is None


def test_head_down_without_a_closure_is_a_distraction_never_a_microsleep():
    evs, _ = run(lambda t: (face(pitch=-45.0 if 2.0 <= t < 7.0 else 0.0), OPEN), end=10.0)
    assert alerts(evs) == [(5.0, "distraction", "warning")]
    assert first(evs, "head_drop") is None and first(evs, "microsleep") is None
    assert [d["kind"] for _, k, d in evs if k == "alert_on"] == ["long"]


def test_face_out_of_view_5_s_is_a_distraction_within_4_s():
    evs, _ = run(lambda t: (None, None) if 2.0 <= t < 7.0 else (face(), OPEN), end=10.0)
    on = first(evs, "alert_on", "distraction")
    assert on is not None and on - 2.0 <= 4.0
    assert first(evs, "slump") is None and first(evs, "alert_on", "microsleep") is None
    assert first(evs, "alert_off", "distraction") == pytest.approx(7.5, abs=1e-6)  # back on the road 0.5 s


def flickering(off_face, flicker):
    """Away from 2 s to 7 s, but read back on the road during `flicker` (start, end) as the head pose
    hovers at a limit or the face is lost and found (seen on the synthetic mirror and phone glances)."""
    def script(t):
        away = 2.0 <= t < 7.0 and not flicker[0] <= t < flicker[1]
        return (off_face, OPEN if off_face is not None else None) if away else (face(), OPEN)
    return script


@pytest.mark.parametrize("off_face", [None, face(yaw=40.0)])
def test_a_flicker_back_on_the_road_does_not_end_a_glance(off_face):
    # 0.3 s read on the road at 3.5 s: still one glance from 2 s, a distraction at 5 s (3 s), not 6.8 s.
    evs, _ = run(flickering(off_face, (3.5, 3.8)), end=10.0)
    assert alerts(evs) == [(5.0, "distraction", "warning")]
    assert [d["kind"] for _, k, d in evs if k == "alert_on"] == ["long"]
    # A real return (0.6 s on the road) ends the glance: 1.5 s, then 2.9 s, neither a long distraction.
    evs, _ = run(flickering(off_face, (3.5, 4.1)), end=10.0)
    assert alerts(evs) == []
    # A glance of 2.9 s, then back on the road: the pending return never stretches it to 3 s.
    evs, _ = run(lambda t: (off_face if 2.0 <= t < 4.9 else face(), OPEN), end=8.0)
    assert alerts(evs) == []


def test_a_short_on_road_min_ends_a_glance_at_the_first_frames_back():
    evs, _ = run(flickering(face(yaw=40.0), (3.5, 3.8)), end=10.0, on_road_min_s=0.05)
    # The flicker splits the glance: 1.5 s, then 3.2 s (3.8 to 7 s), whose distraction comes at 6.8 s.
    assert alerts(evs) == [(6.8, "distraction", "warning")]


def glances(off_s, on_s, n, off_face=None):
    def script(t):
        k, r = divmod(t, off_s + on_s)
        off = k < n and r < off_s
        return (off_face if off else face()), (OPEN if not off or off_face is not None else None)
    return script


@pytest.mark.parametrize("off_face", [None, face(yaw=60.0), face(dx=0.35)])  # out of view, owl, lizard
def test_glances_of_2_s_raise_nothing(off_face):
    evs, _ = run(glances(2.0, 3.0, 6, off_face), end=35.0)
    assert alerts(evs) == []


def test_vats_accumulates_and_resets_after_2_s_on_the_road():
    evs, _ = run(glances(2.5, 1.5, 6, face(yaw=60.0)), end=30.0)
    on = [(t, d) for t, k, d in evs if k == "alert_on"]
    # 4 glances of 2.5 s: 10 s off the road at 3 * 4 + 2.5 = 14.5 s.
    assert on[0][1]["reason"] == "distraction" and on[0][1]["kind"] == "vats"
    assert on[0][0] == pytest.approx(14.5, abs=1 / 30 + 1e-6)
    evs, _ = run(glances(2.5, 2.0, 8, face(yaw=60.0)), end=40.0)  # 2 s back on the road each time
    assert alerts(evs) == []


def test_no_return_within_3_s_of_a_warning_is_unresponsive():
    def script(t):  # 3 VATS glances, then away for good from 12 s: VATS at 14.5 s, then 3 s more
        return glances(2.5, 1.5, 3, face(yaw=60.0))(t) if t < 12.0 else (face(yaw=60.0), OPEN)
    evs, _ = run(script, end=20.0)
    on = [(round(t, 3), d["reason"], d.get("cause")) for t, k, d in evs if k == "alert_on"]
    assert on[0][:2] == (14.5, "distraction")
    assert on[1] == (17.5, "unresponsive", "no_return")


def test_eyes_closed_7_s_sleep_then_unresponsive():
    evs, states = run(lambda t: (face(), CLOSED if 1.0 <= t < 8.0 else OPEN), end=12.0)
    assert alerts(evs) == [(2.5, "microsleep", "warning"), (4.0, "sleep", "critical"),
                           (7.0, "unresponsive", "critical")]
    st = [s for t, s in states if t == pytest.approx(7.5)][0]
    assert st.alert and st.level == "critical" and st.reason == "unresponsive"
    offs = {d["reason"]: round(t, 3) for t, k, d in evs if k == "alert_off"}
    assert offs == {"microsleep": 8.0, "sleep": 8.0, "unresponsive": 9.0}  # on for min_alert_s at least


def test_looking_down_with_open_eyes_is_never_a_closure():
    # Lowered lids read closed by the eye crops, but the iris sits low and eyeLookDown is high.
    down = face(dy=0.12, look_down=0.75)
    evs, states = run(lambda t: (down, CLOSED) if 2.0 <= t < 4.0 else (face(), OPEN), end=6.0)
    assert first(evs, "looking_down") == pytest.approx(2.0) and alerts(evs) == []
    assert all(s.closed is None for t, s in states if 2.0 <= t < 4.0)
    evs, _ = run(lambda t: (down, CLOSED) if 2.0 <= t < 6.0 else (face(), OPEN), end=8.0)
    assert alerts(evs) == [(5.0, "distraction", "warning")]
    # Closed eyes: eyeLookDown high as well, but the iris is not low: a microsleep.
    evs, _ = run(lambda t: (face(dy=0.02, look_down=0.75), CLOSED) if 2.0 <= t < 4.0 else (face(), OPEN), end=6.0)
    assert alerts(evs) == [(3.5, "microsleep", "warning")] and first(evs, "looking_down") is None


@pytest.mark.parametrize("script", [closure_then_slump, closure_then_pitch, glances(2.5, 1.5, 6, face(yaw=60.0)),
                                    lambda t: (face(), CLOSED if 1.0 <= t < 8.0 else OPEN),
                                    flickering(face(yaw=40.0), (3.5, 3.8))])
def test_10_and_30_fps_give_the_same_alerts(script):
    a10, a30 = alerts(run(script, fps=10.0, end=30.0)[0]), alerts(run(script, fps=30.0, end=30.0)[0])
    assert [(r, lv) for _, r, lv in a10] == [(r, lv) for _, r, lv in a30] and a30
    assert all(abs(x[0] - y[0]) <= 0.1 + 1e-6 for x, y in zip(a10, a30))


def test_iris_offset_cancels_head_roll():
    f = face(dx=0.1, dy=0.2)
    c, s = np.cos(0.5), np.sin(0.5)
    rolled = (f.landmarks - 100) @ np.array([[c, s], [-s, c]], np.float32) + 100
    assert iris_offset(f.landmarks) == pytest.approx((0.1, 0.2), abs=1e-4)
    assert iris_offset(rolled) == pytest.approx((0.1, 0.2), abs=1e-4)


def test_no_distraction_before_the_first_face():
    # An empty seat (or a camera still being aimed) for 5 s, then a driver who looks away for 4 s.
    evs, _ = run(lambda t: (None, None) if t < 5.0 or 7.0 <= t < 11.0 else (face(), OPEN), end=14.0)
    assert alerts(evs) == [(10.0, "distraction", "warning")]


def test_the_rest_pose_of_a_profile_sets_the_on_road_zone():
    # A camera 40 deg off-axis: the driver at rest reads yaw 40; the profile's rest pose says so.
    at_rest = lambda t: (face(yaw=40.0 if t < 5.0 else -10.0), OPEN)  # noqa: E731  then 50 deg away
    assert alerts(run(at_rest, end=10.0)[0]) == [(3.0, "distraction", "warning")]  # facing the camera = rest
    assert alerts(run(at_rest, end=10.0, yaw_centre_deg=40.0)[0]) == [(8.0, "distraction", "warning")]


def test_closure_then_slump_through_the_real_landmarker_and_eye_model(shared, landmarker, tmp_path):
    """Real pixels: a GRID speaker's closed frame held 0.92 s, then the picture is empty (slumped
    out of view) for 5 s: a slump, then a microsleep alert within 3 s of the closure's start."""
    from conftest import write_avi
    from drowsy.runtime.capture import VideoSource
    from drowsy.runtime.pipeline import Pipeline
    from drowsy.settings import ModelConfig, RunConfig

    with VideoSource(shared / "videos/grid/brbk7n.mpg") as src:
        frames = [f.image for f in src]  # eyes closed on frames 21-23
    clip = write_avi(tmp_path / "slump.avi", frames[:21] + [frames[22]] * 23 + [frames[0] * 0] * 125, 25.0)
    evs = []
    with Pipeline.from_config(RunConfig(model=ModelConfig(landmarker=str(landmarker)))) as pipe, \
            VideoSource(clip) as src, pipe.run(src) as loop:
        for step in loop:
            evs += [(e.t, e.kind, dict(e.data)) for e in step.events + (step.result.state.events if step.result else ())]
    slump, on = first(evs, "slump"), first(evs, "alert_on", "microsleep")
    assert slump is not None and on is not None, evs
    assert on - 21 / 25 <= 3.0 and first(evs, "alert_on", "distraction") is None
    assert first(evs, "alert_on", "sleep") is not None and not any(k == "blink" and d.get("ended_by") == "no_face" for _, k, d in evs)


def test_a_slow_nod_seen_every_6th_frame_is_no_head_drop():
    # --landmarks-every 6 at 30 FPS: the pose changes only on landmark passes (the frames between
    # carry it unchanged). A 20 deg/s nod (within the pitch gate) must read 20 deg/s, not 6 x 20.
    from drowsy.runtime.gaze import GazeReader
    from drowsy.settings import TemporalConfig

    reader, drops = GazeReader(TemporalConfig()), []
    for i in range(30):
        t = i / 30
        pass_t = (i // 6) * 6 / 30  # the time of the last landmark pass
        drops.append(reader(t, face(pitch=-20.0 * pass_t)).drop)
    assert drops.count("head_drop") == 0
    fast = GazeReader(TemporalConfig())  # the same steps at 120 deg/s still read as a drop
    assert any(fast(i / 30, face(pitch=-100.0 * (i // 6) * 6 / 30)).drop == "head_drop" for i in range(12))
