"""Loaders on real files from ../shared, the plain folder layout, and grouped splits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from drowsy.training.data import detect_format, load_dataset
from drowsy.errors import DrowsyError
from drowsy.training.eyedata import EyeData
from drowsy.training.splits import grouped_split, make_split, subsample_train


@pytest.fixture(scope="module")
def cew(shared):
    return load_dataset(shared / "data" / "cew", cache=False)


@pytest.fixture(scope="module")
def mrl_slice(shared):
    # 3000 files spread over the sorted listing: every subject, a few seconds to read.
    return load_dataset(shared / "data" / "mrl", limit=3000)


def test_detects_formats(shared, tmp_path):
    assert detect_format(shared / "data" / "cew") == "cew"
    assert detect_format(shared / "data" / "mrl") == "mrl"
    with pytest.raises(DrowsyError, match="not a CEW, MRL"):
        detect_format(tmp_path)
    with pytest.raises(DrowsyError, match="not found"):
        detect_format(tmp_path / "missing")


def test_cew_loader_keeps_patches_and_groups_faces(cew):
    assert cew.images.shape == (3920, 24, 24) and cew.images.dtype == np.uint8
    assert int(cew.closed.sum()) == 1908
    files = list(cew.files)
    # A face's left and right patch share a group; closed faces group by source photo.
    left = files.index("closedLeftEyes/closed_eye_0002.jpg_face_2_L.jpg")
    right = files.index("closedRightEyes/closed_eye_0002.jpg_face_2_R.jpg")
    assert cew.group[left] == cew.group[right] == "closed_eye_0002"
    assert cew.closed[left] == 1
    lfw = files.index("openLeftEyes/Aaron_Guiel_0001_L.jpg")
    assert cew.closed[lfw] == 0 and cew.group[lfw] == cew.group[files.index("openRightEyes/Aaron_Guiel_0001_R.jpg")]
    # Patches are fed as they are: identical to the file's pixels.
    raw = cv2.imread(str(cew.root + "/" + files[left]), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(cew.images[left], raw)


def test_mrl_loader_reads_label_and_conditions_from_the_name(mrl_slice, shared):
    d = mrl_slice
    assert d.images.shape[1:] == (24, 24) and 2900 <= len(d) <= 3000
    assert len(np.unique(d.group)) == 28  # the slice still covers every subject
    k = 0
    name = d.files[k].split("/")[-1][:-4].split("_")
    assert d.group[k] == name[0]
    assert d.closed[k] == (1 if name[4] == "0" else 0)  # MRL: eye state 0 = closed
    assert d.conditions["glasses"][k] == name[3] and d.conditions["sensor"][k] == name[7]
    assert set(np.unique(d.conditions["sensor"])) == {"01", "02", "03"}
    # The whole crop resized to 24×24 with INTER_AREA, as the model is judged.
    raw = cv2.imread(str(shared / "data" / "mrl" / d.files[k]), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(d.images[k], cv2.resize(raw, (24, 24), interpolation=cv2.INTER_AREA))


def test_folder_layout_resizes_and_groups_by_subfolder(tmp_path, rng):
    for label, n in (("open", 3), ("closed", 2)):
        (tmp_path / label / "clip1").mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(tmp_path / label / f"loose{i}.png"), rng.integers(0, 255, (40, 30), dtype=np.uint8))
            cv2.imwrite(str(tmp_path / label / "clip1" / f"f{i}.png"), rng.integers(0, 255, (24, 24), dtype=np.uint8))
    d = load_dataset(tmp_path, cache=False)
    assert d.name == "folders" and d.images.shape == (10, 24, 24)
    assert int(d.closed.sum()) == 4
    assert set(d.group[d.closed == 1]) == {"clip1", "closed/loose0", "closed/loose1"}


def test_unreadable_image_is_one_clear_error(tmp_path):
    for label in ("open", "closed"):
        (tmp_path / label).mkdir()
    (tmp_path / "open" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DrowsyError, match="cannot read image"):
        load_dataset(tmp_path, cache=False)


def _sides(data, split):
    return [set(data.group[split.part(p)]) for p in ("train", "val", "test")]


def test_cew_split_keeps_faces_and_photos_on_one_side(cew):
    s = grouped_split(cew)
    tr, va, te = _sides(cew, s)
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert len(s.train) + len(s.val) + len(s.test) == len(cew)
    assert 0.6 < len(s.train) / len(cew) < 0.8
    # Both patches of every face sit in the same part.
    part_of = {}
    for p in ("train", "val", "test"):
        for f in cew.files[s.part(p)]:
            face = f.split("/")[-1].rsplit("_", 1)[0]
            assert part_of.setdefault(face, p) == p


def test_mrl_split_is_by_subject_deterministic_and_usable(mrl_slice):
    s = grouped_split(mrl_slice, seed=0)
    tr, va, te = _sides(mrl_slice, s)
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert (len(tr), len(va), len(te)) == (20, 4, 4)
    for p in ("val", "test"):
        idx = s.part(p)
        assert 0 < mrl_slice.closed[idx].mean() < 1
        assert len(set(mrl_slice.conditions["sensor"][idx])) >= 2
    again = grouped_split(mrl_slice, seed=0)
    assert all(np.array_equal(s.part(p), again.part(p)) for p in ("train", "val", "test"))
    other = grouped_split(mrl_slice, seed=1)
    assert set(mrl_slice.group[other.test]) != te


def test_a_train_fraction_keeps_whole_subjects_and_leaves_val_and_test_alone(mrl_slice):
    s = grouped_split(mrl_slice, seed=0)
    half = subsample_train(s, mrl_slice, 0.5, seed=3)
    kept = set(mrl_slice.group[half.train])
    assert len(kept) == 10 and kept < set(mrl_slice.group[s.train])
    # A kept subject keeps every one of its crops; val and test are the very same indices.
    assert len(half.train) == np.isin(mrl_slice.group[s.train], list(kept)).sum()
    assert np.array_equal(half.val, s.val) and np.array_equal(half.test, s.test)
    assert subsample_train(s, mrl_slice, 0.5, seed=3).train.tolist() == half.train.tolist()
    assert subsample_train(s, mrl_slice, 1.0) is s


# The original split's held-out groups as the model card lists them (releases 1-3 chose on them).
SPENT_MRL = {"s0003", "s0018", "s0020", "s0031", "s0009", "s0014", "s0022", "s0023"}


def _fresh_checks(data, seed=0):
    old = make_split(data, seed=seed)
    new = make_split(data, seed=seed, scheme="fresh2026")
    tr, va, te = _sides(data, new)
    assert te and not (tr & va) and not (tr & te) and not (va & te)
    assert sorted(np.concatenate([new.train, new.val, new.test]).tolist()) == list(range(len(data)))
    # Nothing any release chose on is in the fresh test: it comes from the original training groups.
    assert te <= set(data.group[old.train])
    assert not te & (set(data.group[old.val]) | set(data.group[old.test]))
    assert va == set(data.group[old.val]) and set(data.group[old.test]) <= tr
    assert all(0 < data.closed[new.part(p)].mean() < 1 for p in ("train", "val", "test"))
    again = make_split(data, seed=seed, scheme="fresh2026")
    assert all(np.array_equal(new.part(p), again.part(p)) for p in ("train", "val", "test"))
    assert new.describe(data)["scheme"] == "fresh2026" and old.describe(data)["scheme"] == "original"
    return new


def test_fresh_split_on_mrl_holds_back_unspent_subjects_with_and_without_glasses(mrl_slice):
    new = _fresh_checks(mrl_slice)
    te = set(mrl_slice.group[new.test])
    assert len(te) == 4 and new.violations == 0 and not te & SPENT_MRL
    idx = new.test
    assert len(set(mrl_slice.conditions["sensor"][idx])) >= 2
    assert set(mrl_slice.conditions["glasses"][idx]) == {"0", "1"}
    # The default scheme is the original one, unchanged.
    assert np.array_equal(make_split(mrl_slice).test, grouped_split(mrl_slice).test)


def test_fresh_split_on_cew_keeps_the_original_test_size(cew):
    new = _fresh_checks(cew)
    assert len(set(cew.group[new.test])) == len(set(cew.group[grouped_split(cew).test]))
    with pytest.raises(ValueError, match="unknown split scheme"):
        make_split(cew, scheme="fresh")


def test_fresh_split_of_video_persons_takes_half_of_each_sources_training_persons():
    zju = ["000001", "000003", "000004", "000006", "000007", "000012", "000015", "000017"]
    grid = ["brbk7n", "id2_vcd_swwp2s", "lbbc2a", "lrwp9a", "lwbsza", "sbia1a", "sbwe5n", "swiz3n"]
    persons = [(f"zju:{p}", "zju") for p in zju] + [(f"grid:{p}", "grid") for p in grid] + [("dinoman:x", "dinoman")]
    group = np.repeat([p for p, _ in persons], 4)
    source = np.repeat([s for _, s in persons], 4)
    closed = np.tile([0, 1], len(group) // 2).astype(np.uint8)
    data = EyeData("video", "x", np.zeros((len(group), 24, 24), np.uint8), closed, group, group, {"source": source})
    new = _fresh_checks(data)
    te = set(data.group[new.test])
    assert sorted(te) == ["grid:lrwp9a", "grid:swiz3n", "zju:000004", "zju:000006"]  # as the model card declares
