"""`drowsy run --mqtt mqtt[s]://[user:pass@]HOST[:PORT]/PREFIX`: fleet events over MQTT.

Published (paho-mqtt, the [mqtt] extra), every payload JSON with "device_id" and "time" (UNIX
seconds of the box's clock; "t" stays the stream's own time):
  PREFIX/events   every event (alerts, microsleeps, blinks, face/camera lost ...), QoS 1
  PREFIX/status   the latest frame state, retained, at most once a second, QoS 1; the broker
                  sets it to {"status": "offline"} (the last will) if the box vanishes, and a
                  clean end publishes the same
Use one PREFIX per box (the retained status and the will are per topic).

The frame loop never waits for the network: on_event appends to a bounded queue (the oldest is
dropped when full, and counted), on_frame replaces one status slot. A publisher thread hands
them to paho only while connected and at most IN_FLIGHT unacknowledged; paho reconnects in the background with backoff and resends
QoS 1 messages that were in flight. The count of dropped messages is printed at the end.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from typing import Callable

from ..errors import DrowsyError
from ..types import Event, FrameResult
from .mqtt_url import MAX_STRING, MqttTarget, client_id, connect_problem, parse_mqtt_url  # noqa: F401 (re-exported)
from .sinks import _finite  # NaN -> null, secrets masked: as the --out/--events logs

EXTRA_HINT = "pip install 'drowsy-eyes[mqtt]'"
QUEUE_SIZE = 1000  # events kept while the broker is away (~hours of normal event rates)
STATUS_EVERY_S = 1.0
BACKOFF_S = (1, 30)  # reconnect delay: doubles from 1 s up to 30 s
IN_FLIGHT = 100  # handed to paho but not yet acknowledged; paho resends them after a reconnect
FLUSH_S = 3.0  # at the end, how long to wait for queued messages to reach the broker
AUTH_FAILED = (134, 135)  # CONNACK: bad user name or password, not authorised (3.1.1 codes 4, 5)


class MqttSink:
    """Events and status of one box to a broker: on_frame(result), on_event(event), close()."""

    def __init__(self, url: str, device_id: str, ca_file: str | None = None, queue_size: int = QUEUE_SIZE,
                 warn: Callable[[str], None] | None = None, say: Callable[[str], None] | None = None):
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise DrowsyError(f"--mqtt needs the mqtt extra: {EXTRA_HINT}") from None
        from ..secrets import mask

        self.target = parse_mqtt_url(url)
        self.shown = mask(url.strip())
        self.device_id = device_id
        self._warn = warn or (lambda m: print(f"drowsy: warning: {m}", file=sys.stderr, flush=True))
        self._say = say or (lambda m: print(m, file=sys.stderr, flush=True))
        self._events: deque[str] = deque()
        self._queue_size = queue_size
        self._status: str | None = None
        self._last_status = -STATUS_EVERY_S
        self._cond = threading.Condition()
        self._closing = False
        self._unacked: set[int] = set()  # message ids handed to paho, not yet acknowledged
        self._acked_early: set[int] = set()
        self.published = self.dropped = 0
        self.connected = threading.Event()
        self._ever_connected = False
        self._last_problem: str | None = None
        t = self.target
        self.client_id = client_id(device_id)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311)
        if t.username is not None:
            client.username_pw_set(t.username, t.password)
        if t.tls:
            try:
                client.tls_set(ca_certs=ca_file)
            except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
                raise DrowsyError(f"cannot use --mqtt-ca {ca_file}: {getattr(e, 'strerror', None) or e}") from None
        if len(self._offline().encode()) > MAX_STRING:  # the will travels in CONNECT with a 2-byte length
            raise DrowsyError(f"the device id ({len(device_id)} characters) is too long for MQTT's last will")
        client.will_set(self._topic("status"), self._offline(), qos=1, retain=True)
        client.reconnect_delay_set(*BACKOFF_S)
        client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
        client.on_connect_fail, client.on_publish = self._on_connect_fail, self._on_publish
        self._client = client
        self._failure: BaseException | None = None
        client.reconnect = self._reconnect_noting_why  # paho drops the exception before on_connect_fail
        try:
            client.connect_async(t.host, t.port, keepalive=15)
        except (OSError, ValueError) as e:
            raise DrowsyError(f"cannot use --mqtt {self.shown}: {e}") from None
        client.loop_start()
        self._thread = threading.Thread(target=self._publish_loop, name="drowsy-mqtt", daemon=True)
        self._thread.start()

    # -- the frame loop's side: never waits ------------------------------------------------

    def on_event(self, event: Event) -> None:
        payload = json.dumps({**_finite(event.to_json()), "device_id": self.device_id, "time": time.time()})
        with self._cond:
            if len(self._events) >= self._queue_size:
                self._events.popleft()
                self.dropped += 1
            self._events.append(payload)
            self._cond.notify()

    def on_frame(self, result: FrameResult) -> None:
        now = time.monotonic()
        if now - self._last_status < STATUS_EVERY_S:
            return
        self._last_status = now
        record = _finite(result.to_json())
        record.pop("timings_ms", None)
        payload = json.dumps({**record, "status": "online", "device_id": self.device_id, "time": time.time()})
        with self._cond:
            self._status = payload
            self._cond.notify()

    # -- the publisher thread --------------------------------------------------------------

    def _topic(self, name: str) -> str:
        return f"{self.target.prefix}/{name}"

    def _offline(self) -> str:
        return json.dumps({"status": "offline", "device_id": self.device_id})

    def _publish_loop(self) -> None:
        def ready() -> bool:
            return self.connected.is_set() and len(self._unacked) < IN_FLIGHT and bool(self._events or self._status)

        while True:
            with self._cond:
                while not (self._closing or ready()):
                    self._cond.wait(0.5)
                if self._closing and not self.connected.is_set():
                    return
                room = max(0, IN_FLIGHT - len(self._unacked))
                batch = [("events", self._events.popleft(), False) for _ in range(min(room, len(self._events)))]
                if self._status is not None:
                    batch.append(("status", self._status, True))
                    self._status = None
                done = self._closing and not self._events
            for name, payload, retain in batch:
                self._send(name, payload, retain)
            if done:
                return

    def _send(self, name: str, payload: str, retain: bool) -> None:
        info = self._client.publish(self._topic(name), payload, qos=1, retain=retain)
        with self._cond:
            if info.mid in self._acked_early:  # the broker was faster than publish() returning
                self._acked_early.discard(info.mid)
                self.published += 1
            else:
                self._unacked.add(info.mid)

    # -- paho's callbacks (its network thread) ----------------------------------------------

    def _reconnect_noting_why(self):
        try:
            return type(self._client).reconnect(self._client)
        except OSError as e:  # ssl.SSLError and socket.gaierror are OSErrors
            self._failure = e
            raise

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            why = ("rejected the user name or password" if reason_code.value in AUTH_FAILED
                   else "refused the connection")
            self._problem(f"mqtt broker {self.target.host}:{self.target.port} {why} ({reason_code}); retrying")
            return
        if self._ever_connected:
            self._warn(f"mqtt broker {self.target.host}:{self.target.port} back")
        self._ever_connected, self._last_problem = True, None
        with self._cond:
            self.connected.set()
            self._cond.notify()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._closing:
            self._warn(f"mqtt broker {self.target.host}:{self.target.port} lost; reconnecting "
                       f"(events queue meanwhile, at most {self._queue_size})")

    def _on_connect_fail(self, client, userdata) -> None:
        self._problem(f"mqtt broker {self.target.host}:{self.target.port} {connect_problem(self._failure)}; retrying")

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._cond:
            if mid in self._unacked:
                self._unacked.discard(mid)
                self.published += 1
            else:
                self._acked_early.add(mid)
            self._cond.notify()

    def _problem(self, msg: str) -> None:
        if msg != self._last_problem:  # once per kind of trouble, not once per retry
            self._last_problem = msg
            self._warn(msg)

    # -- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Publish what is queued and an "offline" status (for up to FLUSH_S), then disconnect."""
        client = getattr(self, "_client", None)
        if client is None or self._closing:
            return
        deadline = time.monotonic() + FLUSH_S
        with self._cond:
            if self.connected.is_set():
                self._status = None  # the offline status replaces it
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout=FLUSH_S)
        if self.connected.is_set():
            self._send("status", self._offline(), True)
        while self._unacked and self.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        client.disconnect()
        client.loop_stop()
        with self._cond:
            self.dropped += len(self._events) + len(self._unacked)  # never reached the broker
        self._say(f"drowsy run: mqtt {self.shown}: {self.published} messages published, "
                  f"{self.dropped} dropped (broker unreachable or queue full)")
