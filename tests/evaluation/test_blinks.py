"""The blink matcher on hand-made cases: the eyeblink convention of blinks.py."""

import numpy as np

from drowsy.evaluation.blinks import BlinkCount, dont_care_spans, match_blinks


def test_hits_misses_and_false_blinks():
    c = match_blinks([(10, 12), (40, 41)], [(9, 14), (20, 25)])
    assert (c.tp, c.fp, c.fn, c.ignored) == (1, 1, 1, 0)
    assert c.precision == 0.5 and c.recall == 0.5 and c.f1 == 0.5


def test_detection_on_an_incomplete_blink_or_ambiguous_frames_is_not_false():
    # Labelled: one full blink 10-14; an incomplete blink 30-34 (never fully closed);
    # frames 50-52 partial_ambiguous (lids half down).
    frame = np.arange(0, 100)
    amb = np.zeros(100, bool)
    amb[50:53] = True
    dc = dont_care_spans(frame, amb, [(30, 34)])
    c = match_blinks([(11, 13), (31, 32), (52, 55), (70, 71)], [(10, 14)], dc)
    assert (c.tp, c.fp, c.fn, c.ignored) == (1, 1, 0, 2)  # only 70-71 is a false blink


def test_detections_touching_unlabelled_clip_ends_are_ignored():
    frame = np.arange(6, 130)  # the labellers' clip starts at frame 6 and ends at 129
    dc = dont_care_spans(frame, np.zeros(len(frame), bool), [])
    c = match_blinks([(3, 7), (128, 131), (60, 61)], [(20, 25)], dc)
    assert (c.tp, c.fp, c.fn, c.ignored) == (0, 1, 1, 2)
    # A blink truncated by the end of the labels is still found by a detection running past it.
    c = match_blinks([(126, 133)], [(125, 129)], dc)
    assert (c.tp, c.fp, c.fn) == (1, 0, 0)


def test_merged_and_split_detections():
    blinks = [(10, 14), (18, 22)]
    merged = match_blinks([(11, 20)], blinks)  # one long detection over two blinks
    assert (merged.tp, merged.fp, merged.fn) == (1, 0, 1)
    split = match_blinks([(10, 11), (13, 14)], [(10, 14)])  # one blink reported twice
    assert (split.tp, split.fp, split.fn) == (1, 1, 0)
    # A split blink's second half is a false blink even on the blink's ambiguous edge frames.
    amb = np.zeros(30, bool)
    amb[13:15] = True
    split = match_blinks([(10, 11), (13, 14)], [(10, 14)], dont_care_spans(np.arange(30), amb, []))
    assert (split.tp, split.fp) == (1, 1)
    # Order of the detections does not matter; each blink is found once.
    assert match_blinks([(19, 20), (11, 20)], blinks) == match_blinks([(11, 20), (19, 20)], blinks)


def test_counts_add_up():
    total = BlinkCount(1, 0, 1, 0) + BlinkCount(2, 1, 0, 3)
    assert total == BlinkCount(3, 1, 1, 3) and total.f1 == 6 / 8
    assert BlinkCount().precision is None and BlinkCount().recall is None and BlinkCount().f1 is None
