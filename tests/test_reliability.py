"""`drowsy run` from the outside: bad input is one line and exit 1 (usage errors exit 2), never
a traceback or a hang; faults during a run (lost camera, undecodable frame, signals, odd
frames) never crash it nor raise a closed-eye alert; secrets stay out of logs.

Runs go through drowsy.cli.main in-process, or a subprocess where a signal, a file descriptor
or the exit code of a real process matters. Videos are made here from a real GRID clip.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from drowsy.cli import main
from conftest import write_avi

REPO = Path(__file__).resolve().parent.parent
FPS = 25


# ---- helpers ------------------------------------------------------------------------------

def cli(args: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of an in-process `drowsy ...` (argparse errors included)."""
    try:
        rc = main(args)
    except SystemExit as e:
        rc = e.code
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def sub(args: list[str], timeout_s: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drowsy", *args], capture_output=True, text=True,
                          timeout=timeout_s, cwd=REPO, **kw)


def one_error_line(err: str, rc: int, expect_rc: int = 1) -> str:
    """The stderr of a failed command: exactly one line, no traceback; returns it."""
    assert rc == expect_rc, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def clip_frames(shared) -> list[np.ndarray]:
    """The 75 frames (3 s) of a frontal GRID clip."""
    import cv2

    cap = cv2.VideoCapture(str(shared / "videos" / "grid" / "brbk7n.mpg"))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    assert len(frames) == 75
    return frames


@pytest.fixture(scope="module")
def clip(clip_frames, tmp_path_factory) -> Path:
    return write_avi(tmp_path_factory.mktemp("clip") / "clip.avi", clip_frames)


@pytest.fixture()
def model(tiny_model) -> str:
    return str(tiny_model)


def base(model: str, *extra: str) -> list[str]:
    return ["run", "--headless", "--no-alarm", "--model", model, *extra]


# ---- bad input: one line, exit 1 ------------------------------------------------------------

def test_missing_folder_and_non_video_files(tmp_path, model, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    noise = tmp_path / "noise.avi"
    noise.write_bytes(np.random.default_rng(0).bytes(50_000))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for video, message in [(tmp_path / "missing.mp4", "video not found"), (tmp_path, "is a folder"),
                           (text, "cannot open"), (noise, "cannot"), (empty, "cannot")]:
        rc, _, err = cli(base(model, "--video", str(video)), capsys)
        assert message in one_error_line(err, rc), err


def test_mp4_cut_before_its_index_is_refused(tmp_path, shared, model, capsys):
    data = (shared / "videos" / "dinoman" / "example.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the moov index is gone: nothing is decodable
    rc, _, err = cli(base(model, "--video", str(cut)), capsys)
    assert "cannot open" in one_error_line(err, rc)


def test_truncated_video_is_processed_then_reported(tmp_path, clip, model, capsys):
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.jsonl"
    rc, _, err = cli(base(model, "--video", str(cut), "--out", str(out)), capsys)
    assert rc == 0 and "Traceback" not in err
    frames = jsonl(out)
    assert 20 < len(frames) < 75  # what could be read, and no more
    assert "ends early" in err and "truncated" in err


def test_undecodable_frame_is_skipped_and_counted(tmp_path, clip, model, capsys):
    data = bytearray(clip.read_bytes())
    starts = [m.start() for m in re.finditer(b"\xff\xd8\xff", bytes(data))]  # JPEG frames
    assert len(starts) == 75
    data[starts[40]:starts[40] + 4000] = bytes(4000)  # wipe frame 40
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out.jsonl"
    rc, _, err = cli(base(model, "--video", str(bad), "--out", str(out)), capsys)
    assert rc == 0 and "Traceback" not in err
    indices = [r["frame"] for r in jsonl(out)]
    assert sorted(set(range(75)) - set(indices)) == [40]  # the others keep their numbers
    assert "1 failed frame" in err


def test_corrupt_and_contract_breaking_eye_models(tmp_path, clip, capsys):
    from conftest import make_tiny_eye_model

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(np.random.default_rng(1).bytes(5000))
    half = tmp_path / "half.onnx"
    half.write_bytes(make_tiny_eye_model(tmp_path / "ok.onnx").read_bytes()[:200])
    wrong = make_tiny_eye_model(tmp_path / "wrong.onnx", size=32,
                                extra_meta={"drowsy.crop": '{"size": 24, "scale": 1.5}'})
    for path, message in [(junk, "not a valid ONNX model"), (half, "not a valid ONNX model"),
                          (wrong, "[N,1,24,24]"), (tmp_path / "none.onnx", "not found")]:
        rc, _, err = cli(base(str(path), "--video", str(clip)), capsys)
        line = one_error_line(err, rc)
        assert message in line and str(path) in line


def test_corrupt_or_missing_landmarker(tmp_path, clip, model, capsys):
    junk = tmp_path / "junk.task"
    junk.write_bytes(np.random.default_rng(2).bytes(100_000))
    empty = tmp_path / "empty.task"
    empty.write_bytes(b"")
    for path in (junk, empty, tmp_path / "missing.task"):
        rc, _, err = cli(base(model, "--video", str(clip), "--landmarker", str(path)), capsys)
        line = one_error_line(err, rc)
        assert "face landmarker" in line and str(path) in line


@pytest.mark.parametrize("flag", ["--out", "--events"])
def test_unwritable_outputs_fail_before_any_frame(tmp_path, clip, model, capsys, flag):
    other = "--events" if flag == "--out" else "--out"
    for target, message in [(tmp_path / "no" / "such" / "f.jsonl", "does not exist"), (tmp_path, "folder")]:
        rc, _, err = cli(base(model, "--video", str(clip), flag, str(target), other, str(tmp_path / "o.jsonl")), capsys)
        assert message in one_error_line(err, rc)
        assert not (tmp_path / "o.jsonl").exists() or (tmp_path / "o.jsonl").read_text() == ""


def test_disk_full_during_a_run_is_one_line(clip, model):
    # /dev/full accepts the open and fails every write with ENOSPC, like a full disk.
    r = sub(base(model, "--video", str(clip), "--out", "/dev/full"))
    line = one_error_line(r.stderr, r.returncode)
    assert "cannot write --out file /dev/full" in line and "No space left" in line


@pytest.mark.parametrize("flags", [
    ["--jitter", "-1"], ["--jitter", "99"], ["--window", "0"], ["--window", "-5"],
    ["--closed-threshold", "1.5"], ["--closed-threshold", "-0.1"], ["--perclos-alert", "2"],
    ["--microsleep", "0"], ["--threads", "-1"], ["--camera", "-1"], ["--window", "abc"],
    ["--device", "gpu"], ["--window", "nan"], ["--reconnect-max", "-1"],
])
def test_invalid_option_values_are_usage_errors(flags, clip, model, capsys):
    rc, _, err = cli(base(model, "--video", str(clip), *flags), capsys)
    line = one_error_line(err, rc, expect_rc=2)
    assert flags[0].lstrip("-").split("-")[0] in line  # names the setting


def test_camera_that_does_not_exist_fails_fast(model):
    r = sub(base(model, "--camera", "97"), timeout_s=30)  # a hang would raise TimeoutExpired
    assert "camera 97" in one_error_line(r.stderr, r.returncode)


def test_debug_shows_the_traceback(tmp_path, model):
    r = sub(["--debug", *base(model, "--video", str(tmp_path / "missing.mp4"))])
    assert r.returncode != 0 and "Traceback" in r.stderr and "DrowsyError: video not found" in r.stderr


# ---- secrets and the network ----------------------------------------------------------------

def test_stream_password_never_printed(tmp_path, model):
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    url = "rtsp://user:secret@127.0.0.1:9/x"  # port 9 (discard): nothing listens, refused at once
    r = sub(base(model, "--url", url, "--reconnect-max", "1", "--out", str(out), "--events", str(events)),
            timeout_s=60)
    line = one_error_line(r.stderr, r.returncode)
    assert "rtsp://user:***@127.0.0.1:9/x" in line
    logs = r.stdout + r.stderr + "".join(p.read_text() for p in (out, events) if p.exists())
    assert "secret" not in logs


def _listening_sockets(pid: int) -> list[str]:
    """TCP/UDP sockets of process `pid` in LISTEN state (or bound UDP), from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        p = Path(f"/proc/{pid}/net/{table}")
        for row in p.read_text().splitlines()[1:] if p.exists() else []:
            cols = row.split()
            listening = cols[3] == "0A" if table.startswith("tcp") else True
            if cols[9] in inodes and listening:
                found.append(f"{table} {cols[1]}")
    return found


# ---- signals: flush, close, exit 0 ----------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_with_outputs_flushed(tmp_path, clip_frames, model, sig):
    long_clip = write_avi(tmp_path / "long.avi", clip_frames * 4)  # 12 s, paced in real time
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "drowsy", *base(model, "--video", str(long_clip), "--realtime",
                                                                 "--out", str(out), "--events", str(events))],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (not out.exists() or out.read_text().count("\n") < 10) and proc.poll() is None:
            assert time.monotonic() < deadline, "no frames written within 60 s"
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1]
        assert _listening_sockets(proc.pid) == []  # nothing listens on the network
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    frames = jsonl(out)  # every line whole: flushed, not cut mid-record
    assert 10 <= len(frames) < 300  # stopped early, not at the end of the clip
    jsonl(events)
    assert re.search(rf"{len(frames)} frames? \(", stderr), stderr  # the summary line still comes


# ---- a camera that disconnects mid-run ------------------------------------------------------

class _FakeCamera:
    """A cv2.VideoCapture stand-in: `n` frames at 25 FPS, then read failures."""

    def __init__(self, frames, n: int, after=None):
        self.frames, self.n, self.i, self.after = frames, n, 0, after

    def read(self):
        time.sleep(1 / FPS)
        if self.i >= self.n:
            if self.after is not None:
                self.after()
            return False, None
        self.i += 1
        return True, self.frames[self.i % len(self.frames)].copy()

    def release(self):
        pass


def test_camera_lost_and_back_mid_run(tmp_path, clip_frames, model, monkeypatch, capsys):
    from drowsy import settings_io
    from drowsy.runtime import live, run
    from drowsy.cli import build_parser

    stop = threading.Event()
    # First life: 15 frames (0.6 s), then dead. One failed reopen, then a second life of 15.
    lives = iter([_FakeCamera(clip_frames, 15), None, _FakeCamera(clip_frames, 15, after=stop.set)])
    opened = []
    monkeypatch.setattr(live, "open_capture", lambda source, timeout_s=5.0: opened.append(source) or next(lives, None))
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    # Every frame counts as closed (threshold 0.05; the hysteresis must stay below it): if the
    # ~2 s gap counted as closed, the two 0.6 s closures would join into a microsleep alert.
    args = build_parser().parse_args(base(model, "--url", "rtsp://u:pw@cam/x", "--closed-threshold", "0.05",
                                          "--hysteresis", "0.02",
                                          "--reconnect-max", "1", "--out", str(out), "--events", str(events)))
    done = threading.Timer(30, stop.set)  # a safety net: the test never hangs
    done.start()
    try:
        rc = run.run(settings_io.resolve(args), stop)
    finally:
        done.cancel()
    assert rc == 0 and len(opened) == 3
    ev = jsonl(events)
    kinds = [e["event"] for e in ev]
    assert kinds.index("camera_lost") < kinds.index("camera_back")
    assert all(e.get("source") == "stream rtsp://u:***@cam/x" for e in ev if e["event"].startswith("camera"))
    assert "alert_on" not in kinds and "microsleep" not in kinds
    frames = jsonl(out)
    t = np.array([r["t"] for r in frames])
    gap = np.diff(t).max()
    assert gap > 1.0  # the camera really was away
    after = frames[int(np.argmax(np.diff(t))) + 1]
    assert after["closed_for"] < 0.2  # the closure restarted after the gap instead of running on
    err = capsys.readouterr().err
    assert "lost; reconnecting" in err and "pw" not in err


# ---- odd frames never raise a closed-eye alert ----------------------------------------------

def test_black_white_noise_and_faceless_frames_never_alert(tmp_path, clip_frames, model):
    rng = np.random.default_rng(3)
    h, w = clip_frames[0].shape[:2]
    frames = ([np.zeros((h, w, 3), np.uint8)] * 50 + [np.full((h, w, 3), 255, np.uint8)] * 50
              + [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(50)]
              + [np.ascontiguousarray(f[::-1]) for f in clip_frames[:50]])  # upside-down faces
    video = write_avi(tmp_path / "odd.avi", frames)
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    # The tiny model calls a dark crop closed: a black frame taken for a face would alert.
    r = sub(base(model, "--video", str(video), "--window", "4", "--min-assessable", "1",
                 "--out", str(out), "--events", str(events)))
    assert r.returncode == 0, r.stderr
    recs = jsonl(out)
    assert len(recs) == 200
    assert not any(rec["closed"] for rec in recs[:150])
    assert not any(rec["alert"] and rec["reason"] in ("microsleep", "perclos") for rec in recs[:150])
    assert not [e for e in jsonl(events) if e["event"] == "alert_on" and e["t"] < 6.0]


def test_the_largest_of_several_faces_is_used(clip_frames, landmarker):
    import cv2

    from drowsy.runtime.landmarks import Landmarker
    from drowsy.types import Frame

    big = clip_frames[0]
    canvas = np.full((288, 720, 3), 128, np.uint8)
    canvas[:, :360] = big
    canvas[50:223, 450:666] = cv2.resize(big, (216, 173))  # the same face at 60 %
    with Landmarker(landmarker, num_faces=2) as lm:  # drowsy run --faces 2; the default tracks one
        face = lm(Frame(canvas, 0, 0.0))
    assert face is not None and face.n_faces == 2
    x0, _, x1, _ = face.box
    assert x1 < 360 and x1 - x0 > 80  # the big face on the left, not the small one


# ---- no pickle from untrusted files ---------------------------------------------------------

def _torch_loads_without_weights_only(tree) -> list[int]:
    import ast

    bad = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
            safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                       for k in node.keywords)
            if not safe:
                bad.append(node.lineno)
    return bad


def test_no_unsafe_deserialisation_in_the_package():
    import ast

    offenders = []
    for path in sorted((REPO / "drowsy").glob("*.py")) + sorted((REPO / "scripts").glob("*.py")):
        text = path.read_text()
        offenders += [f"{path.name}:{n}: torch.load without weights_only=True"
                      for n in _torch_loads_without_weights_only(ast.parse(text))]
        for pattern in (r"\bpickle\.loads?\(", r"allow_pickle\s*=\s*True", r"\bjoblib\.load\(", r"\.listen\(",
                        r"HTTPServer", r"socketserver"):
            offenders += [f"{path.name}: {pattern}" for _ in re.finditer(pattern, text)]
    assert offenders == []


def test_the_torch_load_check_can_fail():
    import ast

    tree = ast.parse("import torch\nx = torch.load(str(p))\ny = torch.load(p, weights_only=True)\n"
                     "z = torch.load(p, map_location='cpu', weights_only=False)\n")
    assert _torch_loads_without_weights_only(tree) == [2, 4]


# ---- first use: the wheel carries the bundled eye model -------------------------------------

def test_wheel_ships_the_eye_model_and_no_data(tmp_path):
    """What `pip install .` gets (scripts/check_wheel.sh also installs it into a clean venv)."""
    import shutil
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, src / name)
    for folder in ("drowsy", "assets"):
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        model = REPO / "assets" / "eye_state.onnx"
        assert model.is_file(), "assets/eye_state.onnx is missing from the repository"
        assert z.read("drowsy/assets/eye_state.onnx") == model.read_bytes()
    modules = {f"drowsy/{p.name}" for p in (REPO / "drowsy").glob("*.py")}
    assert modules <= names
    data = (".jpg", ".png", ".mpg", ".mp4", ".avi", ".task", ".csv", ".npz", ".npy")
    # The data files shipped on purpose, each with its attribution: 36 CC BY eye crops for the
    # model's load-time check, and `drowsy demo`'s CC BY clip.
    shipped = {"drowsy/assets/selfcheck_crops.npz", "drowsy/assets/demo.mp4"}
    assert shipped | {"drowsy/assets/SELFCHECK.md", "drowsy/assets/DEMO.md"} <= names
    assert not [n for n in names if (n.lower().endswith(data) or n.startswith(("tests/", "shared/")))
                and n not in shipped]


def test_the_shipped_eye_model_is_pinned_by_sha256():
    """The card (or a SHA256SUMS) beside the bundled model names its sha256: a swapped or
    damaged file is noticed, and `drowsy info` prints the digest to compare with."""
    from drowsy.paths import sha256_of

    model = REPO / "assets" / "eye_state.onnx"
    assert model.is_file(), "assets/eye_state.onnx is missing"
    notes = [p for p in sorted((REPO / "assets").iterdir()) if p.suffix == ".md" or p.name == "SHA256SUMS"]
    assert any(sha256_of(model) in p.read_text() for p in notes), \
        f"no file in assets/ ({', '.join(p.name for p in notes) or 'none'}) names the sha256 of eye_state.onnx"
