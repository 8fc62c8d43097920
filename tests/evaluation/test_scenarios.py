"""Scenario schedules, the suite's expectations and the runner's matching, without video."""

import numpy as np
import pytest

from drowsy.evaluation.clips import Labels
from drowsy.evaluation.scenario_eval import judge, precision_recall
from drowsy.evaluation.scenario_suite import EXPECTATIONS, by_name, suite
from drowsy.evaluation.scenarios import Move, Scenario, frame_plan, source_clip
from drowsy.types import Event

# A 30-frame source clip: one blink, frames 10-14, fully closed 11-13.
LABELS = Labels(frame=np.arange(30), closed=np.isin(np.arange(30), [11, 12, 13]),
                ambiguous=np.zeros(30, bool), blinks=((10, 14),), other_events=())


def test_source_clip_finds_the_open_stretch_and_the_blink():
    src = source_clip(LABELS)
    assert src.open_run == (15, 29) and src.blink == (10, 11, 13, 14)
    assert [src.eye_state(i) for i in (9, 10, 12, 14)] == ["open", "partial", "closed", "partial"]


def test_labels_follow_the_schedule_in_seconds_at_any_rate():
    sc = Scenario("s", 6.0, "", "unresponsive", 1.0, moves=(Move(3.0, 5.0, "mirror", yaw=40.0, ramp_s=0.5),),
                  closed=((1.0, 2.5),))
    src = source_clip(LABELS)
    for fps in (10.0, 25.0, 30.0):
        plan = frame_plan(sc, src, fps)
        assert len(plan) == round(6.0 * fps)
        at = {round(p.t, 3): p for p in plan}
        assert at[1.0].eyes == at[2.0].eyes == "closed"  # held closed frames, whatever the rate
        assert at[0.4].eyes == "open" and at[5.6].eyes == "open"
        assert at[3.0].zone == "mirror" and at[2.8].zone is None and at[5.0].zone is None
        # Ramped in and out over 0.5 s, inside the commanded (labelled off-road) time.
        assert at[3.0].yaw == 0 and at[3.6].yaw == 40.0 and 0 < at[3.2].yaw < 40 and at[4.8].yaw == 16.0
        # Every frame shown while "closed" is one of the source's closed frames.
        assert all(p.src in (11, 12, 13) for p in plan if 1.0 <= p.t < 2.5)


def test_the_suite_is_shaped_like_euro_ncap():
    s = {sc.name: sc for sc in suite()}
    assert len(s) == len(suite()) and all(sc.expect in EXPECTATIONS for sc in s.values())
    for kind in ("owl", "lizard"):
        for zone in ("mirror", "infotainment", "footwell"):
            assert s[f"{kind}_{zone}_2s"].expect == "none" and s[f"{kind}_{zone}_4s"].expect == "distraction"
    # VATS: 2.8 s glances (each under the 3 s limit), 10 s off the road at the trigger.
    vats = s["vats_infotainment"]
    assert all(m.end_s - m.start_s < 3.0 for m in vats.moves)
    off = sum(min(m.end_s, vats.trigger_s) - m.start_s for m in vats.moves if m.start_s < vats.trigger_s)
    assert off == pytest.approx(10.0)
    assert s["mirror_checks"].expect == "none" and s["normal_blinks"].expect == "none"
    assert len(s["normal_blinks"].blinks_s) >= 4 and suite(seed=0) == suite(seed=0)
    with pytest.raises(ValueError, match="unknown scenario nope"):
        by_name("owl_mirror_4s,nope")


def alert(t, reason):
    return Event(t, "alert_on", {"reason": reason})


def test_judge_in_time_late_and_false_alarms():
    ok = judge("a", "closure_drop", 2.0, [Event(2.5, "blink"), alert(3.6, "microsleep"), Event(3.2, "head_drop"),
                                          alert(5.0, "perclos")])
    assert ok.passed and [n.delay_s for n in ok.needs] == [1.6, 1.2]
    late = judge("b", "closure_drop", 2.0, [alert(5.5, "microsleep"), Event(3.0, "slump")])
    assert not late.passed and [n.ok for n in late.needs] == [False, True] and late.needs[0].delay_s == 3.5
    # A distraction alert is no closure: it fails a closure scenario as a false alarm too.
    wrong = judge("c", "closure_drop", 2.0, [alert(3.0, "sleep"), Event(3.0, "head_drop"), alert(3.1, "distraction")])
    assert not wrong.passed and wrong.unexpected == ((3.1, "alert_on:distraction"),)
    quiet = judge("d", "none", 2.0, [Event(1.0, "blink"), Event(5.0, "not_visible")])
    assert quiet.passed and quiet.needs == ()
    loud = judge("e", "none", 2.0, [alert(4.0, "microsleep")])
    assert not loud.passed
    early = judge("f", "distraction", 10.0, [alert(3.0, "distraction")])  # raised by something before
    assert not early.passed and early.needs[0].t is None and early.unexpected == ((3.0, "alert_on:distraction"),)


def test_precision_recall_by_scenario():
    results = [judge("a", "distraction", 2.0, [alert(4.0, "distraction")]),
               judge("b", "distraction", 2.0, []),
               judge("c", "none", 0.0, [alert(4.0, "distraction")]),
               judge("d", "unresponsive", 2.0, [alert(3.5, "microsleep"), alert(8.0, "unresponsive")])]
    pr = precision_recall(results)
    assert pr["distraction"] == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5}
    assert pr["closure"]["tp"] == 1 and pr["unresponsive"]["tp"] == 1 and pr["head_drop"]["recall"] is None


def test_another_frame_rate_shows_the_same_source_moments():
    sc = Scenario("s", 4.0, "", "none", 0.0, blinks_s=(1.0,), closed=((2.0, 3.0),))
    src = source_clip(LABELS)
    at25 = {round(p.t, 3): p for p in frame_plan(sc, src, 25.0)}
    for fps in (10.0, 50.0):
        for p in frame_plan(sc, src, fps, src_fps=25.0):
            if round(p.t, 3) in at25:
                assert (p.src, p.eyes) == (at25[round(p.t, 3)].src, at25[round(p.t, 3)].eyes), (fps, p.t)


def test_a_users_file_is_never_replaced(tmp_path):
    from pathlib import Path

    from drowsy.errors import DrowsyError
    from drowsy.evaluation.scenario_render import Source, write_scenario

    src = Source(Path("x.mpg"), [], [], 25.0, source_clip(LABELS), "0" * 64)
    sc = Scenario("mine", 1.0, "", "none", 0.0)
    (tmp_path / "mine.avi").write_bytes(b"my holiday video")
    with pytest.raises(DrowsyError, match="not written by drowsy's scenario generator; not replaced"):
        write_scenario(sc, src, tmp_path)
    (tmp_path / "mine.scenario.json").write_text('{"notes": "mine too"}')
    with pytest.raises(DrowsyError, match="not replaced"):
        write_scenario(sc, src, tmp_path)
    assert (tmp_path / "mine.avi").read_bytes() == b"my holiday video"
