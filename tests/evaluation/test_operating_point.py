"""The operating point chosen on video: the declared rule, the replay through the real temporal
logic, and the metadata the runtime then uses."""

import numpy as np
import pytest

from drowsy.evaluation.blinks import BlinkCount
from drowsy.evaluation.clips import ClipPass, Labels
from drowsy.evaluation.operating_point import (Candidate, candidate_table, leave_people_out, replay, select,
                                               write_operating_point)
from drowsy.settings import TemporalConfig


def _clip(name, p_right, p_left, pitch=0.0, fps=30.0):
    n = len(p_right)
    p = np.stack([p_right, p_left], axis=1).astype(float)
    eyes = {"p_closed": p, "spread": np.full((n, 2), 0.01), "crop_std": np.full((n, 2), 30.0)}
    return ClipPass(video=name, condition="clean", frame=np.arange(n), t=np.arange(n) / fps,
                    face=np.ones(n, bool), scores={}, blinks_ours=(), size=(320, 240), eyes=eyes,
                    pose=np.tile([0.0, pitch], (n, 1)), mean_gray=np.full(n, 120.0))


def _labels(n, blinks):
    closed = np.zeros(n, bool)
    for a, b in blinks:
        closed[a:b + 1] = True
    return Labels(frame=np.arange(n), closed=closed, ambiguous=np.zeros(n, bool), blinks=tuple(blinks),
                  other_events=())


def _blinky(peak, n=90, at=(20, 60)):
    p = np.full(n, 0.05)
    for a in at:
        p[a:a + 4] = peak
    return p


def test_replay_finds_blinks_and_the_upward_gate_lets_them_through():
    clip = _clip("a.mp4", _blinky(0.6), _blinky(0.6), pitch=28.0)  # looking up, weak blinks
    cfg = TemporalConfig()
    from drowsy.evaluation.operating_point import gate_reasons

    reasons = gate_reasons(clip, cfg)
    spans, alerts = replay(clip, clip.eyes["p_closed"].mean(axis=1), reasons, Candidate("mean", 0.5, 0.1), cfg)
    assert spans == ((20, 23), (60, 63)) and alerts == 0
    spans, _ = replay(clip, clip.eyes["p_closed"].mean(axis=1), reasons, Candidate("mean", 0.7, 0.1), cfg)
    assert spans == ()  # under the threshold
    down = _clip("b.mp4", _blinky(0.9), _blinky(0.9), pitch=-30.0)
    spans, _ = replay(down, down.eyes["p_closed"].mean(axis=1), gate_reasons(down, cfg),
                      Candidate("mean", 0.5, 0.1), cfg)
    assert spans == ()  # looking down: not assessable


def test_rule_picks_a_threshold_that_finds_weak_blinks_and_holds_out_people():
    # Two people whose blinks peak at 0.6, one at 0.8; open eyes sit at 0.05: any threshold
    # from 0.1 to 0.55 finds every blink, so the rule picks the middle of that plateau.
    passes = {"clean": [(_clip("p1.mp4", _blinky(0.6), _blinky(0.6)), _labels(90, [(20, 23), (60, 63)])),
                        (_clip("p2.mp4", _blinky(0.6), _blinky(0.6)), _labels(90, [(20, 23), (60, 63)])),
                        (_clip("p3.mp4", _blinky(0.8), _blinky(0.8)), _labels(90, [(20, 23), (60, 63)]))]}
    table = candidate_table(passes, TemporalConfig(), fusions=("mean", "max"), thresholds=(0.3, 0.5, 0.7, 0.9),
                            hystereses=(0.1,))
    pick, score = select(table, ["p1.mp4", "p2.mp4", "p3.mp4"])
    assert pick == Candidate("mean", 0.3, 0.1) and score == 1.0  # median of the tied 0.3 and 0.5 -> lower one
    folds = leave_people_out(table, {"p1.mp4": "p1", "p2.mp4": "p2", "p3.mp4": "p3"})
    held = folds["p1"]["test"]["clean"]["p1.mp4"][0]
    assert held == BlinkCount(tp=2, fp=0, fn=0) and folds["p3"]["pick"].threshold in (0.3, 0.5)


def test_one_reliable_closed_eye_makes_a_blink_under_reliable_fusion():
    # The left eye behind glare reads open during both blinks; the right eye closes clearly.
    clip = _clip("g.mp4", _blinky(0.95), np.full(90, 0.1))
    clip.eyes["spread"][:, 1] = 0.2  # the glare eye's jittered crops disagree
    clip.eyes["crop_std"][:, 1] = 4.0
    passes = {"clean": [(clip, _labels(90, [(20, 23), (60, 63)]))]}
    table = candidate_table(passes, TemporalConfig(), fusions=("mean", "reliable_or"), thresholds=(0.7,),
                            hystereses=(0.1,))
    assert table["clean"][Candidate("mean", 0.7, 0.1)]["g.mp4"][0].tp == 0
    assert table["clean"][Candidate("reliable_or", 0.7, 0.1)]["g.mp4"][0].tp == 2


def test_written_operating_point_is_what_the_runtime_uses(tmp_path):
    from conftest import make_tiny_eye_model

    from drowsy.runtime.classify import EyeClassifier
    from drowsy.runtime.temporal import DrowsinessMonitor

    src = make_tiny_eye_model(tmp_path / "m.onnx", threshold=0.7)
    write_operating_point(src, tmp_path / "out.onnx", Candidate("reliable_or", 0.4, 0.05),
                          "video operating point: test")
    clf = EyeClassifier(tmp_path / "out.onnx", device="cpu")
    assert (clf.threshold, clf.hysteresis, clf.fusion) == (0.4, 0.05, "reliable_or")
    assert clf.metadata["drowsy.threshold_source"].startswith("video operating point")
    assert "drowsy.crop" in clf.metadata  # the rest of the metadata is kept
    assert clf.metadata["drowsy.threshold_crops"] == "0.7"  # the threshold it replaced
    write_operating_point(tmp_path / "out.onnx", tmp_path / "again.onnx", Candidate("mean", 0.5, 0.1), "video")
    assert EyeClassifier(tmp_path / "again.onnx", device="cpu").metadata["drowsy.threshold_crops"] == "0.7"
    mon = DrowsinessMonitor(TemporalConfig(), clf.threshold, clf.hysteresis)
    assert (mon.threshold, mon.hysteresis) == (0.4, 0.05)
    mon = DrowsinessMonitor(TemporalConfig(closed_threshold=0.6, hysteresis=0.2), clf.threshold, clf.hysteresis)
    assert (mon.threshold, mon.hysteresis) == (0.6, 0.2)  # settings given by the user win
    assert EyeClassifier(src, device="cpu").threshold == 0.7  # the source file is left as it was


def test_choose_script_refuses_to_overwrite_its_model(tmp_path, capsys):
    import runpy
    import sys

    from drowsy.paths import REPO_ROOT

    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    argv = sys.argv
    sys.argv = ["choose_operating_point.py", "--model", str(model), "--dir", str(tmp_path), "--write", str(model)]
    try:
        with pytest.raises(SystemExit) as e:
            runpy.run_path(str(REPO_ROOT / "scripts" / "choose_operating_point.py"), run_name="__main__")
    finally:
        sys.argv = argv
    assert e.value.code == 1 and "new file" in capsys.readouterr().err and model.read_bytes() == b"x"
