"""`drowsy run` end to end, in-process through drowsy.cli.main: exit codes, one-line errors,
outputs, signals, reconnection, a microsleep built from a real clip, and repeatability."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from drowsy.runtime.capture import VideoSource
from drowsy.cli import main
from drowsy.paths import default_eye_model
from conftest import write_avi

pytestmark = pytest.mark.mediapipe

CLIP = "videos/grid/brbk7n.mpg"  # eyes closed on frames 21-23, open elsewhere
REQUIRED = {"frame", "t", "face", "p_closed", "closed", "perclos", "closed_for", "alert", "reason", "timings_ms"}


def run(capsys, *argv) -> tuple[int, list[str]]:
    code = main(["run", *map(str, argv)])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def lines(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


@pytest.fixture(scope="module")
def grid_frames(shared):
    with VideoSource(shared / CLIP) as src:
        return [f.image for f in src]


# -- failures: one line, exit 1, before anything is processed ----------------------------------

@pytest.mark.parametrize("what", ["missing", "folder", "text"])
def test_unusable_video_is_one_line_and_exit_1(capsys, tmp_path, what):
    p = tmp_path / "clip.mp4"
    if what == "folder":
        p.mkdir()
    elif what == "text":
        p.write_text("hello\n" * 100)
    code, err = run(capsys, "--video", p, "--headless", "--no-alarm")
    assert code == 1 and len(err) == 1 and err[0].startswith("drowsy run: error:")


def test_a_camera_that_is_not_there_fails_in_seconds(capsys):
    start = time.monotonic()
    code, err = run(capsys, "--camera", 97, "--headless", "--no-alarm")
    assert code == 1 and err == ["drowsy run: error: cannot open camera 97"]
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("bad", ["--out", "--events"])
def test_unwritable_output_fails_before_any_frame(capsys, shared, tmp_path, tiny_model, bad):
    good = "--events" if bad == "--out" else "--out"
    code, err = run(capsys, "--video", shared / CLIP, "--model", tiny_model, "--headless", "--no-alarm",
                    bad, tmp_path / "missing" / "x.jsonl", good, tmp_path / "good.jsonl")
    assert code == 1 and len(err) == 1 and bad in err[0]
    good_file = tmp_path / "good.jsonl"
    assert not good_file.exists() or good_file.read_text() == ""


# -- a normal run ----------------------------------------------------------------------------

def test_a_run_writes_every_frame_and_a_summary(capsys, shared, tmp_path, tiny_model, monkeypatch):
    import sys

    monkeypatch.delenv("DISPLAY", raising=False)  # no display and no sound, wherever this runs
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    code, err = run(capsys, "--video", shared / CLIP, "--model", tiny_model, "--out", out, "--events", events)
    assert code == 0
    # No display and no sound card here: one line each, then the summary.
    assert len(err) == 3 and "running headless" in err[0] and "alerts are silent" in err[1]
    assert err[2].startswith("drowsy run: 75 frames (3.0 s of input)") and "0 failed" in err[2]
    records = lines(out)
    assert [r["frame"] for r in records] == list(range(75))
    assert all(REQUIRED <= r.keys() for r in records)
    assert set(records[0]["timings_ms"]) == {"decode", "landmarks", "crop", "classify", "temporal", "total", "latency"}
    assert all(r["face"] and len(r["p_closed"]) == 2 for r in records)
    assert all("event" in e and "t" in e for e in lines(events))


def test_headless_and_no_alarm_print_only_the_summary(shared, tiny_model, landmarker):
    # A real process: MediaPipe, ONNX Runtime and FFmpeg write to fd 2, which capsys cannot see.
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "drowsy", "run", "--video", str(shared / CLIP), "--model",
                        str(tiny_model), "--landmarker", str(landmarker), "--headless", "--no-alarm"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == ""
    err = r.stderr.splitlines()
    assert len(err) == 1 and err[0].startswith("drowsy run: 75 frames"), r.stderr


def test_print_config_prints_toml_and_processes_nothing(capsys, tmp_path):
    code = main(["run", "--video", str(tmp_path / "not-even-there.mp4"), "--print-config"])
    out = capsys.readouterr().out
    assert code == 0 and "[source]" in out and "not-even-there.mp4" in out


def test_a_truncated_video_is_processed_then_reported(capsys, tmp_path, grid_frames, tiny_model):
    clip = write_avi(tmp_path / "clip.avi", grid_frames[:40])
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.jsonl"
    code, err = run(capsys, "--video", cut, "--model", tiny_model, "--headless", "--no-alarm", "--out", out)
    assert code == 0  # documented: what could be read is valid output
    assert "ends early" in err[-1] and "of the 40" in err[-1]
    assert 10 < len(lines(out)) < 40


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_cleanly_with_flushed_outputs(capsys, shared, tmp_path, tiny_model, sig):
    out = tmp_path / "out.jsonl"

    def send_when_running():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and len(out.read_text().splitlines()) >= 3:
                os.kill(os.getpid(), sig)
                return
            time.sleep(0.02)

    before = signal.getsignal(sig)
    killer = threading.Thread(target=send_when_running, daemon=True)
    killer.start()
    # --realtime: the 3 s clip takes 3 s, so the signal arrives mid-run.
    code, err = run(capsys, "--video", shared / CLIP, "--model", tiny_model, "--realtime", "--headless",
                    "--no-alarm", "--out", out)
    killer.join()
    assert code == 0
    records = lines(out)  # every line complete JSON
    assert 3 <= len(records) < 75
    assert err[-1].startswith(f"drowsy run: {len(records)} frames")
    assert signal.getsignal(sig) is before  # our handler is gone again


def test_a_camera_lost_mid_run_reconnects_and_the_gap_is_reported(capsys, monkeypatch, tmp_path,
                                                                   grid_frames, tiny_model):
    import drowsy.runtime.sources
    from drowsy.runtime.run import run as run_app
    from drowsy.settings import ModelConfig, OutputConfig, RunConfig
    from drowsy.runtime.live import LiveSource
    from drowsy.runtime.pipeline import Pipeline

    class Camera:  # 15 real frames, then unplugged; the second connection keeps going
        def __init__(self, frames_left):
            self.left, self.i = frames_left, 0

        def read(self):
            time.sleep(0.02)
            if self.left == 0:
                return False, None
            self.left -= 1
            self.i += 1
            return True, grid_frames[self.i % len(grid_frames)]

        def release(self):
            pass

    cams = iter([Camera(15), None, Camera(-1)])
    monkeypatch.setattr(drowsy.runtime.sources, "open_source",
                        lambda cfg, stop=None: LiveSource(0, reconnect_max_s=1.0, opener=lambda s: next(cams)))
    gaps = []
    real_gap = Pipeline.gap
    monkeypatch.setattr(Pipeline, "gap", lambda self, t, reason: gaps.append(reason) or real_gap(self, t, reason))
    events = tmp_path / "events.jsonl"
    stop = threading.Event()
    cfg = RunConfig(model=ModelConfig(model=str(tiny_model), jitter=0),
                    output=OutputConfig(headless=True, alarm=False, events=str(events)))

    def stop_after_reconnect():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "camera_back" not in (events.read_text() if events.exists() else ""):
            time.sleep(0.05)
        time.sleep(0.3)  # a few frames from the new connection
        stop.set()

    threading.Thread(target=stop_after_reconnect, daemon=True).start()
    assert run_app(cfg, stop) == 0
    kinds = [e["event"] for e in lines(events)]
    assert kinds.index("camera_lost") < kinds.index("camera_back")
    assert gaps and set(gaps) == {"camera_lost"}  # the outage was fed to the temporal logic
    err = capsys.readouterr().err
    assert "camera 0 lost; reconnecting" in err and "camera 0 back after" in err


# -- behaviour with the shipped eye model ----------------------------------------------------

@pytest.fixture(scope="module")
def eye_model():
    path = default_eye_model()
    assert path.is_file(), f"the shipped eye model is missing: {path}"
    return path


def test_a_long_closure_raises_the_microsleep_alert_and_clears(capsys, tmp_path, grid_frames, eye_model):
    # Real pixels: open frames 0-20, the labelled closed frame 22 held for 3 s, then open 24-74.
    fps, hold = 25.0, 75
    images = grid_frames[:21] + [grid_frames[22]] * hold + grid_frames[24:]
    clip = write_avi(tmp_path / "microsleep.avi", images, fps)
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    code, _ = run(capsys, "--video", clip, "--headless", "--no-alarm", "--out", out, "--events", events)
    assert code == 0
    closed_at, opened_at, microsleep_s = 21 / fps, (21 + hold) / fps, 1.5
    ev = lines(events)
    on = [e for e in ev if e["event"] == "alert_on"]
    off = [e for e in ev if e["event"] == "alert_off"]
    assert len(on) == 1 and on[0]["reason"] == "microsleep"
    assert closed_at + microsleep_s <= on[0]["t"] <= closed_at + microsleep_s + 0.5
    assert len(off) == 1 and opened_at <= off[0]["t"] <= opened_at + 1.5  # min_alert_s, not the clip end
    sleeps = [e for e in ev if e["event"] == "microsleep"]
    assert len(sleeps) == 1 and sleeps[0]["duration_s"] == pytest.approx(hold / fps, abs=0.1)
    records = lines(out)
    assert not any(r["alert"] for r in records if r["t"] < closed_at + microsleep_s - 1e-6)
    assert not records[-1]["alert"]


def test_two_runs_over_one_clip_give_identical_output(capsys, shared, tmp_path, eye_model):
    outs = []
    for k in range(2):
        out, events = tmp_path / f"out{k}.jsonl", tmp_path / f"events{k}.jsonl"
        code, _ = run(capsys, "--video", shared / CLIP, "--headless", "--no-alarm", "--out", out,
                      "--events", events)
        assert code == 0
        recs = [{k: v for k, v in r.items() if k != "timings_ms"} for r in lines(out)]
        outs.append((recs, events.read_text()))
    assert len(outs[0][0]) == 75 and outs[0] == outs[1]
    assert np.isfinite([p for r in outs[0][0] for p in r["p_closed"]]).all()
