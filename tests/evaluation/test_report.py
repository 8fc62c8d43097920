"""`drowsy report`: a PNG timeline from a run's JSON Lines; bad input is one line, exit 1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drowsy.cli import main
from drowsy.evaluation.report import load_session, summary, _frame_ends
from drowsy.types import Drowsiness, Event, EyeScores, Face, Frame, FrameResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _record(i: int, t: float, face: bool, p: float | None, closed, perclos, alert=False, reason=None) -> dict:
    """One line exactly as `drowsy run --out` writes it (FrameResult.to_json)."""
    img = np.zeros((4, 4, 3), np.uint8)
    f = Face(landmarks=np.zeros((478, 2), np.float32)) if face else None
    sc = None if p is None else EyeScores(p_closed=np.array([p, p], np.float32), spread=np.zeros(2), raw=np.zeros((2, 1)))
    st = Drowsiness(closed=closed, perclos=perclos, closed_for_s=0.0, alert=alert, reason=reason)
    return FrameResult(Frame(img, i, t), f, None, sc, st, {"landmarks": 1.0}).to_json()


@pytest.fixture()
def run_file(tmp_path):
    """20 s at 10 FPS: open, a 3 s closure with a microsleep alert, 2 s without a face, open."""
    lines = []
    for i in range(200):
        t = i / 10
        if 100 <= i < 120:
            lines.append(_record(i, t, False, None, None, 0.2))
        elif 60 <= i < 90:
            lines.append(_record(i, t, True, 0.9, True, 0.1 + i / 1000, alert=i >= 75, reason="microsleep" if i >= 75 else None))
        else:
            lines.append(_record(i, t, True, 0.1, False, None if i < 30 else 0.05))
    path = tmp_path / "run.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


@pytest.fixture()
def events_file(tmp_path):
    evs = [Event(3.0, "blink", {"start": 2.8, "duration_s": 0.2}), Event(7.5, "alert_on", {"reason": "microsleep"}),
           Event(9.0, "microsleep", {"start": 6.0, "duration_s": 3.0}), Event(9.0, "alert_off", {"reason": "microsleep"}),
           Event(15.0, "camera_lost"), Event(15.5, "camera_back")]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e.to_json()) + "\n" for e in evs))
    return path


def _is_png(path) -> tuple[int, int]:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_MAGIC
    h, w = matplotlib.image.imread(path).shape[:2]
    return h, w


def test_report_writes_a_png(run_file, events_file, tmp_path, capsys):
    out = tmp_path / "report.png"
    assert main(["report", str(run_file), "-o", str(out), "--events", str(events_file)]) == 0
    h, w = _is_png(out)
    assert w > 1000 and h > 500  # big enough to read a session's detail
    assert capsys.readouterr().out.strip() == f"wrote {out}"


def test_report_default_output_beside_the_run(run_file):
    assert main(["report", str(run_file)]) == 0
    _is_png(run_file.with_suffix(".png"))


def test_session_columns_and_summary(run_file, events_file):
    s = load_session(run_file)
    assert len(s.t) == 200
    assert list(np.bincount(s.state, minlength=4)) == [30, 150, 0, 20]  # closed, open, -, no face
    assert np.isnan(s.p_closed[100:120]).all() and np.isnan(s.perclos[:30]).all()
    text = summary(s, _frame_ends(s.t), None)
    assert "200 frames over 20.0 s" in text and "no face 10 %" in text
    assert "1 alert period (microsleep)" in text and "max PERCLOS 0.20" in text
    evs = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert "1 alert (1 microsleep)" in summary(s, _frame_ends(s.t), evs)
    assert "1 blinks, 1 microsleeps" in summary(s, _frame_ends(s.t), evs)


def test_a_gap_is_not_drawn_as_frames():
    t = np.array([0.0, 0.1, 0.2, 5.0, 5.1])  # the camera was away for ~5 s
    ends = _frame_ends(t)
    assert ends[2] == pytest.approx(0.3) and ends[1] == pytest.approx(0.2)


def test_incomplete_last_line_is_skipped_with_a_note(run_file, tmp_path, capsys):
    with open(run_file, "a") as f:
        f.write('{"frame": 200, "t": 20.0, "fa')  # killed mid-write
    assert main(["report", str(run_file), "-o", str(tmp_path / "r.png")]) == 0
    assert "incomplete last line 201" in capsys.readouterr().err


def test_empty_events_file_is_fine(run_file, tmp_path):
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    assert main(["report", str(run_file), "-o", str(tmp_path / "r.png"), "--events", str(empty)]) == 0


@pytest.mark.parametrize("content, message", [
    ("", "holds no records"),
    ("\n\n", "holds no records"),
    ("not json\n{\"t\": 1}\n", "line 1 is not a JSON object"),
    ('{"t": 0, "face": true}\n[1, 2]\n{"t": 1, "face": true}\n', "line 2 is not a JSON object"),
    ('{"t": 0.5, "event": "blink"}\n', "is not a `drowsy run --out` file"),
    ('{"t": 0, "face": true}\n{"t": "x", "face": true}\n', 'line 2 has no valid time "t"'),
    (b"\xff\xfe\x00binary".decode("latin-1"), "cannot read run file"),
])
def test_bad_input_is_one_line_exit_1(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content.encode("latin-1"))
    assert main(["report", str(bad), "-o", str(tmp_path / "r.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "r.png").exists()


def test_missing_input_and_unwritable_output(run_file, tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "r.png")]) == 1
    assert "run file not found" in capsys.readouterr().err
    assert main(["report", str(run_file), "-o", str(tmp_path / "no" / "dir" / "r.png")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", str(run_file), "-o", str(tmp_path / "r.pdf")]) == 2
    assert main(["report", str(run_file), "--perclos-alert", "1.5"]) == 2


def test_report_draws_the_run_s_own_alert_level(run_file, tmp_path, monkeypatch):
    import drowsy.evaluation.report as report

    drawn = []
    monkeypatch.setattr(report, "plot", lambda session, out, events, alert, title: drawn.append(alert))
    cfg = tmp_path / "run.toml"
    cfg.write_text("[temporal]\nperclos_alert = 0.3\nperclos_clear = 0.2\n")
    assert main(["report", str(run_file), "--config", str(cfg)]) == 0
    assert main(["report", str(run_file), "--config", str(cfg), "--perclos-alert", "0.2"]) == 0
    assert main(["report", str(run_file)]) == 0
    assert drawn == [0.3, 0.2, 0.15]


def test_report_of_a_driver_state_run_says_the_highest_level(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "runtime"))
    from driver_scenes import closure_then_slump, run as drive

    evs, states = drive(closure_then_slump, fps=10.0)  # closure, slump: microsleep, sleep, unresponsive
    results = [FrameResult(Frame(np.zeros((4, 4, 3), np.uint8), i, t), None, None, None, st, {"total": 1.0})
               for i, (t, st) in enumerate(states)]
    events = [Event(t, k, d) for t, k, d in evs]
    run, evfile, out = tmp_path / "run.jsonl", tmp_path / "events.jsonl", tmp_path / "r.png"
    run.write_text("".join(json.dumps(r.to_json()) + "\n" for r in results))
    evfile.write_text("".join(json.dumps(e.to_json()) + "\n" for e in events))
    assert main(["report", str(run), "-o", str(out), "--events", str(evfile)]) == 0
    _is_png(out)
    s = load_session(run)
    line = summary(s, _frame_ends(s.t), [json.loads(x) for x in evfile.read_text().splitlines()])
    assert "3 alerts, up to critical (1 microsleep, 1 sleep, 1 unresponsive)" in line, line
    assert "1 microsleeps" in line  # the closure that continued unseen ends as one microsleep
