import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drowsy.evaluation.metrics import eer, intervals, match_events, precision_recall, roc_auc, roc_curve


def pairwise_auc(y, s):
    """The textbook definition, O(n²): P(pos > neg) + ½ P(pos == neg)."""
    y, s = np.asarray(y), np.asarray(s, dtype=float)
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def test_perfect_separation():
    y, s = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]
    assert roc_auc(y, s) == 1.0
    rate, thr = eer(y, s)
    assert rate == 0.0
    # The threshold is a working operating point: it splits the classes exactly.
    assert np.array_equal(np.asarray(s) >= thr, np.asarray(y, bool))


def test_reversed_scores():
    y, s = [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]
    assert roc_auc(y, s) == 0.0
    assert eer(y, s)[0] == 1.0


def test_all_ties_are_chance():
    y, s = [0, 1, 0, 1, 1], [0.5] * 5
    fpr, tpr, thr = roc_curve(y, s)
    assert fpr.tolist() == [0.0, 1.0] and tpr.tolist() == [0.0, 1.0]
    assert thr[0] == np.inf and thr[1] == 0.5
    assert roc_auc(y, s) == 0.5
    assert eer(y, s)[0] == pytest.approx(0.5)


def test_partial_tie_counts_half():
    # one positive ties with one negative, the rest separate: 3 of 4 pairs won, 1 tied.
    y, s = [0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]
    assert roc_auc(y, s) == pytest.approx(0.875)
    fpr, tpr, thr = roc_curve(y, s)
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert thr[1:].tolist() == [0.9, 0.5, 0.1]


def test_eer_hand_computed():
    # Negatives 0.1, 0.2, 0.6; positives 0.4, 0.7, 0.9. At threshold 0.6 one negative is
    # called closed (fpr 1/3) and one positive missed (fnr 1/3): that is the EER point.
    y = [0, 0, 0, 1, 1, 1]
    s = [0.1, 0.2, 0.6, 0.4, 0.7, 0.9]
    rate, thr = eer(y, s)
    assert rate == pytest.approx(1 / 3)
    assert thr == 0.6


def test_eer_crossing_inside_a_segment():
    # Scores 4(+) 3(-) 2.5(+) 2(-) 1(-) 0(-). Between thresholds 3 and 2.5 the miss rate
    # falls 1/2 → 0 while the false positive rate stays 1/4: the rates meet at 1/4.
    y = [0, 0, 0, 0, 1, 1]
    s = [0.0, 1.0, 2.0, 3.0, 2.5, 4.0]
    fpr, tpr, _ = roc_curve(y, s)
    assert fpr.tolist() == [0, 0, 0.25, 0.25, 0.5, 0.75, 1.0]
    assert tpr.tolist() == [0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    rate, thr = eer(y, s)
    assert rate == pytest.approx(0.25)
    assert thr in (3.0, 2.5)


def test_rejects_one_class_and_nan():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="finite"):
        roc_auc([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="length"):
        roc_curve([0, 1], [0.2])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=2, max_size=40))
def test_auc_matches_pairwise_definition(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float) / 6  # few values: many ties
    if y.all() or not y.any():
        return
    assert roc_auc(y, s) == pytest.approx(pairwise_auc(y, s))
    rate, _ = eer(y, s)
    assert 0.0 <= rate <= 1.0
    # Flipping the score mirrors the AUC.
    assert roc_auc(y, -s) == pytest.approx(1 - roc_auc(y, s))
    fpr, tpr, thr = roc_curve(y, s)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0) and np.all(np.diff(thr) < 0)


def test_intervals_and_event_matching():
    assert intervals([0, 1, 1, 0, 0, 1, 0, 1]) == [(1, 2), (5, 5), (7, 7)]
    assert intervals([]) == []
    labelled = [(10, 14), (40, 44)]
    # One detection overlaps the first event, one touches nothing, the second event is missed.
    assert match_events([(13, 16), (25, 26)], labelled) == (1, 1, 1)
    # Two detections on one event: the event counts once, the extra detection is a false positive.
    assert match_events([(10, 11), (13, 14)], labelled[:1]) == (1, 1, 0)
    assert precision_recall(1, 1, 1) == (0.5, 0.5)
    assert precision_recall(0, 0, 0) == (None, None)
