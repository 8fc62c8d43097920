"""--landmarks-every N|auto (runtime/track.py): between landmark passes the eye crops follow a
moving face (a real frame moved by known amounts), large motion brings the next pass forward,
records carry the landmarks' age, auto never makes the eye stage wait, and N = 1 is today's run."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from drowsy.cli import main
from drowsy.runtime.crop import EYE_CORNERS, CropSpec, Cropper, crop_eyes
from drowsy.runtime.track import ANCHORS, EveryN, flow_motion, move
from drowsy.types import Face, Frame

CLIP = "videos/grid/brbk7n.mpg"  # 75 frames, one blink
CORNERS = [i for pair in EYE_CORNERS for i in pair]


@pytest.fixture(scope="module")
def still(shared, landmarker):
    """Frame 0 of a real clip, upscaled to 640x480 like a webcam, and its real landmarks."""
    import cv2

    from drowsy.runtime.capture import VideoSource
    from drowsy.runtime.landmarks import Landmarker

    with VideoSource(shared / CLIP) as source:
        image = cv2.resize(next(iter(source)).image, (640, 480), interpolation=cv2.INTER_LINEAR)
    with Landmarker(landmarker) as lm:
        face = lm(Frame(image, 0, 0.0))
    assert face is not None
    return image, face


def shifted(image, m):
    import cv2

    return cv2.warpAffine(image, m, image.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def motion(t: float, w: int = 640, h: int = 480) -> np.ndarray:
    """A known head motion: a sway of up to 30 px and a roll of up to 5 deg, ~4 px per frame at 25 FPS."""
    import cv2

    m = cv2.getRotationMatrix2D((w / 2, h / 2), 5.0 * np.sin(2 * np.pi * t / 3.0), 1.0)
    m[:, 2] += (30 * np.sin(2 * np.pi * t / 2.0), 12 * np.sin(2 * np.pi * t / 2.6))
    return m


def truth(face: Face, m) -> Face:
    return move(face, np.asarray(m, dtype=np.float64))


@pytest.mark.parametrize("dx, dy, roll", [(5.0, -3.0, 0.0), (-12.0, 7.0, 0.0), (4.0, 2.0, 4.0)])
def test_flow_moves_the_landmarks_with_the_face(still, dx, dy, roll):
    import cv2

    image, face = still
    m = cv2.getRotationMatrix2D((320, 240), roll, 1.0)
    m[:, 2] += (dx, dy)
    moved_image = shifted(image, m)
    est = flow_motion(image, moved_image, face.landmarks[list(ANCHORS)])
    assert est is not None
    got, want = move(face, est).landmarks, truth(face, m).landmarks
    assert np.abs(got[CORNERS] - want[CORNERS]).max() < 0.5  # px, after moves of 5-14 px
    # The eye crops cut from the moved landmarks are those cut from the true ones.
    a = crop_eyes(moved_image, got, CropSpec(), 0).crops.astype(int)
    b = crop_eyes(moved_image, want, CropSpec(), 0).crops.astype(int)
    assert np.abs(a - b).mean() < 2.0
    # Without the flow (stale landmarks) the crops would be far off: the test can tell.
    c = crop_eyes(moved_image, face.landmarks, CropSpec(), 0).crops.astype(int)
    assert np.abs(c - b).mean() > 3 * np.abs(a - b).mean()


class TrueLandmarker:
    """The landmark stage for frames moved by `motion`: the exact moved landmarks, calls counted."""

    def __init__(self, face, wait_s: float = 0.0):
        self.face, self.wait_s, self.calls = face, wait_s, []

    def __call__(self, frame):
        time.sleep(self.wait_s)
        self.calls.append(frame.index)
        return truth(self.face, motion(frame.t)), self.wait_s * 1e3


def test_every_n_follows_a_swaying_face_between_passes(still):
    image, face = still
    lm = TrueLandmarker(face)
    tracker = EveryN(lm, every=6, max_motion=0.5)
    errors, ages = [], []
    for i in range(50):  # 2 s at 25 FPS
        t = i / 25
        out = tracker(Frame(shifted(image, motion(t)), i, t))
        errors.append(np.abs(out.face.landmarks[CORNERS] - truth(face, motion(t)).landmarks[CORNERS]).max())
        ages.append(out.age.frames)
    assert max(errors) < 1.5  # px: the crops stay on the eyes while the face moves ~4 px a frame
    # One in 6 (50 frames: 9 passes), plus early ones where the eyes moved half an eye width.
    assert lm.calls[0] == 0 and 9 <= len(lm.calls) <= 25, lm.calls
    assert ages[:5] == [0, 1, 2, 3, 4] and max(ages) <= 5


def test_a_jump_brings_the_next_landmark_pass_forward(still):
    image, face = still
    big = np.array([[1.0, 0, 60.0], [0, 1.0, 0]])  # two eye widths in one frame: a head turn, a cut

    class Jump:
        calls = []

        def __call__(self, frame):
            self.calls.append(frame.index)
            return (truth(face, big) if frame.index >= 3 else face), 1.0

    jump = Jump()
    tracker = EveryN(jump, every=6, max_motion=0.5)
    for i in range(6):
        out = tracker(Frame(image if i < 3 else shifted(image, big), i, i / 25))
    assert jump.calls == [0, 3]  # frame 3 did not wait for frame 6
    assert tracker.early == 1 and out.age.frames == 2


def test_auto_never_makes_the_eye_stage_wait(still, tiny_model):
    from drowsy.runtime.classify import EyeClassifier
    from drowsy.runtime.pipeline import Pipeline, monitor_for
    from drowsy.settings import TemporalConfig

    image, face = still
    slow = TrueLandmarker(face, wait_s=0.5)  # 2 landmark passes a second, a camera at 25 FPS
    clf = EyeClassifier(tiny_model)
    pipeline = Pipeline(lambda frame: slow(frame)[0], Cropper(clf.spec, 2), clf, monitor_for(TemporalConfig(), clf))
    pipeline.landmarks_every = "auto"
    images = [shifted(image, motion(i / 25)) for i in range(40)]

    def camera():  # 25 FPS, as a camera delivers them
        for i, im in enumerate(images):
            time.sleep(0.04)
            yield Frame(im, i, i / 25)

    t0 = time.perf_counter()
    with pipeline.run(camera()) as loop:
        results = [s.result for s in loop if s.result is not None]
    wall = time.perf_counter() - t0
    assert [r.frame.index for r in results] == list(range(40))  # every frame, in order
    assert wall < 40 * 0.5 / 4  # far less than one landmark pass per frame would take
    assert len(slow.calls) <= 5
    # No frame waited for a landmark pass (0.5 s): each came out soon after it was read.
    assert max(r.timings_ms["latency"] for r in results) < 250
    with_face = [r for r in results if r.face is not None]
    assert results[0].face is None and len(with_face) >= 20  # from the first pass on, every frame
    assert max(r.landmarks_age.frames for r in with_face) >= 2  # moved across several frames
    for r in with_face:  # ... and moved onto the eyes of their own frame
        want = truth(face, motion(r.frame.t)).landmarks[CORNERS]
        assert np.abs(r.face.landmarks[CORNERS] - want).max() < 2.0


def _run(capsys, *argv):
    code = main(["run", *map(str, argv)])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_records_carry_the_age_of_their_landmarks(capsys, shared, landmarker, tmp_path):
    out, events = tmp_path / "out.jsonl", tmp_path / "events.jsonl"
    code, err = _run(capsys, "--video", shared / CLIP, "--headless", "--no-alarm", "--landmarks-every", "4",
                     "--out", out, "--events", events)
    assert code == 0 and err[-1].startswith("drowsy run: 75 frames")
    recs = [json.loads(line) for line in open(out)]
    assert [r["landmarks_age_frames"] for r in recs[:8]] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert all(r["landmarks_age_ms"] == pytest.approx(40.0 * r["landmarks_age_frames"]) for r in recs)
    assert all(r["landmarks_moved_px"] >= 0 for r in recs) and "motion" in recs[1]["timings_ms"]
    assert recs[1]["timings_ms"]["landmarks"] == 0.0  # no landmarker on a moved frame
    assert '"blink"' in events.read_text()  # the clip's one blink is still found


def test_landmarks_every_1_is_todays_run(capsys, shared, landmarker, tmp_path):
    from drowsy.runtime.capture import VideoSource
    from drowsy.runtime.pipeline import Pipeline
    from drowsy.settings import RunConfig

    out = tmp_path / "out.jsonl"
    assert _run(capsys, "--video", shared / CLIP, "--headless", "--no-alarm", "--landmarks-every", "1",
                "--out", out)[0] == 0
    recs = [json.loads(line) for line in open(out)]
    # Today's per-frame call, frame after frame: Pipeline(frame) = landmarks then assess.
    with Pipeline.from_config(RunConfig()) as pipeline, VideoSource(shared / CLIP) as source:
        want = [pipeline(frame).to_json() for frame in source]
    assert len(recs) == len(want) == 75
    for a, b in zip(recs, want):
        assert set(a) == set(b) and "landmarks_age_frames" not in a and "motion" not in a["timings_ms"]
        assert {k: v for k, v in a.items() if k != "timings_ms"} == {k: v for k, v in b.items() if k != "timings_ms"}


@pytest.mark.parametrize("value", ["0", "31", "fast", "2.5"])
def test_a_bad_landmarks_every_is_a_usage_error(capsys, value):
    code, err = _run(capsys, "--video", "x.mp4", "--landmarks-every", value)
    assert code == 2 and len(err) == 1 and "landmarks-every" in err[0] and "auto" in err[0]
