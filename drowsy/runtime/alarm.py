"""Audible alarm: a repeating beep while an alert is on (sounddevice, tone made with numpy).

The alarm must never stop the monitor: without sounddevice, PortAudio or an output device
(a server, a container, this CI machine) it says so in one warning line and stays silent,
and any audio error later does the same.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import first_line

SAMPLE_RATE = 44100


def beep(freq_hz: float = 880.0, on_s: float = 0.25, period_s: float = 0.5, volume: float = 0.4,
         sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One period of the alarm as float32 mono: a tone, then silence; played on a loop.

    10 ms ramps at both ends of the tone avoid the click of a hard start and stop.
    """
    n_on, n = int(on_s * sample_rate), max(int(period_s * sample_rate), int(on_s * sample_rate))
    t = np.arange(n_on) / sample_rate
    tone = volume * np.sin(2 * np.pi * freq_hz * t)
    ramp = min(int(0.01 * sample_rate), n_on // 2)
    if ramp:
        env = np.linspace(0.0, 1.0, ramp)
        tone[:ramp] *= env
        tone[n_on - ramp:] *= env[::-1]
    out = np.zeros(n, dtype=np.float32)
    out[:n_on] = tone
    return out


# The beep escalates with the alert's level (runtime/alerts.py): slow and low for advisory,
# fast and high for critical. None: an alert of no known level (the warning tone).
TONES = {"advisory": (660.0, 0.15, 1.0), "warning": (880.0, 0.25, 0.5), "critical": (1320.0, 0.2, 0.3)}


class Alarm:
    """update(alert, level) starts the looping beep when an alert begins, changes its tone when
    the level changes and stops it when the alert ends."""

    def __init__(self, enabled: bool, warn: Callable[[str], None]):
        self.available = False
        self.on = False
        self.level = "warning"
        self._warn = warn
        self._sd = None
        if not enabled:
            return
        try:
            import sounddevice as sd  # raises OSError when the PortAudio library is missing

            sd.query_devices(kind="output")  # raises when there is no default output device
        except Exception as e:  # ImportError, OSError, sounddevice.PortAudioError, ...
            self._fail(f"no audio output ({first_line(e)}); alerts are silent (--no-alarm hides this)")
            return
        self._sd = sd
        self._tones = {lv: beep(f, on, period) for lv, (f, on, period) in TONES.items()}
        self.available = True

    def _fail(self, msg: str) -> None:
        self.available = False
        self._warn(msg)

    def update(self, alert: bool, level: str | None = None) -> None:
        alert = bool(alert)
        level = level if level in TONES else "warning"
        if alert == self.on and (not alert or level == self.level):
            return
        self.on, self.level = alert, level
        if not self.available:
            return
        try:
            if alert:
                self._sd.play(self._tones[level], SAMPLE_RATE, loop=True)
            else:
                self._sd.stop()
        except Exception as e:  # a device unplugged mid-run must not end the monitoring
            self._fail(f"audio stopped working ({first_line(e)}); alerts are silent from now on")

    def close(self) -> None:
        if self.on:
            self.update(False)


