"""The calibration evaluation's bookkeeping: the leave-one-person-out choice among the candidates,
and who takes part (blink matching is evaluation/blinks.py's, tested in test_blinks.py; the
pipeline passes themselves in tests/runtime)."""

from __future__ import annotations

from drowsy.evaluation.blinks import BlinkCount as C
from drowsy.evaluation.calibration import CANDIDATES, SHIPPABLE, chosen_on_all, lopo_rules, people


def test_the_rule_is_chosen_on_the_other_people_only():
    tot = {"a": {"fixed": C(5, 2, 0), "half": C(5, 0, 0)},   # half helps a
           "b": {"fixed": C(4, 0, 0), "half": C(4, 0, 0)},
           "c": {"fixed": C(3, 0, 0), "half": C(2, 0, 1)}}   # half hurts c
    # a: b and c say fixed; b: a's gain (two false blinks) beats c's loss (one missed); c: a says half.
    assert lopo_rules(tot, ("fixed", "half")) == {"a": "fixed", "b": "half", "c": "half"}
    tie = {"a": {"fixed": C(1, 0, 0), "half": C(1, 0, 0)}, "b": {"fixed": C(1, 0, 0), "half": C(1, 0, 0)}}
    assert lopo_rules(tie, ("fixed", "half")) == {"a": "fixed", "b": "fixed"}


def test_no_profile_wins_a_tie_and_what_ships_is_a_profile_rule_that_can_weigh_the_lids():
    same = {p: {k: C(3, 0, 1) for k in CANDIDATES} for p in "abc"}
    assert set(lopo_rules(same).values()) == {"none"}
    assert chosen_on_all(same) == "none" and chosen_on_all(same, SHIPPABLE) == "capped/fixed/ear-needed"
    assert not any(c.endswith("/cnn") for c in SHIPPABLE) and set(SHIPPABLE) < set(CANDIDATES)
    same["a"]["midpoint/half/ear"] = C(4, 0, 0)  # one more blink found: it now ships
    assert chosen_on_all(same, SHIPPABLE) == "midpoint/half/ear"
    same["b"]["capped/fixed/cnn"] = C(5, 0, 0)  # the CNN alone is compared, never shipped
    assert chosen_on_all(same) == "capped/fixed/cnn" and chosen_on_all(same, SHIPPABLE) == "midpoint/half/ear"


def test_people_need_a_calibration_clip_and_a_labelled_test_clip(tmp_path):
    for name in ("p1_FNN.mp4", "p1_FBN.mp4", "p2_FBN.mp4", "p3_FNN.mp4"):
        (tmp_path / name).write_bytes(b"")
        (tmp_path / (name + ".eyestate.csv")).write_text("frame,closed,in_event,partial_ambiguous\n")
    assert {p: sorted(c) for p, c in people(tmp_path).items()} == {"p1": ["FBN", "FNN"]}
