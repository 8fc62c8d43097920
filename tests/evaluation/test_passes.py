"""Landmarker passes of eval-video: decimation keeps timestamps; a recorded pass replays the
very Faces it recorded; the cache key changes with the input."""

import numpy as np
import pytest

from drowsy.evaluation.passes import RecordingLandmarker, ReplayLandmarker, decimate
from drowsy.types import Face, Frame


def _frames(fps, seconds=2.0):
    return [Frame(image=np.zeros((2, 2, 3), np.uint8), index=i, t=i / fps) for i in range(int(fps * seconds))]


@pytest.mark.parametrize("fps, rate, kept", [(30, 15, 30), (30, 6, 12), (25, 15, 30), (25, 6, 12), (30, None, 60)])
def test_decimate_drops_frames_and_keeps_their_times(fps, rate, kept):
    frames = _frames(fps)
    out = list(decimate(frames, rate))
    assert abs(len(out) - kept) <= 1
    assert all(f.t == f.index / fps for f in out)  # the source's own timestamps
    gaps = np.diff([f.t for f in out])
    if rate:
        assert gaps.max() <= 1.0 / rate + 1.0 / fps + 1e-9 and gaps.min() >= 1.0 / fps - 1e-9


class _Fake:
    """A landmark stage: a face on even frames, none on odd ones."""

    def __call__(self, frame):
        if frame.index % 2:
            return None
        lm = np.full((478, 2), frame.index, np.float32)
        return Face(landmarks=lm, blendshapes={"eyeBlinkLeft": 0.1 * frame.index, "eyeBlinkRight": 0.2},
                    yaw_deg=1.5, pitch_deg=-frame.index, n_faces=1)

    def close(self):
        pass


def test_a_recorded_pass_replays_the_same_faces(tmp_path):
    rec = RecordingLandmarker(_Fake())
    frames = _frames(10, 1.0)
    live = [rec(f) for f in frames]
    rec.save(tmp_path / "pass.npz")
    replay = ReplayLandmarker(tmp_path / "pass.npz")
    for f, a in zip(frames, live):
        b = replay(f)
        if a is None:
            assert b is None
            continue
        assert np.array_equal(a.landmarks, b.landmarks) and a.blendshapes == pytest.approx(b.blendshapes)
        assert (b.yaw_deg, b.pitch_deg, b.n_faces) == (1.5, -f.index, 1)
    with pytest.raises(KeyError):
        replay(Frame(image=frames[0].image, index=99, t=9.9))
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically


def test_a_damaged_recording_is_recorded_again(tmp_path, monkeypatch):
    from pathlib import Path

    import drowsy.evaluation.passes as passes

    monkeypatch.setattr(passes, "cache_key", lambda *a: "k")
    made = []

    class _Landmarker(_Fake):
        def __init__(self, path):
            made.append(path)

    monkeypatch.setattr("drowsy.runtime.landmarks.Landmarker", _Landmarker)
    (tmp_path / "clip.mp4.k.npz").write_bytes(b"not a zip")
    stage, save = passes.landmark_stage(Path("clip.mp4"), "clean", None, Path("lm.task"), tmp_path)
    assert isinstance(stage, RecordingLandmarker) and made == [Path("lm.task")]
    stage(_frames(10, 0.2)[0])
    save()
    again, _ = passes.landmark_stage(Path("clip.mp4"), "clean", None, Path("lm.task"), tmp_path)
    assert isinstance(again, ReplayLandmarker)


def test_cache_must_be_a_folder(tmp_path):
    from drowsy.errors import UsageError
    from drowsy.evaluation.eval_video import cache_folder

    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="folder"):
        cache_folder(str(tmp_path / "f"))
    assert cache_folder("none") is None and cache_folder(str(tmp_path / "new")) == tmp_path / "new"
