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


class Alarm:
    """update(alert) starts the looping beep when an alert begins and stops it when it ends."""

    def __init__(self, enabled: bool, warn: Callable[[str], None]):
        self.available = False
        self.on = False
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
        self._tone = beep()
        self.available = True

    def _fail(self, msg: str) -> None:
        self.available = False
        self._warn(msg)

    def update(self, alert: bool) -> None:
        alert = bool(alert)
        if alert == self.on:
            return
        self.on = alert
        if not self.available:
            return
        try:
            if alert:
                self._sd.play(self._tone, SAMPLE_RATE, loop=True)
            else:
                self._sd.stop()
        except Exception as e:  # a device unplugged mid-run must not end the monitoring
            self._fail(f"audio stopped working ({first_line(e)}); alerts are silent from now on")

    def close(self) -> None:
        if self.on:
            self.update(False)


