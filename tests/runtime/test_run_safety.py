"""`drowsy run` never destroys what a user has and obeys every signal: outputs are checked
against the inputs before anything opens, a run that cannot start truncates nothing, every
wait wakes on SIGINT/SIGTERM, and hostile values end in one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from drowsy.cli import main
from conftest import make_tiny_eye_model, write_avi

CLIP = "videos/grid/brbk7n.mpg"
YESTERDAY = '{"frame": 0, "note": "yesterday\'s drive"}\n'


def run(capsys, *argv) -> tuple[int, list[str]]:
    code = main(["run", *map(str, argv)])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


@pytest.fixture()
def drive(shared, tmp_path):
    """A user's video: a copy, so a failure could not touch ../shared either."""
    p = tmp_path / "drive.mpg"
    shutil.copy(shared / CLIP, p)
    return p


@pytest.fixture()
def yesterday(tmp_path):
    p = tmp_path / "yesterday.jsonl"
    p.write_text(YESTERDAY)
    return p


# -- an output may not be an input --------------------------------------------------------

@pytest.mark.parametrize("flag", ["--out", "--events"])
def test_an_output_equal_to_the_video_leaves_the_video_alone(capsys, drive, tiny_model, flag):
    before = drive.read_bytes()
    code, err = run(capsys, "--video", drive, "--model", tiny_model, "--headless", "--no-alarm", flag, drive)
    assert code == 2 and len(err) == 1 and f"{flag} {drive} is the input --video" in err[0]
    assert drive.read_bytes() == before


@pytest.mark.parametrize("which", ["--model", "--landmarker"])
def test_an_output_equal_to_a_model_leaves_the_model_alone(capsys, drive, tmp_path, landmarker, which):
    model = make_tiny_eye_model(tmp_path / "m.onnx")
    lm = tmp_path / "lm.task"
    shutil.copy(landmarker, lm)
    target = model if which == "--model" else lm
    before = target.read_bytes()
    code, err = run(capsys, "--video", drive, "--model", model, "--landmarker", lm, "--headless", "--no-alarm",
                    "--out", target)
    assert code == 2 and len(err) == 1 and f"is the input {which}" in err[0]
    assert target.read_bytes() == before


def test_an_output_named_in_the_config_file_is_checked_too(capsys, drive, tmp_path, tiny_model):
    before = drive.read_bytes()
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[source]\nvideo = "{drive}"\n[output]\nout = "{drive}"\nheadless = true\nalarm = false\n')
    code, err = run(capsys, "--config", cfg, "--model", tiny_model)
    assert code == 2 and "is the input --video" in err[0] and drive.read_bytes() == before
    # and the config file itself is an input
    text = cfg.read_text()
    code, err = run(capsys, "--video", drive, "--model", tiny_model, "--config", cfg, "--out", tmp_path / "o.jsonl",
                    "--events", cfg)
    assert code == 2 and "is the input --config" in err[0] and cfg.read_text() == text


def test_out_and_events_on_one_file_is_a_usage_error(capsys, drive, tiny_model, yesterday, tmp_path):
    code, err = run(capsys, "--video", drive, "--model", tiny_model, "--headless", "--no-alarm",
                    "--out", yesterday, "--events", yesterday)
    assert code == 2 and len(err) == 1 and "same file" in err[0]
    os.link(yesterday, tmp_path / "alias.jsonl")
    code, err = run(capsys, "--video", drive, "--model", tiny_model, "--headless", "--no-alarm",
                    "--out", yesterday, "--events", tmp_path / "alias.jsonl")
    assert code == 2 and "same file" in err[0]
    assert yesterday.read_text() == YESTERDAY


# -- a run that cannot start truncates nothing -----------------------------------------------

def test_a_mistyped_video_leaves_yesterdays_log_untouched(capsys, tmp_path, tiny_model, yesterday):
    code, err = run(capsys, "--video", tmp_path / "drvie.mpg", "--model", tiny_model, "--headless", "--no-alarm",
                    "--out", yesterday, "--events", tmp_path / "new-events.jsonl")
    assert code == 1 and len(err) == 1 and "video not found" in err[0]
    assert yesterday.read_text() == YESTERDAY and not (tmp_path / "new-events.jsonl").exists()


def test_a_model_that_fails_its_check_leaves_yesterdays_log_untouched(capsys, drive, tmp_path, yesterday):
    from test_selfcheck import constant_model

    code, err = run(capsys, "--video", drive, "--model", constant_model(tmp_path / "m.onnx", 247.0), "--headless",
                    "--no-alarm", "--out", yesterday)
    assert code == 1 and len(err) == 1 and "probabilities in [0, 1]" in err[0]
    assert yesterday.read_text() == YESTERDAY


def test_out_dash_with_stdout_closed_is_one_line(shared, tiny_model, landmarker):
    cmd = [sys.executable, "-m", "drowsy", "run", "--video", str(shared / CLIP), "--model", str(tiny_model),
           "--landmarker", str(landmarker), "--headless", "--no-alarm", "--out", "-"]
    r = subprocess.run(" ".join(map(repr, cmd)) + " 1>&-", shell=True, capture_output=False,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == ["drowsy run: error: cannot write --out to standard output: it is closed"]


# -- every wait obeys SIGINT/SIGTERM ----------------------------------------------------------

def _signal_when(predicate, sig=signal.SIGTERM, limit_s=60.0):
    def watch():
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if predicate():
                os.kill(os.getpid(), sig)
                return
            time.sleep(0.02)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_realtime_pacing_wakes_on_a_signal(capsys, tmp_path, shared, tiny_model, sig):
    """Frames a minute apart: the run stops at the signal, not when the next frame is due, and
    writes its closing summary."""
    from drowsy.runtime.capture import VideoSource

    with VideoSource(shared / CLIP) as src:
        images = [f.image for f in src][:3]
    slow = write_avi(tmp_path / "slow.avi", images, fps=1 / 60)
    out = tmp_path / "out.jsonl"
    watcher = _signal_when(lambda: out.exists() and out.read_text().count("\n") >= 1, sig)
    start = time.monotonic()
    code, err = run(capsys, "--video", slow, "--model", tiny_model, "--realtime", "--headless", "--no-alarm",
                    "--out", out)
    watcher.join()
    assert code == 0 and time.monotonic() - start < 50  # the second frame was due 58.8 s in
    assert err[-1].startswith("drowsy run: 1 frame ")
    assert len(out.read_text().splitlines()) == 1


def test_a_fifo_with_no_writer_is_abandoned_on_a_signal(capsys, tmp_path, tiny_model, yesterday):
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    opening = threading.Event()
    import drowsy.runtime.sources as sources

    real = sources._open

    def traced(cfg):
        opening.set()
        return real(cfg)

    sources._open = traced
    try:
        watcher = _signal_when(lambda: opening.is_set() and time.sleep(0.3) is None)
        code, err = run(capsys, "--video", fifo, "--model", tiny_model, "--headless", "--no-alarm",
                        "--out", yesterday)
        watcher.join()
    finally:
        sources._open = real
    assert code == 0 and err == ["drowsy run: stopped while opening the source; nothing processed, "
                                 "no output written"]
    assert yesterday.read_text() == YESTERDAY
    deadline = time.monotonic() + 5  # the abandoned open was released (its FIFO opened from the other end)
    while any(t.name == "drowsy-open" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "drowsy-open" for t in threading.enumerate())


def test_reconnect_backoff_wakes_when_the_source_closes():
    from drowsy.runtime.live import LiveSource

    class Once:  # one frame, then the camera is gone for good
        def __init__(self):
            self.sent = False

        def read(self):
            if self.sent:
                return False, None
            self.sent = True
            return True, np.zeros((8, 8, 3), np.uint8)

        def release(self):
            pass

    opened = iter([Once()])
    src = LiveSource(0, reconnect_max_s=3600, opener=lambda s: next(opened, None))
    deadline = time.monotonic() + 30
    while not any(e.kind == "camera_lost" for e in src.poll_events()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2.0)  # into the backoff (0.5, 1, 2 s ... up to an hour)
    src.close()
    assert not src._thread.is_alive()  # woke from its wait and ended within close()'s join


# -- hostile values: one line ------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--threads", "100000"], "--threads must be <= 256"),
    (["--camera", str(10 ** 30)], "--camera must be <= 1023"),
    (["--camera", "9" * 5000], "invalid int value"),
    (["--window", "1e300"], "--window must be <= 3600"),
    (["--window", "nan"], "--window must be a finite number"),
    (["--jitter", "-1"], "--jitter must be >= 0"),
    (["--url", "file:///dev/zero"], "--url must be a stream URL"),
    (["--url", "/tmp/clip.mp4"], "--url must be a stream URL"),
])
def test_hostile_flags_are_one_line(capsys, argv, message):
    try:
        code = main(["run", *argv, "--headless", "--no-alarm"])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_a_toml_file_with_a_bom_is_accepted(capsys, tmp_path):
    cfg = tmp_path / "bom.toml"
    cfg.write_bytes("\ufeff[temporal]\nwindow_s = 20\n".encode("utf-8"))
    assert main(["run", "--config", str(cfg), "--print-config"]) == 0
    assert "window_s = 20.0" in capsys.readouterr().out


@pytest.mark.parametrize("text", [
    "[temporal]\nwindow_s = " + "[" * 100_000 + "]" * 100_000,
    "[output]\nout = " + "{a = " * 100_000 + "1" + "}" * 100_000,
    "[" + ".".join(["source"] * 100_000) + "]\n",
    "[temporal]\nwindow_s = nan\n",
    "[temporal]\nwindow_s = inf\n",
    "[source]\ncamera = 99999999999999999999\n",
])
def test_hostile_toml_is_one_line(capsys, tmp_path, text):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    code = main(["run", "--config", str(cfg), "--print-config"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code in (1, 2) and len(err) == 1 and len(err[0]) < 400, err


def test_an_endless_config_is_one_line(capsys):
    code = main(["run", "--config", "/dev/zero", "--print-config"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1 and len(err) == 1 and "not a regular file" in err[0]


def test_many_threads_run_and_exit(capsys, shared, tiny_model, tmp_path):
    """The largest allowed --threads still runs and exits (onnxruntime's pool is joined)."""
    code, err = run(capsys, "--video", shared / CLIP, "--model", tiny_model, "--threads", 256, "--headless",
                    "--no-alarm", "--out", tmp_path / "o.jsonl")
    assert code == 0 and err[-1].startswith("drowsy run: 75 frames")
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 75
    assert json.loads((tmp_path / "o.jsonl").read_text().splitlines()[0])["frame"] == 0


# -- a landmarker bundle with swapped or renamed members ---------------------------------------

def _rebundle(src, dst, rename):
    import zipfile

    with zipfile.ZipFile(src) as z:
        data = {n: z.read(n) for n in z.namelist()}
    names = list(data)
    with zipfile.ZipFile(dst, "w") as out:
        for name in names:
            out.writestr(rename(name, names), data[name])
    return dst


@pytest.mark.parametrize("how", ["detector and mesh swapped", "detector and blendshapes swapped", "renamed"])
def test_a_landmarker_bundle_with_swapped_members_is_one_line(capsys, drive, tmp_path, landmarker, tiny_model,
                                                               yesterday, how):
    def rename(name, names):
        if how == "renamed":
            return "x_" + name
        a, b = ("face_detector.tflite", "face_landmarks_detector.tflite") if "mesh" in how else \
            ("face_detector.tflite", "face_blendshapes.tflite")
        return {a: b, b: a}.get(name, name)

    bad = _rebundle(landmarker, tmp_path / "bad.task", rename)
    code, err = run(capsys, "--video", drive, "--model", tiny_model, "--landmarker", bad, "--headless", "--no-alarm",
                    "--out", yesterday)
    assert code == 1 and len(err) == 1 and f"face landmarker {bad}" in err[0], err
    assert yesterday.read_text() == YESTERDAY
    import gc

    gc.collect()  # MediaPipe's finaliser once deadlocked here on the failed graph (the whole suite hung)


def test_file_names_that_are_not_utf8_work(drive, tmp_path, tiny_model, landmarker):
    """OpenCV crashed (SIGSEGV) on such a name; a real process, since a crash would kill pytest."""
    raw = os.fsencode(tmp_path) + b"/\xff-drive.mpg"
    os.rename(drive, raw)
    out = os.fsencode(tmp_path) + b"/\xfe.jsonl"
    r = subprocess.run([sys.executable, "-m", "drowsy", "run", "--video", raw, "--model", str(tiny_model),
                        "--landmarker", str(landmarker), "--headless", "--no-alarm", "--out", out],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(open(out, "rb").read().splitlines()) == 75
