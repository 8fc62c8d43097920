"""`drowsy run --serve` and `--mqtt` end to end on a real clip: what a user on the same network
or a fleet subscriber sees, the one-line failures, and no password or token in any output."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_avi
from drowsy.cli import main
from mosquitto_broker import Subscriber, broker, needs_broker, wait_for  # noqa: F401 (broker: a fixture)

CLIP = "videos/grid/brbk7n.mpg"  # 75 frames, 3 s; eyes closed on frames 21-23
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def grid_clip(shared, tmp_path_factory) -> Path:
    """Real pixels, 6 s: open (frames 0-20), the closed frame 22 held 2 s, open again, twice."""
    from drowsy.runtime.capture import VideoSource

    with VideoSource(shared / CLIP) as src:
        frames = [f.image for f in src]
    images = (frames[:21] + [frames[22]] * 50 + frames[24:]) * 2
    return write_avi(tmp_path_factory.mktemp("clip") / "closures.avi", images, 25.0)


def run(capsys, *argv) -> tuple[int, list[str], str]:
    code = main(["run", *map(str, argv)])
    cap = capsys.readouterr()
    return code, [line for line in cap.err.splitlines() if line.strip()], cap.out


@pytest.mark.parametrize("flag, value, extra", [("--serve", "127.0.0.1:0", "uvicorn"),
                                                ("--mqtt", "mqtt://127.0.0.1:1/x", "paho")])
def test_without_the_extra_one_line_before_any_output(capsys, monkeypatch, tmp_path, flag, value, extra):
    monkeypatch.setitem(sys.modules, extra, None)
    out = tmp_path / "out.jsonl"
    code, err, _ = run(capsys, "--video", tmp_path / "not-read.mp4", flag, value, "--out", out)
    assert code == 1 and err == [f"drowsy run: error: {flag} needs the {flag[2:]} extra: "
                                 f"pip install 'drowsy-eyes[{flag[2:]}]'"]
    assert not out.exists()


def test_a_missing_ca_file_is_one_line(capsys, tmp_path):
    pytest.importorskip("paho.mqtt.client")
    code, err, _ = run(capsys, "--video", tmp_path / "x.mp4", "--mqtt", "mqtts://127.0.0.1/x",
                       "--mqtt-ca", tmp_path / "ca.pem")
    assert code == 1 and err == [f"drowsy run: error: cannot read --mqtt-ca {tmp_path / 'ca.pem'}: no such file"]


@pytest.mark.shared
@pytest.mark.mediapipe
def test_a_run_serves_its_state_while_it_plays(shared, tiny_model, landmarker):
    pytest.importorskip("uvicorn")
    cmd = [sys.executable, "-m", "drowsy", "run", "--video", str(shared / CLIP), "--model", str(tiny_model),
           "--landmarker", str(landmarker), "--headless", "--no-alarm", "--realtime", "--serve", "127.0.0.1:0",
           "--serve-token", "tok-123456"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        first = proc.stderr.readline()
        assert first.startswith("drowsy run: web view on http://127.0.0.1:") and first.rstrip().endswith(
            "/ (token required)"), first
        port = int(first.split("127.0.0.1:")[1].split("/")[0])

        def status():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/status", headers={"Authorization": "Bearer tok-123456"})
            return json.loads(conn.getresponse().read())

        seen = wait_for(lambda: (s := status())["t"] is not None and s, what="a frame on /status")
        later = wait_for(lambda: (s := status())["frame"] > seen["frame"] and s, what="the next frames")
        assert later["face"] and len(later["p_closed"]) == 2
        proc.send_signal(signal.SIGINT)  # stop mid-clip: the server must not hold the exit
        rest = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    assert rest.splitlines()[-1].startswith("drowsy run: ") and "frames" in rest.splitlines()[-1]
    assert "tok-123456" not in first + rest


@pytest.mark.shared
@pytest.mark.mediapipe
@needs_broker
def test_a_run_publishes_its_events_and_never_prints_the_password(capsys, shared, grid_clip, broker, tmp_path):
    sub = Subscriber(broker.port, "fleet/#")
    # Anonymous broker: it accepts any user and password, so the secret travels but must not show.
    url = f"mqtt://ops:pa55word@127.0.0.1:{broker.port}/fleet/box-7"
    log = tmp_path / "events.jsonl"
    code, err, out = run(capsys, "--video", grid_clip, "--headless", "--no-alarm", "--events", log,
                         "--mqtt", url, "--device-id", "box-7")
    assert code == 0
    assert "pa55word" not in "\n".join(err) + out + log.read_text()
    assert re.fullmatch(rf"drowsy run: mqtt mqtt://ops:\*\*\*@127.0.0.1:{broker.port}/fleet/box-7: "
                        r"\d+ messages published, 0 dropped \(broker unreachable or queue full\)", err[-1]), err
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"microsleep", "alert_on", "alert_off"} <= {e["event"] for e in logged}
    wait_for(lambda: len(sub.on("fleet/box-7/events")) >= len(logged), what="every event")
    published = sub.on("fleet/box-7/events")
    assert all(e.pop("device_id") == "box-7" and e.pop("time") > 0 for e in published)
    assert published == logged  # each event once, in order, as in --events
    status = sub.on("fleet/box-7/status")
    assert status[0]["device_id"] == "box-7" and status[0]["status"] == "online" and status[-1]["status"] == "offline"
    sub.close()
