"""Output sinks: `--out` (one JSON object per processed frame) and `--events` (one per event).

Both are JSON Lines, flushed line by line so a reader tailing the file (or a crash) never
sees half a record. They are written in place (drowsy/outputs.py says why) and opened only
after check_run_outputs() and everything else has been checked, so a run that cannot start
never truncates a log. "-" writes to standard output. Every string value goes through
secrets.mask: a stream password never reaches a log.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from ..errors import DrowsyError
from ..outputs import Output, check, open_log
from ..secrets import mask
from ..types import Event, FrameResult


def check_run_outputs(cfg, config_file=None) -> None:
    """`drowsy run`'s logs against its inputs, before anything is opened (outputs.check)."""
    from ..paths import default_eye_model, find_landmarker

    inputs = {"--video": cfg.source.video, "--model": cfg.model.model or default_eye_model(),
              "--landmarker": find_landmarker(cfg.model.landmarker)[0], "--config": config_file,
              "--profile": getattr(getattr(cfg, "profile", None), "profile", None)}
    check([Output("--out", cfg.output.out, "log"), Output("--events", cfg.output.events, "log")], inputs)


def _finite(obj):
    """NaN/inf are not JSON: write them as null instead of emitting an unparseable line; every
    string masked (a stream URL in an event's data)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, str):
        return mask(obj)
    if isinstance(obj, dict):
        return {mask(k) if isinstance(k, str) else k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class JsonlSink:
    """A JSON Lines file, one flushed line per write(); path None writes nothing."""

    def __init__(self, path: str | Path | None, what: str = "output"):
        self.what = what
        self.path = "" if path is None else str(path)
        self._own = False
        if path is None:
            self._f = None
            return
        check([Output(what, path, "log")])
        self._f, self._own = open_log(path, what)

    def write(self, record: dict) -> None:
        if self._f is None:
            return
        try:
            self._f.write(json.dumps(_finite(record), separators=(", ", ": "), allow_nan=False) + "\n")
            self._f.flush()
        except OSError as e:  # disk full, a pipe closed ...
            raise DrowsyError(f"cannot write {self.what} file {self.path}: {e.strerror or e}") from None
        except ValueError:  # the stream was closed under us (stdout closed by a parent)
            raise DrowsyError(f"cannot write {self.what} file {self.path}: it is closed") from None

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
        if self._f is not None:  # no --out: skip building the record on every frame
            self.write({**result.to_json(), **self.extra})


class EventLog(JsonlSink):
    """`--events`: Event.to_json() per event; counts events by kind for the summary line."""

    def __init__(self, path: str | Path | None):
        self.counts: Counter[str] = Counter()
        super().__init__(path, "--events")

    def add(self, event: Event) -> None:
        self.counts[event.kind] += 1
        self.write(event.to_json())
