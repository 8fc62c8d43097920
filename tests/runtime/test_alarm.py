"""The alarm: a looping beep, and silence with one warning line where there is no audio."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from drowsy.runtime.alarm import SAMPLE_RATE, Alarm, beep


def test_beep_is_a_tone_then_silence():
    b = beep(freq_hz=1000.0, on_s=0.2, period_s=0.5)
    assert b.dtype == np.float32 and len(b) == int(0.5 * SAMPLE_RATE)
    on = b[: int(0.2 * SAMPLE_RATE)]
    assert 0.2 < np.abs(on).max() <= 0.5 and not b[int(0.2 * SAMPLE_RATE):].any()
    assert abs(on[0]) < 1e-3 and abs(on[-1]) < 1e-2  # ramps: no click
    crossings = np.count_nonzero(np.diff(np.signbit(on)))
    assert crossings == pytest.approx(2 * 1000 * 0.2, rel=0.05)  # 1 kHz


def test_the_real_audio_stack_never_raises():
    # This machine has no PortAudio and no sound card: one warning line. Where a card exists,
    # the alarm is available and says nothing.
    warnings = []
    a = Alarm(enabled=True, warn=warnings.append)
    a.close()
    assert (a.available and warnings == []) or (not a.available and len(warnings) == 1)


@pytest.mark.parametrize("broken", ["no_module", "no_device"])
def test_no_audio_is_one_warning_line_and_never_an_error(monkeypatch, broken):
    if broken == "no_module":
        monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    else:
        sd = FakeSoundDevice()

        def no_device(kind=None):
            raise RuntimeError("Error querying device -1")

        sd.query_devices = no_device
        monkeypatch.setitem(sys.modules, "sounddevice", sd)
    warnings = []
    a = Alarm(enabled=True, warn=warnings.append)
    assert not a.available
    assert len(warnings) == 1 and "\n" not in warnings[0] and "silent" in warnings[0]
    a.update(True)
    a.update(False)
    a.close()
    assert len(warnings) == 1


def test_switched_off_says_nothing():
    warnings = []
    a = Alarm(enabled=False, warn=warnings.append)
    a.update(True)
    assert warnings == [] and not a.available


class FakeSoundDevice(types.ModuleType):
    def __init__(self, fail_play=False):
        super().__init__("sounddevice")
        self.calls, self.fail_play = [], fail_play

    def query_devices(self, kind=None):
        return {"name": "fake"}

    def play(self, data, samplerate, loop=False):
        if self.fail_play:
            raise RuntimeError("device unplugged")
        self.calls.append(("play", len(data), samplerate, loop))

    def stop(self):
        self.calls.append(("stop",))


def test_the_beep_loops_while_the_alert_is_on(monkeypatch):
    sd = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    a = Alarm(enabled=True, warn=pytest.fail)
    for alert in (False, True, True, True, False, False):
        a.update(alert)
    assert [c[0] for c in sd.calls] == ["play", "stop"] and sd.calls[0][3] is True


def test_an_audio_error_mid_run_is_one_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", FakeSoundDevice(fail_play=True))
    warnings = []
    a = Alarm(enabled=True, warn=warnings.append)
    a.update(True)
    a.update(False)
    a.update(True)
    assert len(warnings) == 1 and "device unplugged" in warnings[0] and not a.available


def test_the_beep_escalates_with_the_level(monkeypatch):
    sd = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    a = Alarm(enabled=True, warn=pytest.fail)
    for alert, level in ((True, "warning"), (True, "warning"), (True, "critical"), (False, None)):
        a.update(alert, level)
    # The critical beep loops faster: a shorter period than the warning's.
    assert [c[0] for c in sd.calls] == ["play", "play", "stop"] and sd.calls[1][1] < sd.calls[0][1]
