"""Leak check before training: duplicates across splits and duplicates with two labels.

Every crop is hashed twice: exactly (its pixels as the model sees them, so byte-identical
source files are caught too) and with a 64-bit perceptual hash (DCT of the crop, low
frequencies against their median) for near-duplicates — re-encoded or slightly edited copies.
A perceptual match counts only if the two crops also correlate pixel by pixel (Pearson
r ≥ min_corr, blind to brightness and contrast): flat, dark infrared crops share hashes by
chance, and on MRL a 4-bit pHash match alone pairs many different frames of one subject.

What happens to what is found (the policy, applied by `keep_masks`):
- a cluster spread over several parts keeps its members in the earliest part
  (train < val < test) and loses them from the later ones, so nothing judged was trained on;
- a duplicate cluster whose members carry both labels (MRL has byte-identical pairs, and
  near-identical frames, labelled both ways) is dropped from training — the net cannot learn
  from a contradiction — but kept where it is held out: independent judges see such label
  noise too, and removing it would flatter the test numbers.
Only numpy (and the data arrays); no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .data import EyeData
from .splits import DEFAULT_FRACTIONS, PARTS, Split, make_split

N_BANDS = 5  # 64 bits in 5 bands: two hashes within 4 bits agree on at least one band


@dataclass(frozen=True)
class LeakReport:
    """Duplicate pairs found over all data sets, and what the policy removes."""

    n_images: int
    exact_pairs: int  # pairs of identical crops that cross parts or disagree on the label
    near_pairs: int  # perceptual pairs (not exact) that cross parts or disagree
    cross_split: dict[str, int]  # "train-test" → pairs shared between those parts
    conflicting: int  # pairs with two labels
    dropped: dict[str, int]  # "cew/test" → crops removed there
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, file a, file b)
    drop: tuple[np.ndarray, ...] = ()  # per data set, bool (N,) True = removed

    def to_json(self) -> dict:
        return {"n_images": self.n_images, "exact_pairs": self.exact_pairs, "near_pairs": self.near_pairs,
                "cross_split": self.cross_split, "conflicting": self.conflicting, "dropped": self.dropped,
                "examples": [list(e) for e in self.examples[:10]]}

    def lines(self) -> list[str]:
        out = [f"leak check over {self.n_images} crops: {self.exact_pairs} exact and {self.near_pairs} "
               f"near-duplicate pairs that cross splits or carry two labels"]
        for k, v in sorted(self.cross_split.items()):
            out.append(f"  shared across {k}: {v} pairs")
        out.append(f"  duplicates with two labels: {self.conflicting} pairs (dropped from train, kept where held out)")
        for k, v in sorted(self.dropped.items()):
            out.append(f"  dropped from {k}: {v} crops")
        for kind, a, b in self.examples[:5]:
            out.append(f"  e.g. {kind}: {a} ~ {b}")
        return out


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def perceptual_hash(images: np.ndarray) -> np.ndarray:
    """(N, S, S) uint8 → (N,) uint64 pHash: the 8 × 8 lowest DCT frequencies above their median."""
    d = _dct_matrix(images.shape[-1])
    coef = np.einsum("ij,njk,lk->nil", d, images.astype(np.float32), d, optimize=True)[:, :8, :8]
    flat = coef.reshape(len(images), 64)
    med = np.median(flat[:, 1:], axis=1, keepdims=True)  # DC left out: it is the brightness
    bits = (flat > med).astype(np.uint64)
    return (bits << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)


def _exact_pairs(images: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(images.reshape(len(images), -1))
    _, inv, counts = np.unique(rows.view(np.dtype((np.void, rows.shape[1]))).ravel(),
                               return_inverse=True, return_counts=True)
    pairs = []
    for g in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inv == g)
        pairs += [(members[0], m) for m in members[1:]]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _near_pairs(hashes: np.ndarray, max_bits: int, interesting) -> np.ndarray:
    """Pairs within max_bits of each other, found band by band (pigeonhole), then filtered."""
    width = -(-64 // N_BANDS)
    found = set()
    for b in range(N_BANDS):
        band = (hashes >> np.uint64(b * width)) & np.uint64((1 << width) - 1)
        order = np.argsort(band, kind="stable")
        sb = band[order]
        cuts = np.flatnonzero(np.diff(sb)) + 1
        for members in np.split(order, cuts):
            if len(members) < 2:
                continue
            h = hashes[members]
            ham = np.bitwise_count(h[:, None] ^ h[None, :])
            i, j = np.nonzero(np.triu(ham <= max_bits, 1))
            a, c = members[i], members[j]
            keep = interesting(a, c)
            found.update(zip(np.minimum(a, c)[keep].tolist(), np.maximum(a, c)[keep].tolist()))
    return np.array(sorted(found), dtype=np.int64).reshape(-1, 2)


def _correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x.reshape(len(x), -1).astype(np.float32)
    y = y.reshape(len(y), -1).astype(np.float32)
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    return np.where(den > 0, (x * y).sum(axis=1) / np.maximum(den, 1e-12), 0.0)


def check_leaks(sets: list[tuple[EyeData, Split]], max_bits: int = 4, min_corr: float = 0.97) -> LeakReport:
    """Hash every crop of every data set; report and decide (see module doc)."""
    images = np.concatenate([d.images for d, _ in sets])
    labels = np.concatenate([d.closed for d, _ in sets])
    part = np.concatenate([_part_codes(d, s) for d, s in sets])
    where = np.concatenate([np.full(len(d), k) for k, (d, _) in enumerate(sets)])
    local = np.concatenate([np.arange(len(d)) for d, _ in sets])
    names = [d.name for d, _ in sets]

    def interesting(a, b):  # same part and same label: harmless (e.g. neighbouring video frames)
        return (part[a] != part[b]) | (labels[a] != labels[b])

    exact = _exact_pairs(images)
    exact = exact[interesting(exact[:, 0], exact[:, 1])] if len(exact) else exact
    near = _near_pairs(perceptual_hash(images), max_bits, interesting)
    if len(near):
        same = np.all(images[near[:, 0]] == images[near[:, 1]], axis=(1, 2))  # already exact pairs
        near = near[~same & (_correlation(images[near[:, 0]], images[near[:, 1]]) >= min_corr)]
    pairs = np.concatenate([exact, near]) if len(near) else exact

    parent = np.arange(len(images))  # union-find over the pairs → duplicate clusters

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    drop = np.zeros(len(images), dtype=bool)
    clusters: dict[int, list[int]] = {}
    for i in np.unique(pairs):
        clusters.setdefault(root(i), []).append(i)
    for members in clusters.values():
        m = np.array(members)
        drop[m[part[m] > part[m].min()]] = True
        if len(np.unique(labels[m])) > 1:
            drop[m[part[m] == 0]] = True

    cross: dict[str, int] = {}
    for a, b in pairs:
        if part[a] != part[b]:
            key = f"{PARTS[min(part[a], part[b])]}-{PARTS[max(part[a], part[b])]}"
            cross[key] = cross.get(key, 0) + 1
    dropped = {}
    for k, name in enumerate(names):
        for p, pname in enumerate(PARTS):
            n = int(np.sum(drop & (where == k) & (part == p)))
            if n:
                dropped[f"{name}/{pname}"] = n
    files = np.concatenate([np.char.add(f"{d.name}:", d.files.astype(str)) for d, _ in sets])
    examples = [("exact" if k < len(exact) else "near", str(files[a]), str(files[b]))
                for k, (a, b) in enumerate(pairs[:20])]
    return LeakReport(
        n_images=len(images), exact_pairs=len(exact), near_pairs=len(near), cross_split=cross,
        conflicting=int(np.sum(labels[pairs[:, 0]] != labels[pairs[:, 1]])) if len(pairs) else 0,
        dropped=dropped, examples=examples,
        drop=tuple(drop[where == k][np.argsort(local[where == k])] for k in range(len(sets))))


def _part_codes(data: EyeData, split: Split) -> np.ndarray:
    code = np.full(len(data), -1, dtype=np.int8)
    for k, name in enumerate(PARTS):
        code[split.part(name)] = k
    return code


def keep_masks(report: LeakReport) -> tuple[np.ndarray, ...]:
    """Per data set, bool (N,) True = use this crop (the policy's result)."""
    return tuple(~d for d in report.drop)


def apply(split: Split, keep: np.ndarray) -> Split:
    """The same split without the dropped crops."""
    f = lambda idx: idx[keep[idx]]  # noqa: E731
    return replace(split, train=f(split.train), val=f(split.val), test=f(split.test))


def split_and_check(datas: list[EyeData], seed: int = 0, fractions=DEFAULT_FRACTIONS,
                    log=None, scheme: str = "original") -> tuple[list[tuple[EyeData, Split]], LeakReport]:
    """Grouped split of every data set, the leak check over all of them, and the policy
    applied: the splits that training and evaluation use."""
    sets = [(d, make_split(d, fractions, seed, scheme)) for d in datas]
    report = check_leaks(sets)
    if log is not None:
        for line in report.lines():
            log(line)
    return [(d, apply(s, keep)) for (d, s), keep in zip(sets, keep_masks(report))], report
