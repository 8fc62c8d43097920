"""The names `drowsy run --mqtt` sends, checked against MQTT's limits before anything opens, and
the words for a failed connection.

- parse_mqtt_url: mqtt[s]://[user:pass@]HOST[:PORT]/PREFIX; a topic, user name or password is an
  MQTT string with a 2-byte length (MQTT 3.1.1 §1.5.3), so one over 65,535 UTF-8 bytes is refused
  here, where it would otherwise kill paho's network thread mid-run and silently stop publishing.
- client_id: unique per process (two runs with one device id would knock each other off).
- connect_problem: a TLS certificate failure or an unknown host named as such, not "unreachable".
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_STRING = 65535  # MQTT 3.1.1 §1.5.3: a UTF-8 string (topic, user name, password) has a 2-byte length
LONGEST_TOPIC = "events"  # the longest name published under the prefix ("events", "status")
CLIENT_NAME_CHARS = 40  # of the device id in the client id (brokers may refuse long client ids)
# A device id goes into every payload and the last will (itself an MQTT string): this bound keeps
# it a name, far inside the protocol's 65,535 bytes.
MAX_DEVICE_ID = 128


def mqtt_problems(section) -> list[tuple[str, str]]:
    """settings.check for [mqtt] beyond the URL: a CA file without TLS (once silently unused), a
    device id that is not a short printable name."""
    if section.ca_file is not None and section.broker is not None \
            and not section.broker.strip().lower().startswith("mqtts://"):
        return [("ca_file", "is for an mqtts:// broker; this --mqtt URL is plain mqtt:// (no TLS)")]
    d = section.device_id
    if d is not None and (len(d) > MAX_DEVICE_ID or not d.isprintable()):
        return [("device_id", f"must be at most {MAX_DEVICE_ID} printable characters")]
    return []


@dataclass(frozen=True)
class MqttTarget:
    tls: bool
    host: str
    port: int
    prefix: str
    username: str | None = None
    password: str | None = None


def parse_mqtt_url(url: str) -> MqttTarget:
    """The broker and topic prefix of an mqtt:// or mqtts:// URL; ValueError says why (no secret)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("must be mqtt://[user:pass@]HOST[:PORT]/PREFIX (bad host or port)") from None
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError("must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError("has no broker host: mqtt://HOST[:PORT]/PREFIX")
    prefix = unquote(parts.path).strip("/")
    if not prefix or any(c in prefix for c in "#+\0") or "//" in prefix or "#" in url or parts.query:
        raise ValueError("needs a topic prefix without wildcards, e.g. mqtt://broker/fleet/bus-7")
    user = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    # The protocol's strings carry a 2-byte length: longer ones kill paho's thread mid-run.
    if len(f"{prefix}/{LONGEST_TOPIC}".encode("utf-8", "surrogatepass")) > MAX_STRING:
        raise ValueError(f"has a topic prefix longer than MQTT allows ({MAX_STRING} bytes with /{LONGEST_TOPIC})")
    if any(len(v.encode("utf-8", "surrogatepass")) > MAX_STRING for v in (user or "", password or "")):
        raise ValueError(f"has a user name or password longer than MQTT allows ({MAX_STRING} bytes)")
    tls = parts.scheme == "mqtts"
    return MqttTarget(tls, parts.hostname, port or (8883 if tls else 1883), prefix, user, password)


def client_id(device_id: str) -> str:
    """The MQTT client id: unique per process, because a broker drops the older of two
    connections with one id (two runs on one box would knock each other off forever). The
    device id stays the name in the messages; here it is shortened to safe characters."""
    import os
    import re
    import secrets

    name = re.sub(r"[^A-Za-z0-9_-]+", "-", device_id)[:CLIENT_NAME_CHARS].strip("-") or "box"
    return f"drowsy-{name}-{os.getpid()}-{secrets.token_hex(3)}"


def connect_problem(e: BaseException | None) -> str:
    """A failed connection attempt in words: TLS and name failures are not 'unreachable'."""
    import socket
    import ssl

    if isinstance(e, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not trusted ({e.verify_message or e.reason}; --mqtt-ca names the CA)"
    if isinstance(e, ssl.SSLError):
        return f"the TLS handshake failed ({e.reason or e}); is it an mqtts:// port?"
    if isinstance(e, socket.gaierror):
        return "its host name does not resolve"
    return "not reachable"
