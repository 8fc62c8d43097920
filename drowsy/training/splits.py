"""Deterministic grouped splits of one EyeData: train / val / test index arrays (numpy only).

Whole groups go to one side (a CEW source photo with all its faces and both eyes, an MRL
subject), so no face or person is seen in training and judged in testing. The groups are
shuffled with a seeded generator and cut by group count; a shuffle is accepted only if
every part holds both classes in a usable mix, a share of the images near its fraction and,
for MRL, several sensors — otherwise the
next shuffle (attempt) is tried. Same data + same seed → same split, on any machine.

Two schemes (`drowsy train --split-scheme`):
- "original": the split above, used by releases 1–3. Its val and test groups have been used
  to choose recipes and models across three releases, so its test split no longer predicts
  unseen faces (issue 21).
- "fresh2026": a test split no earlier release used for any choice. Its test groups are a
  seeded draw (FRESH_SEED) from the ORIGINAL TRAINING groups: old models were fitted on them,
  but nothing was chosen on them, and a model trained from scratch under this scheme never
  sees them. The original val groups stay val (already spent on choices, which is what val is
  for); the original test groups join train. The test part keeps the original test part's
  number of groups (video: half the original training persons of each source), and must meet
  the same constraints plus, for MRL, subjects with and without glasses. Training under this
  scheme does not score the test part: it is scored once, by `drowsy eval --split test`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .data import EyeData

PARTS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)
STRATA = {"mrl": "sensor"}  # condition that val and test must each show several values of
MAX_ATTEMPTS = 2000
VIDEO_FOLDS = 4  # labelled clips: persons in 4 folds; --split-seed picks which one is test
SCHEMES = ("original", "fresh2026")
FRESH_SEED = 2026  # the fresh2026 draw; fixed in code, declared in assets/MODEL_CARD.md before training
FRESH_STRATA = {"mrl": ("sensor", "glasses")}  # the fresh test part must show several values of each


@dataclass(frozen=True)
class Split:
    """Indices into one EyeData per part; `attempt` is the shuffle that met the constraints."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int
    fractions: tuple[float, float, float]
    attempt: int
    violations: int  # 0 when every constraint held (only tiny data sets may miss some)
    scheme: str = field(default="original")

    def part(self, name: str) -> np.ndarray:
        if name not in PARTS:
            raise ValueError(f"unknown split part {name!r}")
        return getattr(self, name)

    def describe(self, data: EyeData, list_groups: int = 12) -> dict:
        """Sizes per part; the group names too when there are few (MRL subjects)."""
        out = {"scheme": self.scheme, "seed": self.seed, "fractions": list(self.fractions), "attempt": self.attempt,
               "violations": self.violations,
               "unit": {"mrl": "subject", "video": "person", "numbered": "block of 20 numbers"}.get(data.fmt, "group")}
        for name in PARTS:
            idx = self.part(name)
            groups = np.unique(data.group[idx])
            d = {"n": int(len(idx)), "closed": int(data.closed[idx].sum()), "groups": int(len(groups))}
            if len(groups) <= list_groups:
                d["group_names"] = [str(g) for g in groups]
            out[name] = d
        return out


def _violations(data: EyeData, parts: list[np.ndarray], fractions: np.ndarray, strata: str | None) -> int:
    bad = 0
    n_closed = int(data.closed.sum())
    need = max(1, min(50, min(n_closed, len(data) - n_closed) // 50))
    for k, idx in enumerate(parts):
        c = int(data.closed[idx].sum())
        o = len(idx) - c
        bad += (c < need) + (o < need)
        if k > 0 and len(idx) and not 0.15 <= c / len(idx) <= 0.85:
            bad += 1  # a held-out part that is nearly one class gives a noisy EER
        if k > 0 and not 0.5 * fractions[k] <= len(idx) / len(data) <= 1.5 * fractions[k]:
            bad += 1  # one 10k-image subject must not swallow the training data
    if strata and strata in data.conditions:
        values = data.conditions[strata]
        all_values = set(values.tolist())
        if len(all_values) > 1:
            bad += len(all_values - set(values[parts[0]].tolist()))  # train sees every value
            for idx in parts[1:]:
                bad += len(set(values[idx].tolist())) < 2
    return bad


def person_folds(data: EyeData, seed: int = 0, k: int = VIDEO_FOLDS) -> Split:
    """Leave-people-out folds for the video format, where a random cut by group count would
    put one 560-frame ZJU person against a few 75-frame GRID speakers. Within each source
    folder (zju, grid, ...) the persons are sorted and dealt round-robin into k folds, so
    every fold holds about the same mix. Fold `seed % k` is test, the next one val."""
    test_fold = seed % k
    fold = np.empty(len(data), dtype=int)
    source = data.conditions.get("source", np.full(len(data), ""))
    for src in np.unique(source):
        persons = np.unique(data.group[source == src])
        for rank, person in enumerate(persons):
            fold[(source == src) & (data.group == person)] = rank % k
    test = np.flatnonzero(fold == test_fold)
    val = np.flatnonzero(fold == (test_fold + 1) % k)
    train = np.flatnonzero((fold != test_fold) & (fold != (test_fold + 1) % k))
    parts = [train, val, test]
    bad = sum(int(len(np.unique(data.closed[p])) < 2) for p in parts)
    return Split(train, val, test, seed, tuple(len(p) / max(len(data), 1) for p in parts), test_fold, bad)


def grouped_split(data: EyeData, fractions=DEFAULT_FRACTIONS, seed: int = 0) -> Split:
    """Split `data` by its groups; deterministic for a given group set and seed."""
    if data.fmt == "video":
        return person_folds(data, seed)
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or np.any(f < 0) or not np.isclose(f.sum(), 1.0) or f[0] <= 0:
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1, got {fractions}")
    groups, inverse = np.unique(data.group, return_inverse=True)
    n_groups = len(groups)
    n_test = int(round(f[2] * n_groups)) if f[2] > 0 else 0
    n_val = int(round(f[1] * n_groups)) if f[1] > 0 else 0
    if n_groups >= 3:  # keep every requested part non-empty while train keeps at least one group
        n_test = min(max(n_test, 1 if f[2] > 0 else 0), n_groups - 2)
        n_val = min(max(n_val, 1 if f[1] > 0 else 0), n_groups - 1 - n_test)
    else:
        n_test = n_val = 0
    strata = STRATA.get(data.fmt)
    best = None
    for attempt in range(MAX_ATTEMPTS):
        order = np.random.default_rng([seed, attempt]).permutation(n_groups)
        side = np.zeros(n_groups, dtype=np.int8)
        side[order[:n_test]] = 2
        side[order[n_test:n_test + n_val]] = 1
        per_image = side[inverse]
        parts = [np.flatnonzero(per_image == k) for k in range(3)]
        bad = _violations(data, parts, f, strata)
        if best is None or bad < best[0]:
            best = (bad, attempt, parts)
        if bad == 0:
            break
    bad, attempt, parts = best
    return Split(parts[0], parts[1], parts[2], seed, tuple(float(x) for x in f), attempt, bad)


def _fresh_test_groups(data: EyeData, old: Split, candidates: np.ndarray, n_test: int, attempt: int) -> set:
    """One seeded draw of `n_test` test groups among `candidates` (video: per source)."""
    rng = np.random.default_rng([FRESH_SEED, attempt])
    if data.fmt != "video":
        return set(rng.permutation(candidates)[:n_test].tolist())
    source = data.conditions.get("source", np.full(len(data), ""))
    picked: set = set()
    for src in np.unique(source[old.train]):  # half of each source's training persons
        persons = np.unique(data.group[old.train][source[old.train] == src])
        picked |= set(rng.permutation(persons)[:len(persons) // 2].tolist())
    return picked


def fresh_split(data: EyeData, fractions=DEFAULT_FRACTIONS, seed: int = 0) -> Split:
    """The "fresh2026" scheme (module docstring): test drawn from the original split's training
    groups, original val kept as val, original test moved to train. Deterministic."""
    old = grouped_split(data, fractions, seed)
    candidates = np.unique(data.group[old.train])
    n_test = len(np.unique(data.group[old.test]))
    if len(candidates) < 2 or n_test == 0:  # too few groups to hold any back: nothing is fresh
        return replace(old, train=np.sort(np.concatenate([old.train, old.test])), test=old.test[:0],
                       scheme="fresh2026", violations=old.violations + 1)
    f = np.asarray(old.fractions, dtype=float)
    strata = FRESH_STRATA.get(data.fmt, ())
    best = None
    for attempt in range(MAX_ATTEMPTS):
        test_groups = _fresh_test_groups(data, old, candidates, n_test, attempt)
        in_test = np.isin(data.group, list(test_groups))
        test = np.flatnonzero(in_test)
        train = np.flatnonzero(~in_test & ~np.isin(np.arange(len(data)), old.val))
        parts = [train, old.val, test]
        bad = _violations(data, parts, f, STRATA.get(data.fmt)) if data.fmt != "video" else 0
        bad += sum(len(np.unique(data.closed[p])) < 2 for p in parts)
        bad += sum(len(set(data.conditions[c][test].tolist())) < 2 for c in strata if c in data.conditions)
        if best is None or bad < best[0]:
            best = (bad, attempt, parts)
        if bad == 0 or data.fmt == "video":
            break
    bad, attempt, parts = best
    return Split(parts[0], parts[1], parts[2], seed, old.fractions, attempt, bad, scheme="fresh2026")


def make_split(data: EyeData, fractions=DEFAULT_FRACTIONS, seed: int = 0, scheme: str = "original") -> Split:
    """The split of `data` under one of SCHEMES."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown split scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return fresh_split(data, fractions, seed) if scheme == "fresh2026" else grouped_split(data, fractions, seed)


def subsample_train(split: Split, data: EyeData, fraction: float, seed: int = 0) -> Split:
    """Keep `fraction` of the training groups (whole groups, seeded); val and test unchanged.
    For learning curves: how much would more people or faces of this kind help?"""
    if fraction >= 1.0:
        return split
    groups = np.unique(data.group[split.train])
    keep_n = max(1, round(fraction * len(groups)))
    keep = np.random.default_rng(seed).choice(groups, size=keep_n, replace=False)
    return replace(split, train=split.train[np.isin(data.group[split.train], keep)])
