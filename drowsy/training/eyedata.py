"""EyeData, the one in-memory shape of every eye-state data set, and the even subsampling that
every loader (data.py, videodata.py) applies to its listing. numpy only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np


@dataclass(frozen=True)
class EyeData:
    """One data set in memory. `group` is the split unit: a face photo (CEW), a subject (MRL)."""

    name: str  # "cew", "mrl" or "folders"
    root: str
    images: np.ndarray  # (N, S, S) uint8 grayscale
    closed: np.ndarray  # (N,) uint8, 1 = eye closed
    group: np.ndarray  # (N,) str
    files: np.ndarray  # (N,) str, relative to root
    conditions: Mapping[str, np.ndarray] = field(default_factory=dict)  # name → (N,) str

    def __post_init__(self):
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 3:
            raise ValueError(f"images must be (N, S, S) uint8, got {self.images.dtype} {self.images.shape}")
        for k, v in {"closed": self.closed, "group": self.group, "files": self.files, **self.conditions}.items():
            if len(v) != n:
                raise ValueError(f"{k} has {len(v)} entries for {n} images")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def fmt(self) -> str:
        """The layout ("cew", "mrl", "folders"), also when load_datasets numbered the name."""
        return self.name.rstrip("0123456789")

    def summary(self) -> dict:
        return {"name": self.name, "root": self.root, "n": len(self), "closed": int(self.closed.sum()),
                "open": int(len(self) - self.closed.sum()), "groups": int(len(np.unique(self.group)))}


def spaced(n: int, limit: int | None) -> np.ndarray:
    """`limit` indices spread evenly over range(n): a small slice still covers every folder."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(limit, 1)).round().astype(int))
