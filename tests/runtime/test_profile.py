"""Driver profiles: the threshold rule, the file (atomic, checked on load), and what a run does
with one: the state machine's threshold, the pose gate's centre, refusals in one line."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from drowsy.cli import main
from drowsy.errors import DrowsyError, UsageError
from drowsy.paths import default_eye_model, sha256_of
from drowsy.runtime import profile as prof
from drowsy.runtime.gate import assessability
from drowsy.runtime.temporal import DrowsinessMonitor
from drowsy.settings import ProfileConfig, RunConfig, TemporalConfig
from drowsy.types import Face

import numpy as np

G = 0.7  # a model threshold, as the shipped model's


def make(**kw) -> prof.Profile:
    base = dict(name="ann", closed_threshold=0.5, hysteresis=0.1, yaw_centre_deg=10.0, pitch_centre_deg=-5.0,
                model_sha256=sha256_of(default_eye_model()), basis="open_and_closed", note="test",
                created="2026-01-01T00:00:00Z", measured={"open_frames": 100, "closures": 3}, model_threshold=G)
    return prof.Profile(**{**base, **kw})


# -- the rule -------------------------------------------------------------------------------------

def test_threshold_lies_between_open_and_closed_and_weak_evidence_stays_near_the_model():
    full, _, _ = prof.derive(0.02, 0.98, closures=3, model_threshold=G, hysteresis=0.1)
    assert full == pytest.approx(0.5)  # the midpoint of 0.02 and 0.98
    weak, _, note = prof.derive(0.02, 0.98, closures=1, model_threshold=G, hysteresis=0.1)
    assert full < weak < G and "weight 0.33" in note


def test_a_low_scoring_closed_eye_lowers_the_threshold_but_never_onto_the_open_eyes():
    thr, hyst, _ = prof.derive(0.05, 0.30, closures=5, model_threshold=G, hysteresis=0.1)
    assert thr == pytest.approx(max(0.175, prof.FLOOR, 0.05 + prof.MARGIN))
    assert thr - hyst >= 0.05 + prof.MARGIN / 2 - 1e-9  # the reopening level stays above the open eyes


def test_without_closures_the_threshold_never_drops_and_rises_only_for_high_open_scores():
    thr, hyst, note = prof.derive(0.02, None, closures=0, model_threshold=G, hysteresis=0.1)
    assert (thr, hyst) == (G, 0.1) and "no closure seen" in note
    thr, hyst, note = prof.derive(0.66, None, closures=0, model_threshold=G, hysteresis=0.1)
    assert thr == pytest.approx(0.76) and thr - hyst >= 0.66 + prof.MARGIN / 2 - 1e-9 and "raised" in note


def test_open_eyes_that_already_score_closed_are_refused():
    with pytest.raises(DrowsyError, match="cannot calibrate"):
        prof.derive(0.9, 0.99, closures=3, model_threshold=G, hysteresis=0.1)


def test_the_capped_rule_never_raises_the_models_threshold_and_the_midpoint_rule_may():
    low = 0.4  # a model threshold below this person's midpoint (0.5)
    capped, _, _ = prof.derive(0.02, 0.98, closures=3, model_threshold=low, hysteresis=0.1)
    mid, _, _ = prof.derive(0.02, 0.98, closures=3, model_threshold=low, hysteresis=0.1, threshold_rule="midpoint")
    assert capped == low and mid == pytest.approx(0.5)
    with pytest.raises(ValueError):
        prof.derive(0.02, 0.98, closures=3, model_threshold=low, hysteresis=0.1, threshold_rule="nope")


def test_half_rule_reopens_half_way_to_the_open_eyes():
    thr, hyst, _ = prof.derive(0.02, 0.98, closures=3, model_threshold=G, hysteresis=0.1, rule="half")
    assert thr - hyst == pytest.approx((thr + 0.02) / 2)


# -- its effect on a run --------------------------------------------------------------------------

def _blinks(temporal, scores, fps=30.0):
    mon, events = DrowsinessMonitor(temporal, G), []
    for i, s in enumerate(scores):
        events += mon.update(i / fps, s).events
    return [e for e in events if e.kind == "blink"]


def test_a_blink_the_model_threshold_misses_is_caught_with_a_profile():
    # A person whose closed eyes score 0.6: below the model's 0.7, well above their open eyes.
    scores = [0.02] * 30 + [0.3, 0.6, 0.62, 0.6, 0.3] + [0.02] * 30
    assert _blinks(TemporalConfig(), scores) == []
    with_profile = prof.apply(TemporalConfig(), make(closed_threshold=0.45, hysteresis=0.1))
    (blink,) = _blinks(with_profile, scores)
    assert blink.data["duration_s"] == pytest.approx(3 / 30)
    assert _blinks(with_profile, [0.02] * 65) == []  # open eyes stay open


def test_pose_limits_count_from_the_rest_pose():
    face = Face(landmarks=np.zeros((478, 2), np.float32), yaw_deg=40.0, pitch_deg=-20.0)
    assert assessability(face, None, TemporalConfig()) == "head_turned"
    centred = prof.apply(TemporalConfig(), make(yaw_centre_deg=10.0, pitch_centre_deg=-5.0))
    assert assessability(face, None, centred) is None
    assert assessability(replace(face, yaw_deg=-30.0), None, centred) == "head_turned"  # 40 from the centre


# -- the file -------------------------------------------------------------------------------------

def test_round_trip_is_atomic_and_loads_back(tmp_path):
    path = tmp_path / "ann.toml"
    path.write_text("old")
    prof.write(make(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.toml"]  # no temp file left
    back = prof.load(path, sha256_of(default_eye_model()))
    assert back == make()


DROP = object()
BAD = {  # case: (section, key, new value or DROP, what the one line says)
    "missing key": ("apply", "hysteresis", DROP, "[apply] hysteresis is missing"),
    "missing section": ("model", None, DROP, "section [model] is missing"),
    "string": ("apply", "hysteresis", "0.1", "hysteresis must be a finite number"),
    "nan": ("apply", "hysteresis", math.nan, "hysteresis must be a finite number"),
    "inf": ("apply", "yaw_centre_deg", math.inf, "yaw_centre_deg must be a finite number"),
    "out of range": ("apply", "closed_threshold", 1.5, "closed_threshold must be between 0 and 1"),
    "hysteresis above threshold": ("apply", "hysteresis", 0.6, "hysteresis must be between 0 and 0.5"),
    "unknown key": ("apply", "max_yaw_deg", 50.0, "unknown key(s) in [apply]: max_yaw_deg"),
    "bad sha": ("model", "sha256", "abc", "sha256 must be 64 lowercase hex digits"),
    "format": ("profile", "format", 2, "format must be 1"),
}


def _bad_file(tmp_path, case):
    """A good profile with one thing broken, written as TOML."""
    import tomllib

    doc = tomllib.loads(prof.to_toml(make()))
    sec, key, value, why = BAD[case]
    if key is None:
        del doc[sec]
    elif value is DROP:
        del doc[sec][key]
    else:
        doc[sec][key] = value
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(f"[{s}]\n" + "".join(f"{k} = {prof._toml(v)}\n" for k, v in d.items())
                              for s, d in doc.items()))
    return path, why


def test_the_lid_geometry_round_trips_and_a_profile_without_it_still_loads(tmp_path):
    from drowsy.runtime.fusion import Geometry

    path = tmp_path / "ann.toml"
    geo = Geometry(ear_open=0.21, ear_closed=0.06, weight=0.5)
    prof.write(make(geometry=geo), path)
    assert "[fusion]" in path.read_text() and prof.load(path).geometry == geo
    assert "lid geometry weight 0.5" in prof.load(path).describe()
    # A profile written before issue 21 (no [fusion]): loads, and a run uses the CNN alone.
    old = tmp_path / "old.toml"
    old.write_text('''[profile]
format = 1
name = "ann"
created = "2026-01-01T00:00:00Z"
basis = "open_and_closed"
note = "midpoint"

[apply]
closed_threshold = 0.5
hysteresis = 0.1
yaw_centre_deg = 2.0
pitch_centre_deg = -1.0

[model]
sha256 = "%s"
threshold = 0.5

[measured]
open_frames = 100
''' % ("a" * 64))
    p = prof.load(old)
    assert p.geometry is None and p.closed_threshold == 0.5 and "lid geometry" not in p.describe()


@pytest.mark.parametrize("fusion, why", [
    ({"ear_open": 0.2, "ear_closed": 0.3, "weight": 0.5}, "[fusion] ear_closed must be"),
    ({"ear_open": 0.2, "ear_closed": 0.05, "weight": 1.5}, "[fusion] weight must be"),
    ({"ear_open": 0.2, "weight": 0.5}, "[fusion] ear_closed is missing")])
def test_a_bad_lid_geometry_is_refused_with_one_line(tmp_path, fusion, why):
    path = tmp_path / "bad.toml"
    path.write_text(prof.to_toml(make()) + "\n[fusion]\n" + "".join(f"{k} = {v}\n" for k, v in fusion.items()))
    with pytest.raises(DrowsyError) as e:
        prof.load(path)
    assert why in str(e.value) and "\n" not in str(e.value)


def test_not_toml_is_refused_with_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[apply\nclosed_threshold = ")
    with pytest.raises(DrowsyError, match="is not valid TOML"):
        prof.load(path)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_profiles_are_refused_with_one_line(tmp_path, case):
    path, why = _bad_file(tmp_path, case)
    with pytest.raises(DrowsyError) as e:
        prof.load(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and why in msg


def test_a_profile_from_another_model_is_refused(tmp_path):
    path = tmp_path / "ann.toml"
    prof.write(make(model_sha256="0" * 64), path)
    with pytest.raises(DrowsyError, match="made with another eye model"):
        prof.load(path, sha256_of(default_eye_model()))


def test_a_run_takes_the_profile_and_refuses_a_setting_given_twice(tmp_path):
    path = tmp_path / "ann.toml"
    prof.write(make(), path)
    cfg, p = prof.for_run(RunConfig(profile=ProfileConfig(profile=str(path))))
    assert (cfg.temporal.closed_threshold, cfg.temporal.yaw_centre_deg) == (0.5, 10.0) and p.name == "ann"
    assert prof.for_run(RunConfig()) == (RunConfig(), None)
    both = RunConfig(temporal=TemporalConfig(closed_threshold=0.6), profile=ProfileConfig(profile=str(path)))
    with pytest.raises(UsageError, match="--closed-threshold and the profile"):
        prof.for_run(both)


@pytest.mark.parametrize("case", ["nan", "wrong model", "missing"])
def test_drowsy_run_refuses_a_bad_profile_in_one_line_before_writing(capsys, tmp_path, tiny_model, case):
    path, out = tmp_path / "p.toml", tmp_path / "frames.jsonl"
    if case == "nan":
        path, _ = _bad_file(tmp_path, "nan")
    elif case == "wrong model":
        prof.write(make(), path)  # made with the bundled model; the run uses the tiny one
    code = main(["run", "--video", str(tmp_path / "none.mp4"), "--model", str(tiny_model), "--profile", str(path),
                 "--out", str(out), "--headless", "--no-alarm"])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 1 and len(err) == 1 and err[0].startswith("drowsy run: error: ")
    assert {"nan": "finite number", "wrong model": "another eye model", "missing": "not found"}[case] in err[0]
    assert not out.exists()


def test_the_config_file_names_a_profile(tmp_path, capsys):
    path = tmp_path / "ann.toml"
    prof.write(make(), path)
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[profile]\nprofile = "{path}"\n')
    assert main(["run", "--config", str(cfg), "--print-config"]) == 0
    assert f'profile = "{path}"' in capsys.readouterr().out
