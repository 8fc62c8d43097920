"""`drowsy demo`: the real run on the bundled clip, with no camera, no display and no ../shared."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from drowsy.paths import REPO_ROOT, sha256_of
from drowsy.runtime.demo import LoopingSource, demo_clip

pytestmark = pytest.mark.mediapipe


def test_demo_headless_shows_blinks_the_microsleep_alert_and_a_summary(landmarker, tmp_path):
    # A fresh process as a user starts it: no display, and ../shared pointed nowhere, so only
    # the landmarker (as $DROWSY_LANDMARKER) and what ships in the package are used.
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(DROWSY_LANDMARKER=str(landmarker), DROWSY_SHARED=str(tmp_path / "no-shared"), DROWSY_OFFLINE="1")
    events = tmp_path / "events.jsonl"
    r = subprocess.run([sys.executable, "-m", "drowsy", "demo", "--headless", "--events", str(events)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert "synthetic hold" in out[0] and "CC BY 4.0" in out[0]  # the user is told what is made up
    told = [m[1] for m in (re.fullmatch(r"drowsy demo: +\d+\.\d\d s  (.+)", line) for line in out) if m]
    assert told[0].startswith("blink") and told[-1].startswith("blink")
    assert "ALERT (warning): microsleep, eyes closed 1.5" in told[1] and told[2].startswith("microsleep: eyes closed 2.6")
    assert told[3].startswith("alert off (microsleep")
    summary = r.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"drowsy demo: 137 frames \(5\.4 s of input\) in [\d.]+ s, [\d.]+ fps; "
                        r"2 blinks, 1 alert; 0 dropped, 0 failed frames", summary), summary
    logged = [json.loads(line) for line in events.read_text().splitlines()]
    on = [e for e in logged if e["event"] == "alert_on"]
    assert len(on) == 1 and on[0]["reason"] == "microsleep" and 3.0 < on[0]["t"] < 3.5  # 1.72 s + 1.5 s


def test_the_narration_tells_every_driver_state_event_with_its_level():
    # What a user reads in the terminal for the driver-state events (issue 19): each alert with
    # its level and what raised it, the head drop / slump and looking down in words, not raw keys.
    from drowsy.runtime.demo import _describe
    from driver_scenes import every_new_event

    told = [_describe(ev) for ev in every_new_event()[1]]
    ons = [line for line in told if line.startswith("ALERT")]
    assert {"ALERT (warning): microsleep", "ALERT (critical): sleep", "ALERT (warning): distraction",
            "ALERT (critical): unresponsive"} <= {line.split(",")[0] for line in ons}, ons
    distraction = next(line for line in ons if "distraction" in line)
    assert re.fullmatch(r"ALERT \(warning\): distraction, off the road 3\.\d\d s \((no_face|looking_down)\)",
                        distraction), distraction
    assert any(re.fullmatch(r"ALERT \(critical\): sleep, eyes closed 3\.\d\d s", line) for line in ons), ons
    assert any(line.startswith("face left the picture after the eyes closed for 0.9") for line in told), told
    assert any(line.startswith("head dropped after the eyes closed for 0.8") for line in told), told
    assert "looking down with open eyes (not a closure)" in told
    assert any(line.endswith("part of it unseen (head dropped or out of view)") for line in told), told
    assert not any("{" in line or "closure_start" in line for line in told), told


def test_the_looping_source_runs_time_and_frame_numbers_on():
    with LoopingSource(demo_clip(), realtime=False) as src:
        frames = [src.read() for _ in range(300)]
    assert src.loops == 2 and all(f is not None for f in frames)
    assert [f.index for f in frames] == list(range(300))
    steps = [b.t - a.t for a, b in zip(frames, frames[1:])]
    assert min(steps) == pytest.approx(0.04, abs=1e-6) and max(steps) == pytest.approx(0.04, abs=1e-6)


def test_the_clip_is_small_and_its_attribution_names_it():
    clip = demo_clip()
    assert clip.stat().st_size < 400_000
    card = (REPO_ROOT / "assets" / "DEMO.md").read_text()
    assert sha256_of(clip) in card and "CC BY 4.0" in card and "synthetic hold" in card.lower()


def test_demo_serve_loops_in_real_time_until_ctrl_c(landmarker, tmp_path):
    # What a user opening the page late sees: the clip again, in real time, until Ctrl-C.
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    import signal
    import time
    import urllib.request

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(DROWSY_LANDMARKER=str(landmarker), DROWSY_OFFLINE="1")
    p = subprocess.Popen([sys.executable, "-m", "drowsy", "demo", "--serve", "127.0.0.1:0"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        while url is None:
            line = p.stderr.readline()
            assert line, "drowsy demo ended before serving"
            m = re.search(r"web view on (http://127\.0\.0\.1:\d+/)", line)
            url = m and m[1]
        wall0, status = time.monotonic(), {}
        while status.get("t") is None or status["t"] <= 5.6:  # until past the 5.5 s clip's end
            assert time.monotonic() - wall0 < 60, status
            time.sleep(0.5)
            status = json.loads(urllib.request.urlopen(url + "status", timeout=10).read())
        wall = time.monotonic() - wall0
    finally:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert status["frame"] >= 137  # looped: time and frame numbers run on past the clip's end
    assert wall > status["t"] - 0.5  # paced: the server starts before the first frame, so t <= wall time
    assert "looping until Ctrl-C" in out and out.count("ALERT (warning): microsleep") >= 1
    assert re.search(r"drowsy demo: \d+ frames .*; 0 dropped, 0 failed frames", err)
