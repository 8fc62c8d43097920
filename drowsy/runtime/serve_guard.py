"""The web view against hostile clients: limits uvicorn does not have (docs/security.md).

- Acceptor: takes connections off the listening socket while fewer than MAX_CONNECTIONS are
  open; at the cap it stops reading the socket, so further clients wait in the kernel's backlog
  (no file descriptor, no Python work here) until one closes. Accepting and then closing them
  instead would let a connection flood keep this process busy, and its threads share the
  frame loop's interpreter lock: frames would come late.
- guarded_h11: uvicorn's h11 protocol with a header-read timeout. uvicorn's keep-alive timer runs
  only between requests, so a client that sends `GET / HTTP/1.1` and nothing more would hold its
  connection forever; here its request head must be complete within HEADER_TIMEOUT_S. Malformed
  requests get uvicorn's 400 with the security headers every answer carries.
- FirstLineHandler: uvicorn's log lines as one warning each, each kind at most once per
  LOG_EVERY_S with a count of the rest, so bad requests cannot flood stderr.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

# Limits (our choices; scripts/serve_load.py measures the frame latency under them):
HEADER_TIMEOUT_S = 5.0  # a request head must be complete this long after the connection (or its first byte)
KEEPALIVE_S = 5  # an idle keep-alive connection is closed after this (uvicorn's timeout_keep_alive)
MAX_CONNECTIONS = 200  # open at once: viewers, streams, half-open ones; more wait in the backlog
MAX_HEAD_BYTES = 16 * 1024  # a request head larger than this is a 400 (h11's incomplete-event limit)
LOG_EVERY_S = 10.0  # one warning line per kind of server message in this time
RETRY_ACCEPT_S = 1.0  # after accept() fails (out of file descriptors), try again this much later


class FirstLineHandler(logging.Handler):
    """uvicorn's own messages as one warning line each: no tracebacks, no request lines, and each
    message at most once per LOG_EVERY_S (with a count of those held back)."""

    def __init__(self, warn: Callable[[str], None]):
        super().__init__(logging.WARNING)
        self._warn = warn
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = (record.getMessage().strip().splitlines() or ["?"])[0]
        except Exception:
            msg = record.msg if isinstance(record.msg, str) else "?"
        now = time.monotonic()
        if now - self._last.get(msg, -LOG_EVERY_S) < LOG_EVERY_S:
            self._held[msg] = self._held.get(msg, 0) + 1
            return
        held = self._held.pop(msg, 0)
        self._last[msg] = now
        self._warn(f"web view: {msg}" + (f" ({held} more like it in the last {LOG_EVERY_S:g} s)" if held else ""))


class Acceptor:
    """The accept loop of the web view, on the server's event loop (see the module docstring)."""

    def __init__(self, sock):
        self.sock, self.open, self.pending = sock, 0, 0
        self._loop = self._factory = self._server = None
        self._reading = self._closed = False

    async def serve(self, server) -> None:
        """Run uvicorn's server without sockets of its own, feeding it the connections accepted here."""
        import asyncio

        self._loop, self._server = asyncio.get_running_loop(), server
        serving = asyncio.ensure_future(server.serve(sockets=[]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            cfg = server.config
            self._factory = lambda: cfg.http_protocol_class(config=cfg, server_state=server.server_state,
                                                            app_state=server.lifespan.state)
            self._resume()
        try:
            await serving
        finally:
            self._closed = True
            self._pause()

    def _resume(self) -> None:
        if not self._reading and not self._closed:
            self._loop.add_reader(self.sock.fileno(), self._accept)
            self._reading = True

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.sock.fileno())
            self._reading = False

    def _accept(self) -> None:
        while True:
            if self.open + self.pending >= MAX_CONNECTIONS or self._server.should_exit:
                self._pause()  # resumed by closed()
                return
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EMFILE, ENFILE, ENOBUFS ...: wait instead of spinning
                self._pause()
                self._loop.call_later(RETRY_ACCEPT_S, self._resume)
                return
            conn.setblocking(False)
            self.pending += 1
            self._loop.create_task(self._start(conn))

    async def _start(self, conn) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
            self.open += 1
        except OSError:
            conn.close()
        finally:
            self.pending -= 1

    def closed(self) -> None:
        """A connection ended: room for the next one waiting in the backlog."""
        self.open -= 1
        if self._loop is not None:
            self._resume()


def guarded_h11(acceptor: Acceptor):
    """uvicorn's h11 protocol with the header timeout and the Acceptor's count (see the docstring)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from .serve_app import SECURITY_HEADERS

    class GuardedH11(H11Protocol):
        _head_timer = None
        _armed_for = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._head_late, self.scope)
            self._armed_for = self.scope  # the request before the one whose head is awaited (None at first)

        def _head_late(self, scope_then) -> None:
            self._head_timer = None
            # No request head completed since the timer was set: drop the connection.
            if self.scope is scope_then and self.conn.their_state is h11.IDLE:
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            # The first bytes of a later request on a kept-alive connection: its head gets its own
            # HEADER_TIMEOUT_S, also when the timer of the connection's start is still pending (that
            # one, seeing the first request done, would let a half-sent second head stay forever).
            if self.conn.their_state is h11.IDLE and (self._head_timer is None or self._armed_for is not self.scope):
                self._arm()
            super().data_received(data)

        def connection_lost(self, exc) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)
            acceptor.closed()

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to a malformed request, with the headers every answer carries."""
            head = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"), *SECURITY_HEADERS]
            for event in (h11.Response(status_code=400, headers=head, reason=b"Bad Request"),
                          h11.Data(data=msg.encode("ascii")), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
            self.transport.close()

    return GuardedH11
