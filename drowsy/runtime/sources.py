"""Which source a SourceConfig asks for: a video file, a stream URL, or a camera index.

Kept apart from capture.py (files, arrays, the shared base) and live.py (cameras, streams) so
neither imports the other's module at load time.

Opening can block for long: a FIFO with no writer blocks in open() forever, a stream waits for
its first frame. With a `stop` event the source is opened on a worker thread that is abandoned
when stop is set (checked every 50 ms), so SIGINT/SIGTERM end the run at once; a FIFO's
blocked open is released by opening its other end, and a source that opens after all is closed.
"""

from __future__ import annotations

import os
import stat
import threading

from .capture import Source, VideoSource
from .live import LiveSource

POLL_S = 0.05


def _open(cfg) -> Source:
    if cfg.video:
        return VideoSource(cfg.video, realtime=cfg.realtime)
    return LiveSource(cfg.url or cfg.camera, reconnect_max_s=cfg.reconnect_max_s)


def _release_fifo(path) -> None:
    """Wake a reader blocked opening this FIFO: open and close its writing end (no-op otherwise)."""
    try:
        if path and stat.S_ISFIFO(os.stat(path).st_mode):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def _release_while(path, worker: threading.Thread, limit_s: float = 5.0) -> None:
    for _ in range(int(limit_s / POLL_S)):
        if not worker.is_alive():
            return
        _release_fifo(path)
        worker.join(POLL_S)


def open_source(cfg, stop: threading.Event | None = None) -> Source | None:
    """Open the configured source (its first frame is decoded or awaited as part of opening).

    Returns None when `stop` is set before it opened.
    """
    if stop is None:
        return _open(cfg)
    box: dict = {}
    lock = threading.Lock()

    def work() -> None:
        try:
            source = _open(cfg)
        except BaseException as e:  # handed to the caller's thread below
            box["error"] = e
            return
        with lock:
            if box.get("abandoned"):
                source.close()
            else:
                box["source"] = source

    worker = threading.Thread(target=work, name="drowsy-open", daemon=True)
    worker.start()
    while worker.is_alive() and not stop.is_set():
        worker.join(POLL_S)
    with lock:
        if stop.is_set():
            box["abandoned"] = True
            late = box.pop("source", None)
            if late is not None:
                late.close()
    if stop.is_set():
        if cfg.video:  # OpenCV opens a file once per backend it tries: release each open in turn
            threading.Thread(target=_release_while, args=(cfg.video, worker), name="drowsy-release",
                             daemon=True).start()
        return None
    if "error" in box:
        raise box["error"]
    return box["source"]
