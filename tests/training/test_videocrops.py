"""The crop-from-video data path: labels per frame and eye, runtime crops, degraded copies,
the cache, person folds; and the numbered (kaggle_eyes) layout grouped by blocks."""

from __future__ import annotations

import csv
import cv2
import numpy as np
import pytest

from drowsy.training.data import EyeData, detect_format, load_dataset
from drowsy.training.splits import grouped_split, person_folds
from drowsy.training.videocrops import eye_labels

ZJU_CLIP = "000001M_FNN.mp4"  # blink 1: frames 14-23, both eyes fully closed on 15-17
N_FRAMES = 24


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


TAG_HEADER = ["frame", "blink_id", "non_frontal", "imgleft_eye_closed", "imgleft_eye_not_visible",
              "imgright_eye_closed", "imgright_eye_not_visible"]


def test_tag_labels_are_per_eye_in_runtime_order(tmp_path):
    video = tmp_path / "clip.mp4"
    # Frame 0 unlabelled (as in ZJU); frame 2: only the image-left eye closed; frame 3: the
    # image-right eye hidden; frame 4 inside a blink but open = transition.
    _write_csv(tmp_path / "clip.mp4.tag.csv", TAG_HEADER,
               [[1, -1, 0, 0, 0, 0, 0], [2, 1, 0, 1, 0, 0, 0], [3, -1, 0, 0, 0, 0, 1], [4, 1, 0, 0, 0, 0, 0]])
    lab = eye_labels(video, 6)
    assert lab.per_eye
    # Eye 0 is the subject's right eye = the image-left one (crop.EYE_CORNERS order).
    assert lab.closed.tolist() == [[-1, -1], [0, 0], [1, 0], [0, -1], [0, 0], [-1, -1]]
    assert lab.ambiguous[:, 0].tolist() == [False, False, False, False, True, False]


def test_eyestate_labels_apply_to_both_eyes(tmp_path):
    video = tmp_path / "clip.mpg"
    _write_csv(tmp_path / "clip.mpg.eyestate.csv", ["frame", "closed", "in_event", "partial_ambiguous"],
               [[0, 0, 0, 0], [1, 1, 1, 0], [2, 0, 1, 1]])
    lab = eye_labels(video, 4)
    assert not lab.per_eye
    assert lab.closed.tolist() == [[0, 0], [1, 1], [0, 0], [-1, -1]]
    assert lab.ambiguous.tolist() == [[False, False], [False, False], [True, True], [False, False]]


@pytest.mark.shared
def test_real_zju_labels_line_up_with_the_eyestate_file(shared):
    video = shared / "videos" / "zju" / ZJU_CLIP
    lab = eye_labels(video, 136)
    assert lab.closed[0].tolist() == [-1, -1]  # the first decoded frame has no label
    both = (lab.closed == 1).all(axis=1)
    with open(str(video) + ".eyestate.csv", newline="") as f:
        state = {int(r["frame"]): r["closed"] == "1" for r in csv.DictReader(f)}
    assert [i for i in range(136) if both[i]] == [i for i, c in sorted(state.items()) if c]
    assert np.flatnonzero(both)[:3].tolist() == [15, 16, 17]


@pytest.fixture(scope="module")
def tiny_videos(shared, tmp_path_factory):
    """The first 24 frames of one ZJU clip (re-encoded, lossless) with its labels cut to match."""
    root = tmp_path_factory.mktemp("videos")
    (root / "zju").mkdir()
    src = shared / "videos" / "zju" / ZJU_CLIP
    cap = cv2.VideoCapture(str(src))
    out = cv2.VideoWriter(str(root / "zju" / "000001M_FNN.avi"), cv2.VideoWriter_fourcc(*"FFV1"), 30.0, (320, 240))
    for _ in range(N_FRAMES):
        ok, img = cap.read()
        assert ok
        out.write(img)
    cap.release()
    out.release()
    for suffix in (".tag.csv", ".eyestate.csv"):
        lines = (src.parent / (ZJU_CLIP + suffix)).read_text().splitlines()
        keep = [lines[0]] + [ln for ln in lines[1:] if int(ln.split(",")[0]) < N_FRAMES]
        (root / "zju" / ("000001M_FNN.avi" + suffix)).write_text("\n".join(keep) + "\n")
    table = (src.parent / "clips.csv").read_text().replace(ZJU_CLIP, "000001M_FNN.avi")
    (root / "zju" / "clips.csv").write_text(table)
    return root


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("videocrops")


@pytest.mark.shared
@pytest.mark.mediapipe
def test_video_crops_are_labelled_cached_and_degraded(tiny_videos, tiny_cache, monkeypatch):
    from drowsy.training import videocrops
    from drowsy.training.videodata import frame_tables, load_video_dataset

    cache = tiny_cache
    data = load_video_dataset(tiny_videos, conditions=("clean", "jpeg"), cache=cache)
    assert detect_format(tiny_videos) == "video"
    assert data.images.shape[1:] == (24, 24) and data.images.dtype == np.uint8
    assert set(data.group) == {"zju:000001"}  # the person, from clips.csv
    clean = data.conditions["degrade"] == "clean"
    frames = np.array([int(f.split("#")[1].split(":")[0]) for f in data.files])
    # Frame 0 has no label and 14, 18-23 are transitions: left out. Closed = 15-17.
    assert sorted(set(frames[clean])) == list(range(1, 14)) + [15, 16, 17]
    assert sorted(set(frames[clean & (data.closed == 1)])) == [15, 16, 17]
    assert (data.conditions["side"][clean] == "right").sum() == 16
    # The degraded copy is cut from the degraded frame: same labels, other pixels.
    jpeg = data.conditions["degrade"] == "jpeg"
    assert np.array_equal(data.closed[clean], data.closed[jpeg])
    assert not np.array_equal(data.images[clean], data.images[jpeg])
    # Eye 0's crop sits on the image-left eye of the tag file (the label it gets).
    clip = videocrops.cached_clip(tiny_videos / "zju" / "000001M_FNN.avi", "clean", videocrops_landmarker(),
                                  cache=cache)
    with open(tiny_videos / "zju" / "000001M_FNN.avi.tag.csv", newline="") as f:
        r = next(row for row in csv.DictReader(f) if row["frame"] == "5")
    left_x = (float(r["imgleft_eye_c1x"]) + float(r["imgleft_eye_c2x"])) / 2
    right_x = (float(r["imgright_eye_c1x"]) + float(r["imgright_eye_c2x"])) / 2
    assert abs(clip.centre[5, 0, 0] - left_x) < 6 and abs(clip.centre[5, 1, 0] - right_x) < 6
    # Second load: everything from the cache, MediaPipe never runs.
    monkeypatch.setattr(videocrops, "extract_clip", lambda *a, **k: pytest.fail("re-extracted"))
    again = load_video_dataset(tiny_videos, conditions=("clean", "jpeg"), cache=cache)
    assert np.array_equal(again.images, data.images) and np.array_equal(again.closed, data.closed)
    # Frame tables carry the full runtime stack (centre + 8 jitters per eye).
    tables = frame_tables(tiny_videos, ("clean",), cache=cache)
    assert tables[0].crops.shape[1:] == (2, 9, 24, 24)
    assert tables[0].closed.sum() == 3


def videocrops_landmarker():
    from drowsy.paths import resolve_landmarker

    return resolve_landmarker(None, download=False)


def test_cache_key_follows_content(tmp_path):
    from drowsy.runtime.crop import CropSpec
    from drowsy.training.videocrops import cache_key

    a, lm = tmp_path / "a.mp4", tmp_path / "lm.task"
    a.write_bytes(b"video one")
    lm.write_bytes(b"model")
    k = cache_key(a, "clean", lm, CropSpec(), 8)
    b = tmp_path / "renamed.mp4"
    b.write_bytes(b"video one")
    assert cache_key(b, "clean", lm, CropSpec(), 8) == k  # a copy elsewhere reuses the crops
    assert cache_key(a, "dark", lm, CropSpec(), 8) != k
    assert cache_key(a, "clean", lm, CropSpec(scale=2.0), 8) != k
    a.write_bytes(b"video two")
    assert cache_key(a, "clean", lm, CropSpec(), 8) != k


def _video_like(persons_per_source: dict[str, int]) -> EyeData:
    group, source = [], []
    for src, n in persons_per_source.items():
        for p in range(n):
            group += [f"{src}:{p}"] * 10
            source += [src] * 10
    n = len(group)
    return EyeData(name="video", root="", images=np.zeros((n, 24, 24), np.uint8),
                   closed=(np.arange(n) % 5 == 0).astype(np.uint8), group=np.array(group),
                   files=np.array([str(i) for i in range(n)]), conditions={"source": np.array(source)})


def test_person_folds_leave_people_out_and_rotate():
    data = _video_like({"zju": 8, "grid": 8, "dinoman": 1})
    seen_test = set()
    for seed in range(4):
        s = grouped_split(data, seed=seed)  # the video format is routed to person_folds
        parts = [set(data.group[s.part(p)]) for p in ("train", "val", "test")]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert len(parts[0] | parts[1] | parts[2]) == 17
        assert sum(g.startswith("zju") for g in parts[2]) == 2 and sum(g.startswith("zju") for g in parts[1]) == 2
        seen_test |= parts[2]
    assert len(seen_test) == 17  # over the 4 folds every person is test once
    assert person_folds(data, 1).val.tolist() == person_folds(data, 5).val.tolist()


def test_numbered_layout_groups_blocks_of_twenty(tmp_path):
    img = np.full((30, 40), 128, np.uint8)
    for sub, numbers in (("open", (0, 19, 20, 45)), ("closed", (3, 21, 39, 40))):
        (tmp_path / sub).mkdir()
        for n in numbers:
            cv2.imwrite(str(tmp_path / sub / f"_{n}.png"), img)
    assert detect_format(tmp_path) == "numbered"
    d = load_dataset(tmp_path, cache=False)
    blocks = dict(zip(d.files.tolist(), d.group.tolist()))
    assert blocks["open/_0.png"] == blocks["open/_19.png"] == blocks["closed/_3.png"] == "block0"
    assert blocks["open/_20.png"] == blocks["closed/_39.png"] == "block1"
    assert blocks["closed/_40.png"] == blocks["open/_45.png"] == "block2"
    assert d.images.shape == (8, 24, 24)
    # Any other name makes it the plain folder layout again.
    cv2.imwrite(str(tmp_path / "open" / "me.png"), img)
    assert detect_format(tmp_path) == "folders"


@pytest.mark.shared
def test_kaggle_eyes_is_split_by_blocks(shared):
    d = load_dataset(shared / "data" / "kaggle_eyes", cache=False)
    assert d.fmt == "numbered" and len(d) == 1452 and int(d.closed.sum()) == 726
    s = grouped_split(d, seed=0)
    parts = [set(d.group[s.part(p)]) for p in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(parts[0] | parts[1] | parts[2]) == 37  # numbers 0..725 in blocks of 20


def test_frame_score_is_the_runtime_fusion():
    from drowsy.training.videodata import FrameTable, frame_scores

    crops = np.zeros((3, 2, 9, 24, 24), np.uint8)
    crops[0, 0] = 90  # frame 0: right eye crops score 90/255 each, left eye 0
    crops[1, :, :4] = 255  # frame 1: 4 of 9 crops of each eye score 1
    table = FrameTable({}, "clean", np.arange(3), np.zeros(3, bool), crops, np.zeros(3), np.zeros(3))
    p = frame_scores(lambda x: x.reshape(len(x), -1).mean(axis=1) / 255.0, table)
    # Mean over each eye's 9 crops, then the mean of both eyes (EyeScores.fused).
    assert np.allclose(p, [90 / 255 / 2, 4 / 9, 0.0])


def test_every_condition_degrades_the_frame():
    from drowsy.training.videocrops import CONDITIONS, apply_condition
    from drowsy.types import Frame

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, (96, 120, 3), dtype=np.uint8), (0, 0), 2)
    frame = Frame(img, index=7, t=0.25)
    seen = []
    for c in CONDITIONS:
        out = apply_condition(frame, c)
        assert (out.index, out.t) == (7, 0.25) and out.image.dtype == np.uint8
        seen.append(out.image)
    assert seen[0] is img  # clean is the frame as decoded
    assert seen[CONDITIONS.index("lowres")].shape == (32, 40, 3)
    for c, x in zip(CONDITIONS[1:], seen[1:]):
        assert x.shape != img.shape or np.abs(x.astype(int) - img).mean() > 0.5, c
    with pytest.raises(Exception, match="unknown condition"):
        apply_condition(frame, "fog")


@pytest.mark.shared
@pytest.mark.mediapipe
def test_frame_figures_rank_models_and_baselines(tiny_videos, tiny_cache, tmp_path):
    from conftest import make_tiny_eye_model
    from drowsy.evaluation.video_frames import evaluate_frames, format_table

    model = make_tiny_eye_model(tmp_path / "tiny.onnx")  # P(closed) = darkness of the crop
    r = evaluate_frames(tiny_videos, {"tiny": model}, ["zju:000001"], conditions=("clean",), cache=tiny_cache)
    assert list(r["all"]) == ["tiny", "eyeBlink", "EAR"]
    # 16 frames with a face and a clear label, 3 of them closed (15-17), in every slice.
    assert {k: v["EAR"]["n"] for k, v in r.items()} == {k: 16 for k in r}
    assert r["all"]["EAR"]["closed"] == 3 and r["all"]["EAR"]["auc"] > 0.9  # EAR sees these blinks
    assert set(r) == {"all", "condition=clean", "source=zju", "glasses=none", "view=frontal", "person=zju:000001"}
    assert len(format_table(r)) == 2 + len(r)
