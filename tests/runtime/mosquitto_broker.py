"""Test helpers (not tests): a real Mosquitto broker on 127.0.0.1 and a recording subscriber.

Imported by test_mqtt.py and test_remote.py. The broker is Debian's `mosquitto` (.ci/run installs
it); tests that need it skip with that reason only where the binary is absent."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

# Debian installs it in /usr/sbin, which is not on every PATH.
MOSQUITTO = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)
needs_broker = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed (apt-get install mosquitto)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout_s: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Broker:
    """One mosquitto process on 127.0.0.1:port; stop() and start() again on the same port.
    Its sessions persist over a restart (saved on SIGTERM), like a broker with a disk."""

    def __init__(self, folder: Path, extra: str = ""):
        self.port, self.folder = free_port(), folder
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {folder}/\nlog_dest stderr\n"
                             # as root it would switch to user mosquitto, who cannot write here
                             f"user {getpass.getuser()}\n{extra}")
        self.proc = None

    def start(self) -> "Broker":
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.folder / "broker.log", "a"))

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"mosquitto exited: {(self.folder / 'broker.log').read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_for(up, what="mosquitto to listen")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


@pytest.fixture()
def broker(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    b = Broker(tmp_path).start()
    yield b
    b.stop()


class Subscriber:
    """A paho client that records (topic, payload dict, retained) for PREFIX/#."""

    def __init__(self, port: int, topic: str, client_id: str | None = None, tls_ca: str | None = None):
        import paho.mqtt.client as mqtt

        self.messages, self._lock, self._subscribed = [], threading.Lock(), threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "",
                                  clean_session=client_id is None)
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, client, userdata, msg):
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))

    def on(self, topic: str) -> list[dict]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
