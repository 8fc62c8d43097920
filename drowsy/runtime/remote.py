"""The sinks of `drowsy run` beyond the box itself: the web view (--serve) and MQTT (--mqtt).

Each has on_frame(result), on_event(event) and close(), returns at once whatever the network
does, and is closed at the end of the run. check() runs before any output is opened, so a
missing extra or an unreadable CA file is one line before anything is written; open_remote()
runs once the source and the models are ready (nothing is served for a run that fails) and before
the --out/--events logs open (a port in use or a bad CA file leaves yesterday's logs as they were).
"""

from __future__ import annotations

import importlib.util
import os
import socket
from typing import Callable

from ..errors import DrowsyError


def check(cfg) -> None:
    """The extras and files --serve / --mqtt need, checked before anything is opened."""
    from .mqtt import EXTRA_HINT as MQTT_HINT
    from .serve import EXTRA_HINT as SERVE_HINT

    wanted = [("--serve", cfg.serve.address, ("starlette", "uvicorn"), SERVE_HINT),
              ("--mqtt", cfg.mqtt.broker, ("paho",), MQTT_HINT)]
    for flag, value, modules, hint in wanted:
        if value is not None and not all(_importable(m) for m in modules):
            raise DrowsyError(f"{flag} needs the {flag[2:]} extra: {hint}")
    ca = cfg.mqtt.ca_file
    if ca is not None and not (os.path.isfile(ca) and os.access(ca, os.R_OK)):
        raise DrowsyError(f"cannot read --mqtt-ca {ca}: " + ("no such file" if not os.path.exists(ca) else
                                                             "not a readable file"))


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules
        return False


def open_remote(cfg, threshold: float, warn: Callable[[str], None]) -> list:
    """The configured remote sinks, started; a failure closes the ones already open."""
    sinks = []
    try:
        if cfg.serve.address is not None:
            from .serve import ServeSink, parse_hostport

            host, port = parse_hostport(cfg.serve.address)
            sinks.append(ServeSink(host, port, token=cfg.serve.token, threshold=threshold,
                                   perclos_alert=cfg.temporal.perclos_alert, fps=cfg.serve.video_fps, warn=warn))
        if cfg.mqtt.broker is not None:
            from .mqtt import MqttSink

            sinks.append(MqttSink(cfg.mqtt.broker, cfg.mqtt.device_id or socket.gethostname(),
                                  ca_file=cfg.mqtt.ca_file, queue_size=cfg.mqtt.queue_size, warn=warn))
    except BaseException:
        close_all(sinks)
        raise
    return sinks


def close_all(sinks) -> None:
    for s in sinks:
        s.close()
