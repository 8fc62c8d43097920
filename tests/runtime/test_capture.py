"""Frame sources: video files (timestamps, damaged and truncated files), arrays, live sources."""

from __future__ import annotations

import time

import numpy as np
import pytest

from drowsy.runtime.capture import ArraySource, VideoSource
from drowsy.runtime.live import LiveSource
from drowsy.runtime.sources import open_source
from drowsy.settings import SourceConfig
from drowsy.errors import DrowsyError
from conftest import write_avi

CLIP = "videos/grid/brbk7n.mpg"


@pytest.fixture(scope="module")
def grid_frames(shared):
    with VideoSource(shared / CLIP) as src:
        return [f.image for f in src]


@pytest.fixture(scope="module")
def avi(tmp_path_factory, grid_frames):
    return write_avi(tmp_path_factory.mktemp("avi") / "clip.avi", grid_frames[:40], 10.0)


def test_video_frames_carry_the_files_timestamps(shared):
    with VideoSource(shared / CLIP) as src:
        frames = list(src)
        assert (src.fps, src.size, src.failed, src.truncated) == (25.0, (360, 288), 0, False)
    assert [f.index for f in frames] == list(range(75))
    assert np.allclose([f.t for f in frames], np.arange(75) / 25.0, atol=1e-6)
    assert frames[0].image.shape == (288, 360, 3) and frames[0].image.dtype == np.uint8


def test_timestamps_follow_the_files_rate_not_a_fixed_one(avi):
    with VideoSource(avi) as src:
        ts = [f.t for f in src]
    assert len(ts) == 40 and np.allclose(np.diff(ts), 0.1, atol=1e-6)


@pytest.mark.parametrize("content", [None, "folder", b"this is not a video\n" * 50, b""])
def test_missing_or_unreadable_files_fail_with_one_line(tmp_path, content):
    p = tmp_path / "input.mp4"
    if content == "folder":
        p.mkdir()
    elif content is not None:
        p.write_bytes(content)
    with pytest.raises(DrowsyError) as e:
        VideoSource(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_truncated_file_gives_what_it_can_and_says_so(tmp_path, avi):
    data = avi.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with VideoSource(cut) as src:
        frames = list(src)
        assert src.truncated
        assert src.expected_frames == 40
    assert 10 < len(frames) < 40
    assert [f.index for f in frames] == list(range(len(frames)))


def test_a_frame_that_fails_to_decode_is_skipped_and_counted(tmp_path, avi):
    data = bytearray(avi.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]  # JPEG SOI
    assert len(starts) == 40
    data[starts[20]:starts[20] + 3000] = bytes(3000)  # destroy frame 20
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(data))
    with VideoSource(bad) as src:
        frames = list(src)
        assert src.failed == 1 and not src.truncated
    indices = [f.index for f in frames]
    assert 20 not in indices and indices == [i for i in range(40) if i != 20]
    # The frames after the damage keep their place in time.
    assert frames[20].index == 21 and frames[20].t == pytest.approx(2.1)


def test_realtime_paces_at_the_files_rate(tmp_path, grid_frames):
    clip = write_avi(tmp_path / "short.avi", grid_frames[:6], 10.0)  # 0.5 s from first to last
    start = time.monotonic()
    with VideoSource(clip, realtime=True) as src:
        assert len(list(src)) == 6
    assert time.monotonic() - start >= 0.45


def test_array_source_times_are_index_over_fps():
    images = [np.zeros((4, 4, 3), np.uint8)] * 5
    frames = list(ArraySource(images, fps=10.0))
    assert [f.t for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert [f.index for f in frames] == list(range(5))


def test_open_source_picks_the_video(shared):
    src = open_source(SourceConfig(video=str(shared / CLIP)))
    try:
        assert isinstance(src, VideoSource)
    finally:
        src.close()


def test_a_camera_that_does_not_exist_fails_in_seconds():
    start = time.monotonic()
    with pytest.raises(DrowsyError, match="cannot open camera 97"):
        open_source(SourceConfig(camera=97))
    assert time.monotonic() - start < 10


def test_an_unreachable_stream_fails_with_its_password_masked():
    with pytest.raises(DrowsyError) as e:
        LiveSource("rtsp://user:secret@127.0.0.1:9/cam", open_timeout_s=2.0)
    assert "secret" not in str(e.value) and "***" in str(e.value)


class FakeCamera:
    """A cv2.VideoCapture stand-in: numbered frames, then (optionally) it dies."""

    def __init__(self, start: int, fail_after: int | None, period_s: float = 0.002):
        self.n, self.fail_after, self.period_s = start, fail_after, period_s
        self.released = False

    def read(self):
        time.sleep(self.period_s)
        if self.fail_after is not None and self.fail_after <= 0:
            return False, None
        if self.fail_after is not None:
            self.fail_after -= 1
        self.n += 1
        return True, np.full((8, 8, 3), self.n % 256, np.uint8)

    def release(self):
        self.released = True


def test_live_source_hands_out_the_newest_frame_and_counts_the_rest():
    cams = [FakeCamera(0, None)]
    src = LiveSource(0, opener=lambda s: cams[0])
    try:
        first = src.read(timeout_s=2)
        time.sleep(0.1)  # the camera keeps going while the "pipeline" is busy
        second = src.read(timeout_s=2)
        assert second.index > first.index + 1 and second.t > first.t
        assert src.dropped >= second.index - first.index - 1 > 0
    finally:
        src.close()
    assert cams[0].released


def test_live_source_reconnects_with_backoff_and_reports_it():
    opened = []

    def opener(_):
        # 1st: works for 20 frames; 2nd try fails (still unplugged); 3rd: back for good.
        opened.append(time.monotonic())
        return [FakeCamera(0, 20), None, FakeCamera(100, None)][len(opened) - 1]

    src = LiveSource("rtsp://cam/stream", reconnect_max_s=1.0, opener=opener)
    got, events = [], []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e.kind == "camera_back" for e in events):
            f = src.read(timeout_s=0.1)
            if f is not None:
                got.append(f)
            events += src.poll_events()
        f = src.read(timeout_s=2)
    finally:
        src.close()
    kinds = [e.kind for e in events]
    assert kinds == ["camera_lost", "camera_back"]
    lost, back = events
    assert back.t > lost.t and back.data["gap_s"] > 0 and back.data["source"] == "stream rtsp://cam/stream"
    assert len(opened) == 3 and opened[2] - opened[1] >= 0.9  # the wait doubled: 0.5 s, then 1 s
    assert f is not None and int(f.image[0, 0, 0]) > 100  # frames flow from the new connection
