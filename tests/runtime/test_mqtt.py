"""--mqtt against a real Mosquitto broker that these tests start on 127.0.0.1 (Debian package
`mosquitto`; .ci/run installs it): events, the retained status, the last will, a broker restart
mid-run, the bounded queue, TLS with a CA file. (`drowsy run --mqtt` end to end: test_remote.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("paho.mqtt.client", reason="the [mqtt] extra (paho-mqtt) is not installed")

from drowsy.errors import DrowsyError  # noqa: E402
from drowsy.runtime.mqtt import MqttSink, parse_mqtt_url  # noqa: E402
from drowsy.types import Drowsiness, Event, Frame, FrameResult  # noqa: E402

from mosquitto_broker import Broker, Subscriber, broker, free_port, needs_broker, wait_for  # noqa: E402,F401


def result(i: int, closed: bool = False) -> FrameResult:
    state = Drowsiness(closed=closed, perclos=0.05, closed_for_s=0.0, alert=False, reason=None)
    return FrameResult(Frame(np.zeros((8, 8, 3), np.uint8), i, i / 25), None, None, None, state, {"total": 1.0})


def blink(n: int) -> Event:
    return Event(t=n * 0.1, kind="blink", data={"n": n, "duration_s": 0.2})


def open_sink(port: int, prefix: str = "fleet/box-1", lines=None, **kw) -> MqttSink:
    lines = [] if lines is None else lines
    sink = MqttSink(f"mqtt://127.0.0.1:{port}/{prefix}", "box-1", warn=lines.append, say=lines.append, **kw)
    assert sink.connected.wait(10), lines
    return sink


# -- URLs ---------------------------------------------------------------------------------

def test_mqtt_urls_give_host_port_prefix_and_credentials():
    t = parse_mqtt_url("mqtt://ops:p%40ss@broker.lan/fleet/bus-7/")
    assert (t.tls, t.host, t.port, t.prefix, t.username, t.password) == (False, "broker.lan", 1883, "fleet/bus-7",
                                                                          "ops", "p@ss")
    t = parse_mqtt_url("mqtts://[::1]:9999/x")
    assert (t.tls, t.host, t.port, t.prefix) == (True, "::1", 9999, "x")
    assert parse_mqtt_url("mqtts://broker/x").port == 8883


@pytest.mark.parametrize("url", ["http://broker/x", "mqtt:///x", "mqtt://u:secret@broker", "mqtt://broker/a/#",
                                 "mqtt://u:secret@broker:notaport/x"])
def test_bad_mqtt_urls_say_why_without_the_password(url):
    with pytest.raises(ValueError) as e:
        parse_mqtt_url(url)
    assert "secret" not in str(e.value) and "mqtt" in str(e.value)


def test_without_the_extra_mqtt_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "paho.mqtt.client", None)
    with pytest.raises(DrowsyError, match=r"pip install 'drowsy-eyes\[mqtt\]'"):
        MqttSink("mqtt://127.0.0.1:1/x", "box")


# -- a live broker ------------------------------------------------------------------------

@needs_broker
def test_events_and_a_retained_status_reach_the_broker(broker):
    sub = Subscriber(broker.port, "fleet/#")
    lines = []
    sink = open_sink(broker.port, lines=lines)
    start = time.monotonic()
    for i in range(60):
        sink.on_frame(result(i))
        if i % 20 == 0:
            sink.on_event(blink(i))
    elapsed = time.monotonic() - start
    wait_for(lambda: len(sub.on("fleet/box-1/events")) == 3 and sub.on("fleet/box-1/status"), what="messages")
    events = sub.on("fleet/box-1/events")
    assert [e["n"] for e in events] == [0, 20, 40]
    assert all(e["device_id"] == "box-1" and e["event"] == "blink" for e in events)
    status = sub.on("fleet/box-1/status")
    assert len(status) <= 1 + elapsed  # at most once a second, however fast frames come
    assert status[0]["status"] == "online" and status[0]["frame"] == 0 and status[0]["device_id"] == "box-1"
    late = Subscriber(broker.port, "fleet/box-1/status")  # a viewer who connects later sees it retained
    wait_for(lambda: late.messages, what="the retained status")
    assert late.messages[0][2] is True and late.messages[0][1]["status"] == "online"
    sink.close()
    wait_for(lambda: sub.on("fleet/box-1/status")[-1]["status"] == "offline", what="offline on close")
    assert lines[-1].startswith("drowsy run: mqtt mqtt://127.0.0.1") and "0 dropped" in lines[-1]
    sub.close()
    late.close()


@needs_broker
def test_a_box_that_vanishes_is_marked_offline_by_its_last_will(broker, tmp_path):
    code = ("import sys, time, numpy as np\n"
            "from drowsy.runtime.mqtt import MqttSink\n"
            "from drowsy.types import Drowsiness, Frame, FrameResult\n"
            f"s = MqttSink('mqtt://127.0.0.1:{broker.port}/fleet/box-9', 'box-9')\n"
            "s.connected.wait(10)\n"
            "s.on_frame(FrameResult(Frame(np.zeros((4, 4, 3), np.uint8), 0, 0.0), None, None, None,\n"
            "           Drowsiness(False, None, 0.0, False, None), {}))\n"
            "time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    sub = Subscriber(broker.port, "fleet/box-9/status")
    try:
        wait_for(lambda: sub.on("fleet/box-9/status"), what="the box's status")
        assert sub.on("fleet/box-9/status")[-1]["status"] == "online"
    finally:
        proc.kill()  # power cut: no clean disconnect
        proc.wait()
    wait_for(lambda: sub.on("fleet/box-9/status")[-1]["status"] == "offline", what="the last will")
    assert sub.on("fleet/box-9/status")[-1] == {"status": "offline", "device_id": "box-9"}
    sub.close()


@needs_broker
def test_a_broker_restart_mid_run_drops_the_oldest_and_resumes(broker):
    # A subscriber with a persistent session: the broker keeps its messages over the restart.
    sub = Subscriber(broker.port, "fleet/box-1/events", client_id="watcher")
    lines = []
    sink = open_sink(broker.port, lines=lines, queue_size=50)
    for n in range(10):
        sink.on_event(blink(n))
    wait_for(lambda: len(sub.on("fleet/box-1/events")) == 10, what="the first events")
    broker.stop()
    wait_for(lambda: not sink.connected.is_set(), what="the sink to notice")

    def feed():  # the frame loop's side while the broker is away: must never wait
        for n in range(10, 210):
            sink.on_event(blink(n))
            sink.on_frame(result(n))

    feeder = threading.Thread(target=feed)
    feeder.start()
    feeder.join(timeout=30)
    assert not feeder.is_alive(), "on_event/on_frame blocked while the broker was down"
    assert sink.dropped == 150  # 200 events, 50 kept: the oldest went
    broker.start()
    assert sink.connected.wait(40)
    received = lambda: sorted({e["n"] for e in sub.on("fleet/box-1/events")})  # noqa: E731 (QoS 1 may repeat)
    wait_for(lambda: received() == list(range(10)) + list(range(160, 210)), what="the queued events")
    for n in range(210, 215):
        sink.on_event(blink(n))
    wait_for(lambda: received()[-5:] == list(range(210, 215)), what="new events after the restart")
    assert any("lost; reconnecting" in m for m in lines) and any(m.endswith("back") for m in lines)
    sink.close()
    assert "150 dropped" in lines[-1]
    sub.close()


@needs_broker
def test_a_dead_broker_never_stalls_and_the_loss_is_reported(tmp_path):
    lines = []
    sink = MqttSink(f"mqtt://127.0.0.1:{free_port()}/fleet/x", "box", queue_size=20, warn=lines.append,
                    say=lines.append)
    for n in range(100):
        sink.on_event(blink(n))
        sink.on_frame(result(n))
    sink.close()
    assert not sink.connected.is_set()
    assert any("not reachable; retrying" in m for m in lines)
    assert lines[-1].endswith("0 messages published, 100 dropped (broker unreachable or queue full)")


@needs_broker
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")
def test_mqtts_with_a_ca_file(tmp_path):
    cert, key = tmp_path / "ca.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    b = Broker(tmp_path)
    b.conf.write_text(b.conf.read_text() + f"certfile {cert}\nkeyfile {key}\n")
    b.start()
    try:
        sub = Subscriber(b.port, "secure/#", tls_ca=str(cert))
        lines = []
        sink = MqttSink(f"mqtts://127.0.0.1:{b.port}/secure/box", "box", ca_file=str(cert), warn=lines.append,
                        say=lines.append)
        assert sink.connected.wait(10), lines
        sink.on_event(blink(1))
        wait_for(lambda: sub.on("secure/box/events"), what="an event over TLS")
        sink.close()
        sub.close()
        with pytest.raises(DrowsyError, match="--mqtt-ca"):
            MqttSink(f"mqtts://127.0.0.1:{b.port}/secure/box", "box", ca_file=str(tmp_path / "missing.pem"))
    finally:
        b.stop()


@needs_broker
def test_every_driver_state_event_and_level_reaches_the_broker(broker):
    from driver_scenes import NEW_EVENTS, NEW_REASONS, every_new_event

    results, events = every_new_event()
    sub = Subscriber(broker.port, "fleet/#")
    sink = open_sink(broker.port)
    critical = next(r for r in results if r.state.level == "critical")
    sink.on_frame(critical)
    for e in events:
        sink.on_event(e)
    wait_for(lambda: len(sub.on("fleet/box-1/events")) == len(events) and sub.on("fleet/box-1/status"),
             what="messages")
    got = sub.on("fleet/box-1/events")
    assert set(NEW_EVENTS) <= {e["event"] for e in got}
    assert {e["reason"] for e in got if e["event"] == "alert_on"} >= set(NEW_REASONS)
    assert all(e["level"] in ("warning", "critical") for e in got if e["event"] == "alert_on")
    status = sub.on("fleet/box-1/status")[0]
    assert (status["alert"], status["level"], status["reason"]) == (True, "critical", critical.state.reason)
    sink.close()
    sub.close()
