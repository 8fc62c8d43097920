"""Which source a SourceConfig asks for: a video file, a stream URL, or a camera index.

Kept apart from capture.py (files, arrays, the shared base) and live.py (cameras, streams) so
neither imports the other's module at load time.
"""

from __future__ import annotations

from .capture import Source, VideoSource
from .live import LiveSource


def open_source(cfg) -> Source:
    """Open the configured source (its first frame is decoded or awaited as part of opening)."""
    if cfg.video:
        return VideoSource(cfg.video, realtime=cfg.realtime)
    return LiveSource(cfg.url or cfg.camera, reconnect_max_s=cfg.reconnect_max_s)
