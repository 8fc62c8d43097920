"""Issue 22: --mqtt under hostile or mistaken use, against a real Mosquitto on 127.0.0.1: names
beyond the protocol's limits are refused at start (they used to kill paho's thread and silently
stop publishing), two runs with one device id both stay connected, and TLS and credential
failures are named as such."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

pytest.importorskip("paho.mqtt.client", reason="the [mqtt] extra (paho-mqtt) is not installed")

from drowsy.errors import DrowsyError  # noqa: E402
from drowsy.runtime.mqtt import MqttSink, parse_mqtt_url  # noqa: E402
from drowsy.runtime.mqtt_url import MAX_DEVICE_ID  # noqa: E402
from drowsy.types import Event  # noqa: E402

from mosquitto_broker import Broker, Subscriber, broker, needs_broker, wait_for  # noqa: E402,F401

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificates")


def blink(n: int) -> Event:
    return Event(t=n * 0.1, kind="blink", data={"n": n})


@pytest.mark.parametrize("url", ["mqtt://h/" + "p" * 70_000, "mqtt://h/" + "é" * 33_000,
                                 "mqtt://" + "u" * 70_000 + ":pw@h/p", "mqtt://u:" + "w" * 70_000 + "@h/p"])
def test_names_beyond_the_protocols_limits_are_refused(url):
    with pytest.raises(ValueError, match="longer than MQTT allows") as e:
        parse_mqtt_url(url)
    assert "w" * 20 not in str(e.value)  # the password is not echoed


def test_the_longest_allowed_prefix_is_accepted():
    assert len(parse_mqtt_url("mqtt://h/" + "p" * (65535 - len("/events"))).prefix) == 65528


def test_a_device_id_too_long_for_the_last_will_is_refused_at_start():
    with pytest.raises(DrowsyError, match="too long for MQTT's last will"):
        MqttSink("mqtt://127.0.0.1:1/fleet/big", "d" * 70_000)


@needs_broker
def test_the_longest_allowed_device_id_publishes_whole(broker):
    """The client id is built from a shortened device id; the name in messages stays whole."""
    name = "bus 7 / depot Nord: " + "d" * (MAX_DEVICE_ID - 20)
    sub = Subscriber(broker.port, "fleet/#")
    lines = []
    sink = MqttSink(f"mqtt://127.0.0.1:{broker.port}/fleet/big", name, warn=lines.append, say=lines.append)
    assert sink.connected.wait(10), lines
    assert len(sink.client_id) < 64
    sink.on_event(blink(1))
    wait_for(lambda: sub.on("fleet/big/events"), what="an event")
    assert sub.on("fleet/big/events")[0]["device_id"] == name
    sink.close()
    sub.close()
    assert "messages published, 0 dropped" in lines[-1], lines


@needs_broker
def test_two_runs_with_one_device_id_both_stay_connected(broker):
    sub = Subscriber(broker.port, "fleet/#")
    lines = []
    a = MqttSink(f"mqtt://127.0.0.1:{broker.port}/fleet/a", "bus-7", warn=lines.append, say=lines.append)
    b = MqttSink(f"mqtt://127.0.0.1:{broker.port}/fleet/b", "bus-7", warn=lines.append, say=lines.append)
    assert a.connected.wait(10) and b.connected.wait(10), lines
    time.sleep(2.5)  # a broker drops the older of two sessions with one id at once; both reconnect within 1 s
    for n in range(3):
        a.on_event(blink(n))
        b.on_event(blink(n))
    wait_for(lambda: len(sub.on("fleet/a/events")) == 3 and len(sub.on("fleet/b/events")) == 3, what="both boxes")
    a.close()
    b.close()
    sub.close()
    assert not [m for m in lines if "lost" in m], lines
    assert a.client_id != b.client_id and a.client_id.startswith("drowsy-bus-7-")


@needs_broker
def test_wrong_credentials_are_named(tmp_path):
    b = Broker(tmp_path)
    b.conf.write_text(b.conf.read_text().replace("allow_anonymous true", "allow_anonymous false"))
    b.start()
    try:
        lines = []
        sink = MqttSink(f"mqtt://someone:wrong@127.0.0.1:{b.port}/fleet/x", "box", warn=lines.append,
                        say=lines.append)
        wait_for(lambda: lines, timeout_s=10, what="a warning")
        sink.close()
        assert "rejected the user name or password" in lines[0] and "wrong" not in " ".join(lines), lines
    finally:
        b.stop()


def _cert(folder, name: str):
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@needs_broker
@needs_openssl
def test_an_untrusted_broker_certificate_is_named_not_called_unreachable(tmp_path):
    cert, key = _cert(tmp_path, "broker")
    other, _ = _cert(tmp_path, "other")
    b = Broker(tmp_path, extra=f"certfile {cert}\nkeyfile {key}\n").start()
    try:
        lines = []
        sink = MqttSink(f"mqtts://127.0.0.1:{b.port}/fleet/x", "box", ca_file=str(other), warn=lines.append,
                        say=lines.append)
        wait_for(lambda: lines, timeout_s=10, what="a warning")
        sink.close()
        assert "TLS certificate is not trusted" in lines[0] and "not reachable" not in lines[0], lines
    finally:
        b.stop()
