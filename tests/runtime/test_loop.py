"""The frame loop (Pipeline.run): stages overlapping in threads give exactly the serial output,
a failing stage is one line and exit 1, SIGTERM flushes and ends the threads, a live source that
outpaces the pipeline has its older frames dropped and counted, and files never lose a frame."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from drowsy.cli import main
from drowsy.errors import DrowsyError
from drowsy.runtime.capture import Source
from drowsy.runtime.pipeline import Pipeline
from drowsy.settings import TemporalConfig
from drowsy.types import Frame

CLIP = "videos/grid/brbk7n.mpg"  # 75 frames, one blink


def run(capsys, *argv) -> tuple[int, list[str]]:
    code = main(["run", *map(str, argv)])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def records(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


@pytest.mark.mediapipe
def test_parallel_and_serial_runs_write_the_same_lines(capsys, shared, tmp_path):
    # The shipped eye model and the real landmarker: the landmarker tracks the face from frame
    # to frame, so any reordering or skipped frame would change the numbers.
    outs = {}
    for mode in ("--parallel", "--no-parallel"):
        out, events = tmp_path / f"out{mode}.jsonl", tmp_path / f"events{mode}.jsonl"
        code, err = run(capsys, "--video", shared / CLIP, "--headless", "--no-alarm", mode,
                        "--out", out, "--events", events)
        assert code == 0 and err[-1].startswith("drowsy run: 75 frames")
        outs[mode] = (records(out), events.read_text())
    (par, par_events), (ser, ser_events) = outs["--parallel"], outs["--no-parallel"]
    assert len(par) == 75 and par_events == ser_events and "blink" in par_events
    for a, b in zip(par, ser):
        assert a.keys() == b.keys() and a["timings_ms"].keys() == b["timings_ms"].keys()
        assert {k: v for k, v in a.items() if k != "timings_ms"} == {k: v for k, v in b.items() if k != "timings_ms"}
    assert list(par[0]["timings_ms"]) == ["decode", "landmarks", "crop", "classify", "temporal", "total", "latency"]
    # A frame's latency (capture to result) includes its time in the stages.
    assert all(r["timings_ms"]["latency"] >= r["timings_ms"]["total"] - 0.01 for r in par + ser)


@pytest.mark.mediapipe
@pytest.mark.parametrize("stage", ["landmarks", "reader"])
@pytest.mark.parametrize("mode", ["--parallel", "--no-parallel"])
def test_a_failing_stage_is_one_line_and_exit_1(capsys, monkeypatch, shared, tmp_path, tiny_model, stage, mode):
    from drowsy.runtime.capture import VideoSource
    from drowsy.runtime.landmarks import Landmarker

    if stage == "landmarks":
        cls, name, real = Landmarker, "__call__", Landmarker.__call__

        def failing(self, frame):
            if frame.index == 5:
                raise DrowsyError("landmarks broke on frame 5")
            return real(self, frame)
    else:
        cls, name, real = VideoSource, "read", VideoSource.read

        def failing(self, timeout_s=None):
            frame = real(self, timeout_s)
            if frame is not None and frame.index == 5:
                raise DrowsyError("reader broke on frame 5")
            return frame

    monkeypatch.setattr(cls, name, failing)
    out = tmp_path / "out.jsonl"
    code, err = run(capsys, "--video", shared / CLIP, "--model", tiny_model, "--headless", "--no-alarm",
                    mode, "--out", out)
    assert code == 1 and err == [f"drowsy run: error: {stage} broke on frame 5"]
    assert [r["frame"] for r in records(out)] == [0, 1, 2, 3, 4]  # the frames before it, flushed


class FastCamera(Source):
    """A live-like source: a new frame at every read, t on time.monotonic() (as LiveSource)."""

    live = True

    def __init__(self, n: int, fps: float = 0.0):
        self.n, self.read_count, self.fps_delay = n, 0, (1.0 / fps if fps else 0.0)
        self.image = np.zeros((8, 8, 3), np.uint8)

    def read(self, timeout_s=None):
        if self.read_count >= self.n:
            self.ended = True
            return None
        if self.fps_delay:
            time.sleep(self.fps_delay)
        i, self.read_count = self.read_count, self.read_count + 1
        return Frame(self.image, i, time.monotonic())


class SlowLandmarker:
    """No face, after a wait: a landmark stage slower than the camera."""

    def __init__(self, wait_s: float):
        self.wait_s, self.seen = wait_s, []

    def __call__(self, frame):
        time.sleep(self.wait_s)
        self.seen.append(frame.index)
        return None


class NoModel:
    threshold = 0.5


def _pipeline(landmarker) -> Pipeline:
    from drowsy.runtime.temporal import DrowsinessMonitor

    return Pipeline(landmarker, None, None, DrowsinessMonitor(TemporalConfig(), NoModel.threshold))


@pytest.mark.parametrize("live", [True, False])
def test_a_live_source_drops_older_frames_and_counts_them_files_drop_none(live):
    camera = FastCamera(200)
    camera.live = live
    landmarker = SlowLandmarker(0.003)
    with _pipeline(landmarker).run(camera) as loop:
        results = [s.result for s in loop if s.result is not None]
    got = [r.frame.index for r in results]
    assert got == sorted(set(got)) and got[-1] == 199  # in order, and the newest frame is the last
    assert len(got) + loop.dropped == 200  # every frame is either processed or counted as dropped
    if live:
        assert loop.dropped > 0 and all("capture" in r.timings_ms for r in results)
    else:
        assert loop.dropped == 0 and got == list(range(200))


def test_stop_ends_a_parallel_loop_and_its_threads():
    camera = FastCamera(10**9, fps=200)  # never ends by itself
    stop = threading.Event()
    n = 0
    with _pipeline(SlowLandmarker(0.001)).run(camera, stop=stop) as loop:
        for step in loop:
            n += step.result is not None
            if n == 20:
                stop.set()
    assert n == 20
    assert not [t for t in threading.enumerate() if t.name in ("drowsy-reader", "drowsy-landmarks")]


def test_any_iterable_of_frames_is_a_source():
    frames = [Frame(np.zeros((4, 4, 3), np.uint8), i, i / 10) for i in range(7)]
    for parallel in (True, False):
        with _pipeline(lambda f: None).run(iter(frames), parallel=parallel) as loop:
            steps = list(loop)
        assert [s.result.frame.index for s in steps] == list(range(7))
        assert all(s.result.state.closed is None for s in steps)  # no face: not assessable


def test_a_read_without_a_frame_never_displaces_a_waiting_frame():
    # Newest frame wins only against a newer frame: a camera that goes quiet (reads time out)
    # must not lose the frame still waiting for the landmarker, nor any event.
    from drowsy.runtime.loop import _Item, _Mailbox
    from drowsy.types import Event

    box = _Mailbox()
    frame = Frame(np.zeros((4, 4, 3), np.uint8), 0, 0.0)
    box.put(_Item(frame, 1.0, 0.0, ()))
    box.put(_Item(None, 100.0, 0.1, (Event(0.1, "camera_lost"),)))
    item = box.get_nowait()
    assert item.frame is frame and [e.kind for e in item.events] == ["camera_lost"] and box.dropped == 0
    newer = Frame(frame.image, 1, 0.3)
    box.put(_Item(frame, 1.0, 0.0, (Event(0.2, "camera_back"),)))
    box.put(_Item(newer, 1.0, 0.3, ()))
    item = box.get_nowait()
    assert item.frame is newer and [e.kind for e in item.events] == ["camera_back"] and box.dropped == 1


@pytest.mark.mediapipe
def test_sigterm_during_a_parallel_run_flushes_and_ends_its_threads(capsys, shared, tmp_path, tiny_model):
    import os
    import signal

    out = tmp_path / "out.jsonl"

    def send_when_running():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and len(out.read_text().splitlines()) >= 5:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.02)

    threading.Thread(target=send_when_running, daemon=True).start()
    code, err = run(capsys, "--video", shared / CLIP, "--model", tiny_model, "--realtime", "--parallel",
                    "--headless", "--no-alarm", "--out", out)
    lines = records(out)  # every line complete
    assert code == 0 and 5 <= len(lines) < 75 and err[-1].startswith(f"drowsy run: {len(lines)} frames")
    assert [r["frame"] for r in lines] == list(range(len(lines)))
    assert not [t for t in threading.enumerate() if t.name in ("drowsy-reader", "drowsy-landmarks")]
