"""The leak check: exact and near duplicates across splits, and duplicates with two labels."""

from __future__ import annotations

import os

import numpy as np

from drowsy.training.data import EyeData, load_dataset
from drowsy.training.leakcheck import apply, check_leaks, keep_masks, perceptual_hash, split_and_check
from drowsy.training.splits import Split


def _eye(rng, closed: bool) -> np.ndarray:
    """A crude eye: textured background with a dark ellipse (open) or a dark line (closed)."""
    import cv2

    img = rng.integers(90, 170, (24, 24)).astype(np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 0)
    if closed:
        cv2.line(img, (4, 13 + int(rng.integers(-2, 3))), (20, 13), 30, 2)
    else:
        cv2.ellipse(img, (12 + int(rng.integers(-3, 4)), 12), (7, 4), 0, 0, 360, 40, -1)
    return img


def _data(images, closed) -> EyeData:
    n = len(images)
    return EyeData("folders", "/x", np.stack(images), np.array(closed, np.uint8),
                   np.array([f"g{i}" for i in range(n)]), np.array([f"f{i}.png" for i in range(n)]))


def test_finds_exact_and_near_duplicates_across_splits_and_two_labels(rng):
    imgs = [_eye(rng, k % 2 == 1) for k in range(12)]
    closed = [k % 2 for k in range(12)]
    imgs[6] = imgs[0].copy()  # exact copy of a training crop in test
    near = np.clip(imgs[2].astype(int) * 0.9 + 12 + rng.normal(0, 1.5, (24, 24)), 0, 255).astype(np.uint8)
    imgs[8] = near  # re-exposed, noisy copy of a training crop in test
    imgs[4] = imgs[3].copy()  # same pixels, two labels (3 closed, 4 open), both in train
    data = _data(imgs, closed)
    split = Split(train=np.arange(6), val=np.array([], int), test=np.arange(6, 12), seed=0,
                  fractions=(0.5, 0.0, 0.5), attempt=0, violations=0)
    r = check_leaks([(data, split)])
    assert r.exact_pairs == 2 and r.near_pairs == 1
    assert r.cross_split == {"train-test": 2}
    assert r.conflicting == 1
    keep = keep_masks(r)[0]
    # Held-out copies of training crops go; the contradictory pair leaves training.
    assert not keep[6] and not keep[8] and not keep[3] and not keep[4]
    assert keep[[0, 1, 2, 5, 7, 9, 10, 11]].all()
    clean = apply(split, keep)
    assert set(clean.test) == {7, 9, 10, 11} and set(clean.train) == {0, 1, 2, 5}
    assert any("train-test" in line for line in r.lines())


def test_different_eyes_are_not_duplicates(rng):
    imgs = [_eye(rng, k % 2 == 1) for k in range(40)]
    data = _data(imgs, [k % 2 for k in range(40)])
    split = Split(np.arange(20), np.arange(20, 30), np.arange(30, 40), 0, (0.5, 0.25, 0.25), 0, 0)
    r = check_leaks([(data, split)])
    assert r.exact_pairs == 0 and r.near_pairs == 0 and keep_masks(r)[0].all()


def test_perceptual_hash_ignores_brightness_but_not_content(rng):
    a = _eye(rng, False)
    brighter = np.clip(a.astype(int) + 30, 0, 255).astype(np.uint8)
    other = _eye(rng, True)
    h = perceptual_hash(np.stack([a, brighter, other]))
    assert np.bitwise_count(h[0] ^ h[1]) <= 2
    assert np.bitwise_count(h[0] ^ h[2]) > 8


def test_real_mrl_pair_with_two_labels_is_found(shared, tmp_path):
    # Byte-identical files with opposite labels, listed in exact_duplicates.csv.
    src = shared / "data" / "mrl" / "s0012"
    names = ["s0012_00704_0_0_0_0_0_01.png", "s0012_04519_0_0_1_0_0_01.png"]
    others = sorted(os.listdir(src))[:40:4]
    (tmp_path / "s0012").mkdir()
    for n in set(names + others):
        os.symlink(src / n, tmp_path / "s0012" / n)
    data = load_dataset(tmp_path, "mrl", cache=False)
    sets, r = split_and_check([data])  # one subject: everything lands in train
    assert r.exact_pairs >= 1 and r.conflicting >= 1
    kept = set(data.files[sets[0][1].train])
    assert not {f"s0012/{n}" for n in names} & kept
