"""The on-road zone of a calibrated driver (issue 19): calibrate measures the spread of head and
iris on the road, a profile carries it, a run narrows the gate's limits to it; no profile, no change."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from drowsy.cli import main
from drowsy.errors import DrowsyError, UsageError
from drowsy.paths import default_eye_model, sha256_of
from drowsy.runtime import profile as prof
from drowsy.runtime.gaze import GazeReader
from drowsy.runtime.zone import Spread, measure, on_road_zone
from drowsy.settings import ProfileConfig, RunConfig, TemporalConfig

from driver_scenes import CLOSED, OPEN, alerts, face, run  # noqa: E402
from test_profile import make  # noqa: E402

NARROW = Spread(yaw_deg=1.0, pitch_deg=0.5, iris_side=0.03)  # a still driver: the floors decide


def _narrow(**kw) -> TemporalConfig:
    return prof.apply(TemporalConfig(**kw), make(spread=NARROW, yaw_centre_deg=0.0, pitch_centre_deg=0.0))


def test_a_head_turned_25_degrees_is_off_the_road_only_for_a_narrow_calibrated_driver():
    def turned(t):  # on the road, then the head turned 25° for 4 s (a side window), then back
        return face(yaw=25.0 if 2.0 <= t < 6.0 else 0.0), OPEN

    evs, states = run(turned, end=9.0, **vars(_narrow()))
    at = {round(t, 3): st.attention for t, st in states}
    assert at[3.0].on_road is False and at[3.0].why == "head_turned" and at[1.0].on_road and at[7.0].on_road
    assert any(r == "distraction" for _, r, _ in alerts(evs))  # 4 s off the road: a long distraction
    evs, states = run(turned, end=9.0)  # no profile: 25° is within --max-yaw (35°)
    assert all(st.attention.on_road for _, st in states) and alerts(evs) == []


def test_the_zone_is_k_spreads_floored_and_never_wider_than_the_settings():
    z = on_road_zone(_narrow())
    assert (z.yaw_deg, z.pitch_down_deg, z.iris_side) == (15.0, 10.0, 0.15)  # the floors
    wide = prof.apply(TemporalConfig(), make(spread=Spread(yaw_deg=8.0, pitch_deg=4.0, iris_side=0.06)))
    z = on_road_zone(wide)
    assert (z.yaw_deg, z.pitch_down_deg, z.iris_side) == pytest.approx((24.0, 12.0, 0.18))  # 3 spreads
    huge = prof.apply(TemporalConfig(), make(spread=Spread(yaw_deg=60.0, pitch_deg=60.0, iris_side=0.9)))
    z = on_road_zone(huge)
    assert (z.yaw_deg, z.pitch_down_deg, z.iris_side) == (35.0, 25.0, 0.25)  # the settings' limits
    assert on_road_zone(TemporalConfig()) == on_road_zone(huge)


def test_a_narrow_zone_calls_the_eyes_and_a_lowered_head_off_the_road_but_not_a_head_drop_nor_looking_up():
    g = GazeReader(_narrow())
    side = g(0.0, face(dx=0.2))  # the iris alone, 0.2 eye widths sideways: a mirror ("lizard")
    assert side.why == "gaze_side" and GazeReader(TemporalConfig())(0.0, face(dx=0.2)).on_road
    low = GazeReader(_narrow())(0.0, face(pitch=-15.0))  # 15° below the rest pose
    assert low.why == "head_down" and low.drop is None  # off the road, but the gate still sees the eyes
    assert GazeReader(_narrow())(0.0, face(pitch=-30.0)).drop == "head_drop"  # past the gate
    assert GazeReader(_narrow())(0.0, face(pitch=30.0)).on_road  # looking up: never narrowed


def _todays_rule(cfg: TemporalConfig, yaw, pitch, dx):
    """The on-road rule before issue 19 (main at 65bbee7), written out: the settings' limits."""
    if pitch < -cfg.max_pitch_down_deg:
        return "head_down", "head_drop"
    if abs(yaw) > cfg.max_yaw_deg or pitch > cfg.max_pitch_up_deg:
        return "head_turned", None
    return ("gaze_side" if abs(dx) >= cfg.iris_side_min else None), None


def test_without_a_profile_every_frame_is_judged_as_before():
    cfg = TemporalConfig()
    for yaw, pitch, dx in itertools.product((-40, -35.5, -20, 0, 14, 25, 34.9, 36), (-30, -25.5, -12, 0, 39, 41),
                                            (-0.3, -0.25, -0.1, 0.0, 0.16, 0.26)):
        a = GazeReader(cfg)(0.0, face(yaw=yaw, pitch=pitch, dx=dx))
        assert (a.why, a.drop) == _todays_rule(cfg, yaw, pitch, dx), (yaw, pitch, dx)
        assert a.on_road == (a.why is None)


# -- the profile ------------------------------------------------------------------------------------

def test_spreads_round_trip_and_old_profiles_load_without_them(tmp_path):
    path = tmp_path / "ann.toml"
    prof.write(make(spread=NARROW), path)
    assert "[spread]" in path.read_text()
    p = prof.load(path)
    assert p.spread == NARROW and "spread on the road yaw 1.0°" in p.describe()
    t = prof.apply(TemporalConfig(), p)
    assert (t.yaw_spread_deg, t.pitch_spread_deg, t.iris_side_spread) == (1.0, 0.5, 0.03)
    old = tmp_path / "old.toml"
    prof.write(make(), old)  # as written before issue 19: no [spread]
    assert "[spread]" not in old.read_text()
    p = prof.load(old)
    assert p.spread is None and on_road_zone(prof.apply(TemporalConfig(), p)) == on_road_zone(TemporalConfig())


@pytest.mark.parametrize("line, why", [
    ("yaw_deg = nan", "[spread] yaw_deg must be a finite number"),
    ("yaw_deg = -1.0", "[spread] yaw_deg must be between 0 and 90"),
    ("yaw_deg = 1" + "0" * 400, "[spread] yaw_deg must be between 0 and 90"),
    ("yaw_deg = true", "[spread] yaw_deg must be a finite number"),
    ("yaw_deg = \"wide\"", "[spread] yaw_deg must be a finite number"),
    ("iris_side = 2.0", "[spread] iris_side must be between 0 and 1"),
])
def test_bad_spreads_are_refused_in_one_line(tmp_path, line, why):
    path = tmp_path / "bad.toml"
    prof.write(make(spread=NARROW), path)
    path.write_text(path.read_text().replace("yaw_deg = 1.0" if line.startswith("yaw") else "iris_side = 0.03",
                                             line))
    with pytest.raises(DrowsyError) as e:
        prof.load(path)
    msg = str(e.value)
    assert why in msg and "\n" not in msg and len(msg) < 300


@pytest.mark.parametrize("extra, why", [("\n[spread]\nyaw_deg = 1.0\n", "[spread] pitch_deg is missing"),
                                        ("\n[spread]\nyaw_deg = 1.0\npitch_deg = 1.0\niris_side = 0.1\nroll = 1\n",
                                         "unknown key(s) in [spread]: roll"),
                                        ("\nspread = 3\n", "[spread] must be a section")])
def test_an_incomplete_or_unknown_spread_section_is_refused(tmp_path, extra, why):
    path = tmp_path / "bad.toml"
    prof.write(make(), path)
    text = path.read_text()
    if extra.startswith("\nspread"):  # a top-level key, before the first section
        text = text.replace("\n[profile]", extra + "\n[profile]", 1)
    path.write_text(text if not extra.startswith("\n[") else text + extra)
    with pytest.raises(DrowsyError) as e:
        prof.load(path)
    assert str(e.value) == f"profile {path}: {why}"


def test_a_spread_given_both_by_flag_and_profile_is_a_usage_error(tmp_path):
    path = tmp_path / "ann.toml"
    prof.write(make(spread=NARROW, yaw_centre_deg=0.0, pitch_centre_deg=0.0), path)
    cfg = RunConfig(temporal=TemporalConfig(yaw_spread_deg=5.0), profile=ProfileConfig(profile=str(path)))
    with pytest.raises(UsageError, match="--yaw-spread and the profile"):
        prof.for_run(cfg)
    applied, _ = prof.for_run(replace(cfg, temporal=TemporalConfig()))
    assert applied.temporal.yaw_spread_deg == 1.0


def test_measure_takes_a_high_quantile_of_the_distance_from_the_rest_pose():
    yaw = np.r_[np.full(95, 3.0), np.full(5, 40.0), np.nan]  # 5 % of glances away do not widen it
    s = measure(yaw, np.zeros(101), np.full(101, np.nan))
    assert s.yaw_deg < 3.0 and s.pitch_deg == 0.0 and s.iris_side == 0.0


@pytest.mark.mediapipe
@pytest.mark.shared
def test_calibrate_on_a_real_clip_writes_the_spreads_and_its_driver_stays_on_the_road(shared, landmarker,
                                                                                        tmp_path, capsys):
    out = tmp_path / "p1.toml"
    clip = shared / "videos" / "zju" / "000001M_FNN.mp4"
    assert main(["calibrate", "--video", str(clip), "--out", str(out), "--device", "cpu", "--jitter", "2",
                 "--landmarker", str(landmarker)]) == 0
    assert "spread on the road" in capsys.readouterr().err
    p = prof.load(out, sha256_of(default_eye_model()))
    assert p.spread is not None and 0 < p.spread.yaw_deg < 5 and 0 < p.spread.pitch_deg < 5
    assert 0 < p.spread.iris_side < 0.1  # a frontal clip: head and eyes on the camera
    z = on_road_zone(prof.apply(TemporalConfig(), p))
    assert z.yaw_deg == 15.0 and z.pitch_down_deg == 10.0  # narrowed to the floors


def test_a_closure_still_alerts_inside_a_narrow_zone():
    evs, _ = run(lambda t: (face(), CLOSED if 1.0 <= t < 3.0 else OPEN), end=5.0, **vars(_narrow()))
    assert [r for _, r, _ in alerts(evs)][:1] == ["microsleep"]
