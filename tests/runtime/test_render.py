"""Overlay drawing and the headless fallback (this machine has no display)."""

from __future__ import annotations

import numpy as np
import pytest

from drowsy.runtime import render
from drowsy.runtime.render import Window, display_problem, draw, state_label
from drowsy.types import Drowsiness, EyeCrops, EyeScores, Frame, FrameResult

RIGHT_EYE = [[100, 100], [140, 100], [140, 140], [100, 140]]
LEFT_EYE = [[200, 100], [240, 100], [240, 140], [200, 140]]


def result(p=(0.1, 0.9), closed=False, perclos=None, alert=False, reason=None, face=True):
    frame = Frame(np.full((288, 360, 3), 90, np.uint8), 0, 0.0)
    crops = EyeCrops(np.zeros((2, 1, 24, 24), np.uint8), np.array([RIGHT_EYE, LEFT_EYE], np.float32), 90.0)
    scores = EyeScores(np.array(p, np.float32), np.zeros(2, np.float32), np.array(p, np.float32)[:, None])
    state = Drowsiness(closed=closed, perclos=perclos, closed_for_s=0.0, alert=alert, reason=reason)
    return FrameResult(frame, None, crops if face else None, scores if face else None, state, {})


def edge_color(img, x, y):
    return tuple(int(v) for v in img[y, x])


def test_eye_boxes_are_red_when_closed_and_green_when_open():
    r = result(p=(0.1, 0.9))
    out = draw(r.frame.image, r, fps=25.0, threshold=0.5)
    b, g, rr = edge_color(out, 120, 140)  # bottom edge of the right eye's box: p = 0.1, open
    assert g > 150 and rr < 100
    b, g, rr = edge_color(out, 220, 140)  # left eye: p = 0.9, closed
    assert rr > 150 and g < 100
    assert np.array_equal(r.frame.image, np.full((288, 360, 3), 90, np.uint8))  # input untouched


def test_unassessable_eyes_are_grey():
    r = result(closed=None, reason="head_turned")
    out = draw(r.frame.image, r)
    b, g, rr = edge_color(out, 120, 140)
    assert b == g == rr != 90
    assert state_label(r) == "not assessable: head_turned"


def test_the_perclos_gauge_fills_with_perclos():
    def filled(perclos):
        r = result(perclos=perclos)
        row = draw(r.frame.image, r, perclos_alert=0.15)[12, 9:9 + 100]  # inside the gauge
        return int((np.abs(row.astype(int) - 90).sum(axis=1) > 60).sum())

    assert filled(None) < filled(0.1) < filled(0.3)


def test_an_alert_is_shown_around_the_whole_frame():
    r = result(alert=True, reason="microsleep", closed=True)
    out = draw(r.frame.image, r)
    assert state_label(r) == "ALERT: microsleep"
    b, g, rr = edge_color(out, 180, 286)  # the bottom border
    assert rr > 150 and b < 100
    calm = draw(r.frame.image, result())
    assert edge_color(calm, 180, 286) == (90, 90, 90)


def test_no_face_draws_no_boxes():
    r = result(face=False, closed=None, reason="no_face")
    out = draw(r.frame.image, r)
    assert edge_color(out, 120, 140) == (90, 90, 90)


def test_no_display_means_headless_with_one_warning(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    warnings = []
    w = Window(warn=warnings.append)
    assert not w.active and len(warnings) == 1 and "headless" in warnings[0]
    assert w.show(np.zeros((4, 4, 3), np.uint8)) and w.poll()  # headless: nothing to stop
    w.close()


def test_an_unreachable_display_is_not_handed_to_qt(monkeypatch):
    # Qt would abort the whole process; the check must catch it first.
    monkeypatch.setenv("DISPLAY", ":87")
    monkeypatch.setattr(render.sys, "platform", "linux")
    assert "DISPLAY=:87" in display_problem()


def test_headless_asked_for_is_silent(monkeypatch):
    warnings = []
    assert not Window(headless=True, warn=warnings.append).active and warnings == []


@pytest.mark.parametrize("display", ["localhost:83.0", "nonsense"])
def test_remote_or_malformed_display_is_checked(monkeypatch, display):
    monkeypatch.setenv("DISPLAY", display)
    assert display_problem() is not None


def test_a_profile_in_use_is_named_bottom_left():
    r = result()
    plain = draw(r.frame.image, r, threshold=0.5)
    named = draw(r.frame.image, r, threshold=0.5, profile="ann")
    changed = np.argwhere((plain != named).any(axis=2))
    assert len(changed) and changed[:, 0].min() > 288 * 0.8 and changed[:, 1].max() < 360 * 0.5
