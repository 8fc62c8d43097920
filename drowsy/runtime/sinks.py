"""Output sinks: `--out` (one JSON object per processed frame) and `--events` (one per event).

Both are JSON Lines, flushed line by line so a reader tailing the file (or a crash) never
sees half a record. They open when created, so a path that cannot be written fails with one
line before any frame is processed. "-" writes to standard output.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import IO

from ..errors import DrowsyError
from ..types import Event, FrameResult


def _finite(obj):
    """NaN/inf are not JSON: write them as null instead of emitting an unparseable line."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class JsonlSink:
    """A JSON Lines file, one flushed line per write(); path None writes nothing."""

    def __init__(self, path: str | Path | None, what: str = "output"):
        self.what = what
        self.path = "" if path is None else str(path)
        self._own = self.path != "-"
        if path is None:
            self._f = None
            return
        if not self._own:
            self._f: IO[str] | None = sys.stdout
            return
        p = Path(path)
        if p.is_dir():
            raise DrowsyError(f"cannot write {what} file {p}: it is a folder")
        if not p.parent.is_dir():
            raise DrowsyError(f"cannot write {what} file {p}: folder {p.parent} does not exist")
        try:
            self._f = open(p, "w", encoding="utf-8")
        except OSError as e:
            raise DrowsyError(f"cannot write {what} file {p}: {e.strerror or e}") from None

    def write(self, record: dict) -> None:
        if self._f is None:
            return
        try:
            self._f.write(json.dumps(_finite(record), separators=(", ", ": "), allow_nan=False) + "\n")
            self._f.flush()
        except OSError as e:  # disk full, a pipe closed ...
            raise DrowsyError(f"cannot write {self.what} file {self.path}: {e.strerror or e}") from None

    def close(self) -> None:
        f, self._f = getattr(self, "_f", None), None
        if f is None:
            return
        # Every write() already flushed; a flush failing here only repeats a reported error.
        try:
            f.flush()
        except OSError:
            pass
        if self._own:
            try:
                f.close()
            except OSError:
                pass


class FrameLog(JsonlSink):
    """`--out`: FrameResult.to_json() per frame, plus `extra` on every line (e.g. the profile in use)."""

    def __init__(self, path: str | Path | None, extra: dict | None = None):
        self.extra = dict(extra or {})
        super().__init__(path, "--out")

    def add(self, result: FrameResult) -> None:
        self.write({**result.to_json(), **self.extra})


class EventLog(JsonlSink):
    """`--events`: Event.to_json() per event; counts events by kind for the summary line."""

    def __init__(self, path: str | Path | None):
        self.counts: Counter[str] = Counter()
        super().__init__(path, "--events")

    def add(self, event: Event) -> None:
        self.counts[event.kind] += 1
        self.write(event.to_json())
