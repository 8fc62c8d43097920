"""`drowsy run --serve HOST:PORT`: a live web view of the run for a phone or a laptop.

The frame loop hands every FrameResult and Event to a Hub: a lock held for a few assignments,
latest wins, nothing is queued per client, so the web server can never slow detection. The
server (Starlette on uvicorn, the [serve] extra; routes in serve_app.py, the page in
serve_page.py) runs in its own thread with its own event loop and reads the Hub at its own
pace: the overlay is drawn and JPEG-encoded there, at most `fps` times a second and only while
someone watches; a slow client simply gets fewer frames.

Security (docs/security.md): loopback by default. Bound to any other address the server requires
a token on every request (header or ?token=); without --serve-token one is generated and printed
once. The token is never logged (no access log; server messages are reduced to their first line,
rate-limited). On a loopback bind only loopback Host names are answered (DNS rebinding); a page
of another origin is refused; every answer carries SECURITY_HEADERS (serve_app.Guard). Hostile
connections (half-open, a flood) are bounded by serve_guard.py: a header timeout, a cap on open
connections (beyond it clients wait in the kernel's backlog, costing nothing here).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import sys
import threading
import time
from collections import deque
from typing import Callable

from ..errors import DrowsyError
from ..types import Event, FrameResult

EXTRA_HINT = "pip install 'drowsy-eyes[serve]'"
N_EVENTS = 50  # events kept for a page that connects mid-run


def parse_hostport(text: str) -> tuple[str, int]:
    """'HOST:PORT', '[::1]:PORT' or 'PORT' (= loopback) → (host, port); ValueError says why."""
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0 = any free port)")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything, so it is not loopback
        return False


def needs_token(host: str) -> bool:
    """Anything beyond loopback (0.0.0.0, a LAN address, a host name) is reachable by others."""
    return not is_loopback(host)


class Hub:
    """Latest-wins slots between the frame loop (writer) and the server (reader)."""

    def __init__(self, n_events: int = N_EVENTS):
        self._lock = threading.Lock()
        self.result: FrameResult | None = None
        self.result_seq = 0  # counts results put, so readers see whether a new one came
        self.events: deque[tuple[int, dict]] = deque(maxlen=n_events)
        self.event_seq = 0
        self.closed = False

    def put_result(self, result: FrameResult) -> None:
        with self._lock:
            self.result, self.result_seq = result, self.result_seq + 1

    def put_event(self, event: Event) -> None:
        record = event.to_json()
        with self._lock:
            self.event_seq += 1
            self.events.append((self.event_seq, record))

    def latest(self) -> tuple[int, FrameResult | None]:
        with self._lock:
            return self.result_seq, self.result

    def events_after(self, seq: int) -> list[tuple[int, dict]]:
        with self._lock:
            return [(s, r) for s, r in self.events if s > seq]


def allowed_hosts(host: str) -> frozenset[str] | None:
    """The Host names a loopback bind answers to (serve_app.Guard); None beyond loopback, where the
    token guards instead and the box may be reached by any name."""
    if not is_loopback(host):
        return None
    return frozenset({"localhost", "127.0.0.1", "::1", host.lower()})


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, opened here so 'address in use' is one line before any frame."""
    from .serve_guard import MAX_CONNECTIONS

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise DrowsyError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(MAX_CONNECTIONS)  # beyond the cap, clients wait here (serve_guard.Acceptor)
    except OSError as e:
        sock.close()
        raise DrowsyError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    sock.setblocking(False)
    return sock


class ServeSink:
    """The web view as a sink of `drowsy run`: on_frame(result), on_event(event), close()."""

    def __init__(self, host: str, port: int, token: str | None = None, threshold: float = 0.5,
                 perclos_alert: float | None = None, fps: float = 10.0,
                 warn: Callable[[str], None] | None = None, say: Callable[[str], None] | None = None):
        try:
            import starlette  # noqa: F401
            import uvicorn
        except ImportError:
            raise DrowsyError(f"--serve needs the serve extra: {EXTRA_HINT}") from None
        from .serve_app import build_app
        from .serve_guard import KEEPALIVE_S, MAX_HEAD_BYTES, Acceptor, FirstLineHandler, guarded_h11

        warn = warn or (lambda m: print(f"drowsy: warning: {m}", file=sys.stderr, flush=True))
        say = say or (lambda m: print(m, file=sys.stderr, flush=True))
        generated = token is None and needs_token(host)
        self.token = secrets.token_urlsafe(18) if generated else token
        self.hub = Hub()
        self._sock = _bind(host, port)
        self.port = self._sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        app = build_app(self.hub, self.token, threshold=threshold, perclos_alert=perclos_alert, fps=fps,
                        hosts=allowed_hosts(host))
        log = logging.getLogger("uvicorn")
        log.handlers[:] = [FirstLineHandler(warn)]
        log.propagate = False
        # No access log: a request line would carry ?token=. lifespan off: the app has none.
        # Our Acceptor, not uvicorn, takes connections off the socket (sockets=[] in _serve): host
        # and port are given only for uvicorn's own bookkeeping.
        self._acceptor = Acceptor(self._sock)
        config = uvicorn.Config(app, host=host, port=self.port, log_config=None, access_log=False, lifespan="off",
                                http=guarded_h11(self._acceptor), ws="none", timeout_graceful_shutdown=2,
                                timeout_keep_alive=KEEPALIVE_S, h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                                server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="drowsy-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            self.close()
            raise DrowsyError(f"cannot serve on {host}:{port}: the web server did not start")
        if generated:  # the one place the token is shown: the user needs it to open the page
            say(f"drowsy run: web view on {self.url}?token={self.token} (generated token; "
                f"pass --serve-token to choose one)")
        else:
            say(f"drowsy run: web view on {self.url}" + (" (token required)" if self.token else ""))

    def _serve(self) -> None:
        import asyncio

        asyncio.run(self._acceptor.serve(self._server))

    def on_frame(self, result: FrameResult) -> None:
        self.hub.put_result(result)

    def on_event(self, event: Event) -> None:
        self.hub.put_event(event)

    def close(self) -> None:
        """Streams end on their next tick, then the server stops; never waits long."""
        self.hub.closed = True
        server = getattr(self, "_server", None)
        if server is not None:
            server.should_exit = True
            self._thread.join(timeout=5)
        sock = getattr(self, "_sock", None)
        if sock is not None:
            sock.close()
