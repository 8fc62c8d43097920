"""Issue 22: every check that can fail at the start of `drowsy run` (the web view's port, the MQTT
CA file and names, numbers, the profile) fails before the --out/--events logs are opened, so a
user's existing logs keep every byte."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import run_cli

CLIP = "videos/grid/brbk7n.mpg"
OLD = '{"frame": 0, "note": "yesterday\'s drive"}\n'


@pytest.fixture()
def logs(tmp_path):
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    out.write_text(OLD)
    events.write_text(OLD.replace("0", "1"))
    return out, events


def unchanged(logs) -> bool:
    out, events = logs
    return out.read_text() == OLD and events.read_text() == OLD.replace("0", "1")


@pytest.fixture()
def drive(shared, tmp_path):
    p = tmp_path / "drive.mpg"
    shutil.copy(shared / CLIP, p)
    return p


def run(capsys, drive, model, logs, *extra):
    out, events = logs
    return run_cli(capsys, "run", "--video", drive, "--model", model, "--headless", "--no-alarm",
                   "--out", out, "--events", events, *extra)


def test_a_serve_port_in_use_leaves_the_logs_alone(capsys, drive, tiny_model, landmarker, logs):
    pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        code, err = run(capsys, drive, tiny_model, logs, "--serve", f"127.0.0.1:{taken.getsockname()[1]}")
    assert code == 1 and "cannot serve on 127.0.0.1" in err[-1], err
    assert unchanged(logs)


def test_a_bad_mqtt_ca_file_leaves_the_logs_alone(capsys, drive, tiny_model, landmarker, logs, tmp_path):
    pytest.importorskip("paho", reason="the [mqtt] extra is not installed")
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    code, err = run(capsys, drive, tiny_model, logs, "--mqtt", "mqtts://127.0.0.1:1/fleet/bus", "--mqtt-ca", ca)
    assert code == 1 and "--mqtt-ca" in err[-1], err
    assert unchanged(logs)


@pytest.mark.parametrize("extra, message", [
    (["--mqtt", "mqtt://127.0.0.1:1/fleet/bus", "--mqtt-ca", "{ca}"], "--mqtt-ca is for an mqtts:// broker"),
    (["--mqtt", "mqtt://127.0.0.1:1/" + "p" * 70_000], "longer than MQTT allows"),
    (["--mqtt", "mqtt://127.0.0.1:1/fleet/bus", "--device-id", "d" * 70_000], "--device-id must be at most"),
    (["--mqtt", "mqtt://127.0.0.1:1/fleet/bus", "--device-id", "bus\x1b[2J7"], "--device-id must be at most"),
    (["--closed-threshold", "0.3", "--hysteresis", "0.3"], "--hysteresis must be < closed_threshold"),
    (["--closed-threshold", "0.05"], "hysteresis 0.1 (the eye model's hysteresis) must be below"),
    (["--hysteresis", "0.5"], "must be below the closed threshold 0.5 (the eye model's threshold)"),
    (["--jitter", "9" * 400], "--jitter must be <= 16"),
    (["--window", "9" * 400], "--window must be a finite number"),
])
def test_bad_settings_leave_the_logs_alone(capsys, drive, tiny_model, landmarker, logs, tmp_path, extra, message):
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    code, err = run(capsys, drive, tiny_model, logs, *[a.format(ca=ca) for a in extra])
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert len(err[0]) < 400 and "\x1b" not in err[0]
    assert unchanged(logs)


@pytest.mark.parametrize("text, message", [
    ("window_s = " + "9" * 400, "must be a finite number, got an integer of about 400 digits"),
    ("window_s = " + "9" * 5000, "not valid TOML"),
    ("closed_threshold = 0.4\nhysteresis = 0.5", "must be < closed_threshold (0.4)"),
])
def test_bad_numbers_in_a_config_leave_the_logs_alone(capsys, drive, tiny_model, logs, tmp_path, text, message):
    cfg = tmp_path / "drowsy.toml"
    cfg.write_text(f"[temporal]\n{text}\n")
    code, err = run(capsys, drive, tiny_model, logs, "--config", cfg)
    assert code in (1, 2) and len(err) == 1 and message in err[0], err
    assert unchanged(logs)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_profile_is_refused_at_once_and_the_logs_stay(shared, tiny_model, logs, tmp_path):
    """A FIFO nobody writes to used to block open() for ever (and ignore SIGTERM)."""
    fifo = tmp_path / "driver.toml"
    os.mkfifo(fifo)
    out, events = logs
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "drowsy", "run", "--video", str(shared / CLIP), "--model",
                           str(tiny_model), "--headless", "--no-alarm", "--profile", str(fifo), "--out", str(out),
                           "--events", str(events)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "not a regular file" in proc.stderr, proc.stderr
    assert time.monotonic() - start < 30
    assert unchanged(logs)


def test_a_profile_with_lid_geometry_and_landmarks_every_n_is_refused(capsys, drive, tiny_model, logs, tmp_path):
    # Flow moves landmarks rigidly, so between two landmark passes the lid geometry would be that
    # of the last pass and outvote a blink: the run says so in one line, before any log is opened.
    from drowsy.paths import sha256_of
    from drowsy.runtime import profile as prof
    from drowsy.runtime.fusion import Geometry

    path = tmp_path / "ann.toml"
    prof.write(prof.Profile(name="ann", closed_threshold=0.6, hysteresis=0.05, yaw_centre_deg=0.0,
                            pitch_centre_deg=0.0, model_sha256=sha256_of(tiny_model), basis="open_and_closed",
                            note="test", created="2026-01-01T00:00:00Z", measured={"open_frames": 100},
                            model_threshold=0.5, geometry=Geometry(ear_open=0.3, ear_closed=0.1, weight=0.5)), path)
    for every in ("6", "auto"):
        code, err = run(capsys, drive, tiny_model, logs, "--profile", path, "--landmarks-every", every)
        assert code == 2 and "lid geometry" in err[-1] and "--landmarks-every 1" in err[-1], err
        assert unchanged(logs)
