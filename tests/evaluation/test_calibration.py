"""The calibration evaluation's bookkeeping: issue 11's blink matching and the leave-one-person-out
choice of the hysteresis rule (the pipeline passes themselves are tested in tests/runtime)."""

from __future__ import annotations

import numpy as np

from drowsy.evaluation.calibration import lopo_rules, match_blinks, people
from drowsy.evaluation.clips import Labels


def labels() -> Labels:
    """Frames 1..98 labelled (0 and 99 not: clip ends); a full blink 10-16 (closed 12-14), a blink
    20-24 that never fully closes, a full blink 60-66 (closed 62-63)."""
    frame = np.arange(1, 99)
    closed = np.isin(frame, [12, 13, 14, 62, 63])
    return Labels(frame=frame, closed=closed, ambiguous=np.zeros(len(frame), bool),
                  blinks=((10, 16), (20, 24), (60, 66)), other_events=())


FRAMES = np.arange(100)


def test_every_fully_closing_blink_found_is_perfect():
    assert match_blinks([(12, 14), (61, 64)], labels(), FRAMES) == (2, 0, 0)


def test_a_detection_on_a_blink_that_never_fully_closes_counts_neither_way():
    assert match_blinks([(12, 14), (21, 22), (61, 64)], labels(), FRAMES) == (2, 0, 0)
    assert match_blinks([(21, 22)], labels(), FRAMES) == (0, 0, 2)  # and it finds nothing


def test_detections_touching_unlabelled_clip_ends_are_ignored_and_others_are_false():
    assert match_blinks([(98, 99), (0, 2)], labels(), FRAMES) == (0, 0, 2)
    assert match_blinks([(40, 42), (12, 13), (14, 15)], labels(), FRAMES) == (1, 2, 1)  # a split blink: one false


def test_the_rule_is_chosen_on_the_other_people_only():
    tot = {"a": {"fixed": [5, 2, 0], "half": [5, 0, 0]},   # half helps a
           "b": {"fixed": [4, 0, 0], "half": [4, 0, 0]},
           "c": {"fixed": [3, 0, 0], "half": [2, 0, 1]}}   # half hurts c
    # a: b and c say fixed; b: a's gain (two false blinks) beats c's loss (one missed); c: a says half.
    assert lopo_rules(tot, ("fixed", "half")) == {"a": "fixed", "b": "half", "c": "half"}
    tie = {"a": {"fixed": [1, 0, 0], "half": [1, 0, 0]}, "b": {"fixed": [1, 0, 0], "half": [1, 0, 0]}}
    assert lopo_rules(tie, ("fixed", "half")) == {"a": "fixed", "b": "fixed"}


def test_people_need_a_calibration_clip_and_a_labelled_test_clip(tmp_path):
    for name in ("p1_FNN.mp4", "p1_FBN.mp4", "p2_FBN.mp4", "p3_FNN.mp4"):
        (tmp_path / name).write_bytes(b"")
        (tmp_path / (name + ".eyestate.csv")).write_text("frame,closed,in_event,partial_ambiguous\n")
    assert {p: sorted(c) for p, c in people(tmp_path).items()} == {"p1": ["FBN", "FNN"]}
