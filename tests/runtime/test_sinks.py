"""JSON Lines sinks: one flushed line per record, unwritable paths fail before any frame."""

from __future__ import annotations

import json
import math
import os

import pytest

from drowsy.errors import DrowsyError
from drowsy.runtime.sinks import EventLog, JsonlSink
from drowsy.types import Event


def test_each_record_is_on_disk_as_soon_as_it_is_written(tmp_path):
    p = tmp_path / "events.jsonl"
    log = EventLog(p)
    log.add(Event(1.23456, "blink", {"duration_s": 0.2}))
    # Read while still open: a crash now would leave a complete line.
    assert json.loads(p.read_text()) == {"t": 1.2346, "event": "blink", "duration_s": 0.2}
    log.add(Event(2.0, "alert_on", {"reason": "microsleep"}))
    log.add(Event(3.0, "blink"))
    log.close()
    assert [json.loads(line)["event"] for line in p.read_text().splitlines()] == ["blink", "alert_on", "blink"]
    assert log.counts == {"blink": 2, "alert_on": 1}


@pytest.mark.parametrize("where", ["missing_dir", "folder"])
def test_unwritable_paths_are_one_line(tmp_path, where):
    p = tmp_path / "no" / "such" / "out.jsonl" if where == "missing_dir" else tmp_path
    with pytest.raises(DrowsyError) as e:
        JsonlSink(p, "--out")
    assert "\n" not in str(e.value) and "--out" in str(e.value)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_line():
    s = JsonlSink("/dev/full", "--events")
    with pytest.raises(DrowsyError, match="--events.*No space"):
        s.write({"a": 1})
    s.close()


def test_non_finite_numbers_become_null(tmp_path):
    p = tmp_path / "x.jsonl"
    s = JsonlSink(p)
    s.write({"p": [math.nan, 0.5], "q": math.inf})
    s.close()
    assert json.loads(p.read_text()) == {"p": [None, 0.5], "q": None}


def test_no_path_writes_nothing_but_still_counts():
    log = EventLog(None)
    log.add(Event(0.0, "blink"))
    log.close()
    assert log.counts["blink"] == 1


def test_dash_is_standard_output(capsys):
    s = JsonlSink("-")
    s.write({"a": 1})
    s.close()
    assert json.loads(capsys.readouterr().out) == {"a": 1}


def test_every_driver_state_event_and_level_reaches_the_events_log(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from driver_scenes import NEW_EVENTS, NEW_REASONS, every_new_event

    results, events = every_new_event()
    p, frames = tmp_path / "events.jsonl", tmp_path / "frames.jsonl"
    log, out = EventLog(p), JsonlSink(frames)
    for e in events:
        log.add(e)
    for r in results:
        out.write(r.to_json())
    log.close()
    out.close()
    got = [json.loads(line) for line in p.read_text().splitlines()]
    assert set(NEW_EVENTS) <= {e["event"] for e in got}
    on = {(e["reason"], e["level"]) for e in got if e["event"] == "alert_on"}
    assert {("sleep", "critical"), ("unresponsive", "critical"), ("distraction", "warning")} <= on
    assert all("level" in e for e in got if e["event"] in ("alert_on", "alert_off"))
    assert {e["reason"] for e in got if e["event"] == "alert_on"} >= set(NEW_REASONS)
    recs = [json.loads(line) for line in frames.read_text().splitlines()]
    assert {r["level"] for r in recs} >= {None, "warning", "critical"}
    assert {r["off_road"] for r in recs} >= {None, "no_face", "looking_down"}
