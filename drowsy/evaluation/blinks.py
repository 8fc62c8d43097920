"""Blink precision / recall on labelled clips, with the convention of the eyeblink literature
(Fogelton & Benesova, CVIU 2016, on the ZJU and other eyeblink sets).

- Ground truth: the labelled blinks whose eyes fully close (`kind=blink` with a closed span).
  Recall counts only these.
- A detection is a true positive when it overlaps a ground-truth blink not found yet. Matching
  is one to one, in time order: a detection spanning two blinks finds one of them (the other is
  missed), and a second detection inside one blink (a split) is a false positive — a user sees
  two blink events where there was one.
- A detection that finds no ground-truth blink is neither true nor false (ignored) when it
  overlaps a "don't care" span: a labelled incomplete blink (never fully closed), another
  labelled partial closure, a `partial_ambiguous` stretch, or the unlabelled frames at a clip's
  ends (the labellers' clip starts late or stops early: what happens there is unknown).
  Otherwise it is a false positive.

Frames are 0-based decode indices; spans are inclusive (start, end).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import intervals


@dataclass(frozen=True)
class BlinkCount:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    ignored: int = 0  # detections on don't-care spans only

    def __add__(self, other: "BlinkCount") -> "BlinkCount":
        return BlinkCount(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.ignored + other.ignored)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else None

    def to_json(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "ignored": self.ignored,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


def dont_care_spans(frame: np.ndarray, ambiguous: np.ndarray, other_events, n_frames: int | None = None
                    ) -> tuple[tuple[int, int], ...]:
    """Spans where a detection is not a false one: the labelled partial closures, every run of
    `partial_ambiguous` frames, and the frames before the first / after the last label."""
    frame = np.asarray(frame, dtype=int)
    spans = [tuple(map(int, e)) for e in other_events]
    if len(frame):
        order = np.argsort(frame)
        f, amb = frame[order], np.asarray(ambiguous, dtype=bool)[order]
        spans += [(int(f[a]), int(f[b])) for a, b in intervals(amb)]
        if f[0] > 0:
            spans.append((0, int(f[0]) - 1))
        last = int(f[-1])
        spans.append((last + 1, max(last + 1, (n_frames or 0) - 1, 1 << 30)))  # anything after the labels
    return tuple(sorted(spans))


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def match_blinks(detected, blinks, dont_care=()) -> BlinkCount:
    """Count detections against ground-truth blinks (see the module docstring)."""
    found = [False] * len(blinks)
    tp = fp = ignored = 0
    for d in sorted(tuple(map(int, x)) for x in detected):
        hit = next((k for k, b in enumerate(blinks) if not found[k] and _overlaps(d, b)), None)
        if hit is not None:
            found[hit] = True
            tp += 1
        elif any(_overlaps(d, b) for b in blinks):  # a split blink, or one merged into the last
            fp += 1
        elif any(_overlaps(d, s) for s in dont_care):
            ignored += 1
        else:
            fp += 1
    return BlinkCount(tp=tp, fp=fp, fn=len(blinks) - sum(found), ignored=ignored)
