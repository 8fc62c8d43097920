"""The MediaPipe FaceLandmarker wrapper on real GRID frames."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from drowsy.runtime.capture import VideoSource
from drowsy.errors import DrowsyError
from drowsy.runtime.landmarks import Landmarker, head_pose_deg
from drowsy.types import Frame

pytestmark = pytest.mark.mediapipe


def first_frame(path) -> np.ndarray:
    with VideoSource(path) as src:
        return src.read().image


@pytest.fixture(scope="module")
def clip_faces(shared, landmarker):
    """Every frame of one clip through one Landmarker: (frames, faces)."""
    with VideoSource(shared / "videos/grid/sbwe5n.mpg") as src:
        frames = list(src)
    with Landmarker(landmarker) as lm:
        faces = [lm(f) for f in frames]
    return frames, faces


def test_a_face_on_every_frame_with_pixel_landmarks_and_blendshapes(clip_faces):
    frames, faces = clip_faces
    assert all(f is not None for f in faces)
    h, w = frames[0].image.shape[:2]
    for face in faces:
        assert face.landmarks.shape == (478, 2) and face.landmarks.dtype == np.float32
        x0, y0, x1, y1 = face.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert face.n_faces == 1 and abs(face.yaw_deg) < 20 and abs(face.pitch_deg) < 20
    assert {"eyeBlinkLeft", "eyeBlinkRight"} <= faces[0].blendshapes.keys()


def test_blendshapes_see_the_labelled_blink(clip_faces):
    # sbwe5n: eyes closed on frames 24-26 (blink_events.csv); open around them.
    _, faces = clip_faces
    blink = lambda f: (f.blendshapes["eyeBlinkLeft"] + f.blendshapes["eyeBlinkRight"]) / 2  # noqa: E731
    assert min(blink(faces[i]) for i in (24, 25, 26)) > max(blink(faces[i]) for i in (10, 15, 40, 50))


def test_head_pose_follows_the_rotation():
    def rot_y(deg):  # turn about the vertical axis: +deg moves the nose towards +x (image right)
        a = math.radians(deg)
        m = np.eye(4)
        m[0, 0], m[0, 2], m[2, 0], m[2, 2] = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
        return m

    def rot_x(deg):  # nod: +deg moves the nose towards +y (up in camera space)
        a = math.radians(deg)
        m = np.eye(4)
        m[1, 1], m[1, 2], m[2, 1], m[2, 2] = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
        return m

    assert head_pose_deg(np.eye(4)) == pytest.approx((0.0, 0.0))
    assert head_pose_deg(rot_y(30)) == pytest.approx((30.0, 0.0))
    assert head_pose_deg(rot_x(-20)) == pytest.approx((0.0, -20.0))


def test_yaw_sign_matches_where_the_nose_is(shared, landmarker):
    # Across the 8 speakers, yaw > 0 exactly when the nose tip sits right of the cheeks' middle.
    yaws, offsets = [], []
    for clip in sorted((shared / "videos/grid").glob("*.mpg")):
        with Landmarker(landmarker) as lm:
            face = lm(Frame(first_frame(clip), 0, 0.0))
        lmk = face.landmarks
        offsets.append((lmk[1, 0] - (lmk[234, 0] + lmk[454, 0]) / 2) / (lmk[454, 0] - lmk[234, 0]))
        yaws.append(face.yaw_deg)
    assert np.corrcoef(yaws, offsets)[0, 1] > 0.8


def test_the_largest_of_two_faces_is_chosen(shared, landmarker):
    img = first_frame(shared / "videos/grid/brbk7n.mpg")
    import cv2

    small = cv2.resize(img, (216, 173))
    scene = np.zeros((288, 360 + 216, 3), np.uint8)
    scene[:, 216:] = img  # the big face on the right, a small copy on the left
    scene[:173, :216] = small
    with Landmarker(landmarker, num_faces=2) as lm:
        face = lm(Frame(scene, 0, 0.0))
    with Landmarker(landmarker) as lm:  # a fresh one: VIDEO mode tracks faces between frames
        alone = lm(Frame(img, 0, 0.0))
    assert face.n_faces == 2
    assert face.box[0] > 216  # the big face
    assert np.allclose(face.landmarks - [216, 0], alone.landmarks, atol=3.0)


def test_one_tracked_face_stays_when_another_appears(shared, landmarker):
    # The default tracks one face: a second face coming into view (a passenger leaning in)
    # neither replaces the tracked one nor is looked for.
    import cv2

    img = first_frame(shared / "videos/grid/brbk7n.mpg")
    scene = np.zeros((288, 360 + 216, 3), np.uint8)
    scene[:, 216:] = img  # the tracked face on the right
    with Landmarker(landmarker) as lm:
        before = lm(Frame(scene.copy(), 0, 0.0))
        scene[:173, :216] = cv2.resize(img, (216, 173))  # a second face appears on the left
        after = [lm(Frame(scene, i, i / 25)) for i in range(1, 6)]
    assert before.n_faces == 1 and before.box[0] > 216
    assert all(f is not None and f.n_faces == 1 and f.box[0] > 216 for f in after)
    assert np.allclose(after[-1].landmarks, before.landmarks, atol=8.0)  # the same face, tracked


def test_with_more_faces_the_largest_becomes_the_driver_at_the_next_scan(shared, landmarker):
    # num_faces=2: a small face is tracked alone; a larger one comes into view; the next scan
    # (every 0.2 s here, 5 frames at 25 fps) moves tracking onto it.
    import cv2

    img = first_frame(shared / "videos/grid/brbk7n.mpg")
    scene = np.zeros((288, 360 + 216, 3), np.uint8)
    scene[:173, :216] = cv2.resize(img, (216, 173))  # the small face alone on the left
    with Landmarker(landmarker, num_faces=2, scan_every_s=0.2) as lm:
        first = lm(Frame(scene.copy(), 0, 0.0))
        scene[:, 216:] = img  # a larger face appears on the right
        faces = [lm(Frame(scene, i, i / 25)) for i in range(1, 9)]
    with Landmarker(landmarker) as lm:
        alone = lm(Frame(img, 0, 0.0))
    assert first.n_faces == 1 and first.box[2] < 216
    assert all(f.box[2] < 216 for f in faces[:4])  # frames 1-4: still the small one, before the scan
    assert all(f.box[0] > 216 and f.n_faces == 2 for f in faces[4:])  # from frame 5 (t = 0.2 s) on
    assert np.allclose(faces[-1].landmarks - [216, 0], alone.landmarks, atol=8.0)


def test_no_face_in_black_white_or_noise(landmarker, rng):
    frames = [np.zeros((288, 360, 3), np.uint8), np.full((288, 360, 3), 255, np.uint8),
              rng.integers(0, 256, (288, 360, 3), dtype=np.uint8)]
    with Landmarker(landmarker) as lm:
        assert [lm(Frame(im, i, i * 0.04)) for i, im in enumerate(frames)] == [None, None, None]


def test_repeated_or_backwards_timestamps_are_accepted(shared, landmarker):
    img = first_frame(shared / "videos/grid/brbk7n.mpg")
    with Landmarker(landmarker) as lm:
        faces = [lm(Frame(img, i, t)) for i, t in enumerate([1.0, 1.0, 0.5, 1.0001])]
    assert all(f is not None for f in faces)


def test_gray_frames_work(shared, landmarker):
    import cv2

    gray = cv2.cvtColor(first_frame(shared / "videos/grid/brbk7n.mpg"), cv2.COLOR_BGR2GRAY)
    with Landmarker(landmarker) as lm:
        assert lm(Frame(gray, 0, 0.0)) is not None


def test_missing_or_broken_model_is_one_line(tmp_path):
    with pytest.raises(DrowsyError, match="not found"):
        Landmarker(tmp_path / "nope.task")
    junk = tmp_path / "junk.task"
    junk.write_bytes(b"not a model" * 100)
    with pytest.raises(DrowsyError) as e:
        Landmarker(junk, quiet=True)
    assert "\n" not in str(e.value) and "junk.task" in str(e.value)


QUIET_SCRIPT = """
import sys
from drowsy.runtime.capture import VideoSource
from drowsy.runtime.landmarks import Landmarker
src = VideoSource(sys.argv[1])
with Landmarker(sys.argv[2], quiet=sys.argv[3] == "1") as lm:
    for i in range(3):
        assert lm(src.read()) is not None
print("done")
"""


@pytest.mark.parametrize("quiet", [True, False])
def test_mediapipe_chatter_is_silenced_by_default(shared, landmarker, quiet):
    # MediaPipe logs from C++ straight to fd 2: only a real child process shows what a user sees.
    r = subprocess.run([sys.executable, "-c", QUIET_SCRIPT, str(shared / "videos/grid/brbk7n.mpg"),
                        str(landmarker), "1" if quiet else "0"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "done", r.stderr
    if quiet:
        assert r.stderr == ""
    else:  # the control: without the redirect MediaPipe does print (else this test proves nothing)
        assert r.stderr.strip() != ""
