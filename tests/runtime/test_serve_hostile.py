"""Issue 22: the web view under hostile use, over raw sockets to a live server on 127.0.0.1:
DNS rebinding (Host), other sites' pages (Origin), odd Last-Event-IDs, security headers on every
answer, no redirect that copies ?token=, half-open connections (header timeout, connection cap,
the frame loop's latency), and bad requests that must not flood stderr."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette", reason="the [serve] extra is not installed")
pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")

from drowsy.runtime import serve_guard as serve  # noqa: E402
from drowsy.runtime.serve import ServeSink  # noqa: E402
from drowsy.types import Drowsiness, Event, Frame, FrameResult  # noqa: E402

TOKEN = "t0ken-for-tests-only"
SAFE = {"x-frame-options": "DENY", "content-security-policy": "frame-ancestors 'none'",
        "x-content-type-options": "nosniff", "cache-control": "no-store"}


def result(i: int) -> FrameResult:
    state = Drowsiness(closed=False, perclos=0.1, closed_for_s=0.0, alert=False, reason=None)
    return FrameResult(Frame(np.full((60, 80, 3), 90, np.uint8), i, i / 25), None, None, None, state, {"total": 1.0})


@pytest.fixture()
def lines():
    return []


@pytest.fixture()
def sink(lines):
    s = ServeSink("127.0.0.1", 0, warn=lines.append, say=lines.append)
    s.on_frame(result(0))
    s.on_event(Event(0.0, "blink", {"duration_s": 0.2}))
    yield s
    s.close()


def ask(port: int, head: bytes, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """Send a raw request head; (status, headers, what followed the head) from the answer's start."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        top, _, rest = data.partition(b"\r\n\r\n")
        status_line, *header_lines = top.decode("latin-1").split("\r\n")
        headers = {}
        for h in header_lines:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        while len(rest) < int(headers.get("content-length", 0)):
            chunk = c.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(status_line.split()[1]), headers, rest


def get(port: int, path: str, host: str | None = None, extra: str = "", method: str = "GET"):
    host = f"127.0.0.1:{port}" if host is None else host
    return ask(port, f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode("latin-1"))


@pytest.mark.parametrize("path", ["/", "/status", "/events", "/video.mjpg"])
def test_dns_rebinding_gets_no_answer_from_a_loopback_view(sink, path):
    status, headers, body = get(sink.port, path, host="evil.example")
    assert status == 421 and b"DNS rebinding" in body
    assert all(headers.get(k) == v for k, v in SAFE.items()), headers


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "LOCALHOST", "127.0.0.1"])
def test_loopback_names_are_answered(sink, host):
    assert get(sink.port, "/status", host=host.format(port=sink.port))[0] == 200


def test_another_sites_page_is_refused_and_the_own_page_is_not(sink):
    assert get(sink.port, "/status", extra="Origin: http://evil.example\r\n")[0] == 403
    assert get(sink.port, "/events", extra="Origin: null\r\n")[0] == 403
    assert get(sink.port, "/status", extra=f"Origin: http://127.0.0.1:{sink.port}\r\n")[0] == 200


@pytest.mark.parametrize("last_id", ["9" * 5000, "²", "¹³", "-1", " 3 ", "0x10", "١٢".encode().decode("latin-1")])
def test_odd_last_event_ids_start_the_stream_from_the_beginning(sink, lines, last_id):
    status, headers, first = get(sink.port, "/events", extra=f"Last-Event-ID: {last_id}\r\n")
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert not [m for m in lines if "Exception" in m or "Traceback" in m], lines


@pytest.mark.parametrize("method, path, code", [("GET", "/nope", 404), ("POST", "/status", 405),
                                                ("GET", "/", 200), ("GET", "/status", 200)])
def test_every_answer_carries_the_security_headers(sink, method, path, code):
    status, headers, _ = get(sink.port, path, method=method)
    assert status == code
    assert all(headers.get(k) == v for k, v in SAFE.items()), headers
    assert "server" not in headers  # no "uvicorn" advertised


def test_a_malformed_request_gets_a_400_with_the_headers_and_one_warning(sink, lines):
    for _ in range(30):
        status, headers, _ = ask(sink.port, b"NOT HTTP AT ALL\r\n\r\n")
        assert status == 400 and all(headers.get(k) == v for k, v in SAFE.items())
    assert len([m for m in lines if "Invalid HTTP request" in m]) == 1, lines


def test_no_redirect_copies_the_token_into_a_location(lines):
    s = ServeSink("127.0.0.1", 0, token=TOKEN, warn=lines.append, say=lines.append)
    try:
        status, headers, _ = get(s.port, f"/status/?token={TOKEN}")
        assert status == 404 and "location" not in headers
        assert get(s.port, f"/status?token={TOKEN}")[0] == 200
    finally:
        s.close()


def _frame_loop(sink, stop: threading.Event, lateness: list[float]) -> None:
    """A stand-in for the frame loop at 25 FPS: a few ms of numpy work per frame, then the hub;
    records how late each frame finishes against its schedule."""
    rng = np.random.default_rng(0)
    t0, i = time.monotonic(), 0
    while not stop.is_set():
        due = t0 + i / 25
        np.sort(rng.random(50_000))
        sink.on_frame(result(i))
        lateness.append(time.monotonic() - due)
        i += 1
        time.sleep(max(0.0, t0 + i / 25 - time.monotonic()))


def test_a_half_sent_second_request_on_a_kept_alive_connection_is_dropped(sink, monkeypatch):
    # One full request, then at once the start of a second head and nothing more: the second head
    # must be complete within the header timeout too, or one client could hold a slot forever.
    monkeypatch.setattr(serve, "HEADER_TIMEOUT_S", 1.0)
    with socket.create_connection(("127.0.0.1", sink.port), timeout=5) as c:
        c.sendall(f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{sink.port}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += c.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")))
        while len(body) < length:
            body += c.recv(65536)
        assert head.startswith(b"HTTP/1.1 200")
        c.sendall(b"GET /status HTTP/1.1\r\n")
        start = time.monotonic()
        c.settimeout(4 * serve.HEADER_TIMEOUT_S + 2)
        try:
            closed = c.recv(1024) == b""
        except socket.timeout:
            closed = False
        except OSError:  # reset by the server
            closed = True
    assert closed and time.monotonic() - start < 4 * serve.HEADER_TIMEOUT_S, "a half-sent second head was held"


def test_half_open_connections_are_capped_and_dropped_after_the_header_timeout(sink, lines):
    stop, lateness = threading.Event(), []
    loop = threading.Thread(target=_frame_loop, args=(sink, stop, lateness), daemon=True)
    loop.start()
    n = serve.MAX_CONNECTIONS + 100
    socks = []
    try:
        start = time.monotonic()
        for _ in range(n):
            c = socket.socket()
            c.settimeout(10)
            try:
                c.connect(("127.0.0.1", sink.port))
                c.sendall(b"GET / HTTP/1.1\r\n")
            except OSError:
                c.close()  # refused by a full backlog: the cap at work
                continue
            socks.append(c)
        closed = []

        def all_closed():
            for c in socks:
                if c in closed:
                    continue
                c.setblocking(False)
                try:
                    if c.recv(1024) == b"":
                        closed.append(c)
                except BlockingIOError:
                    pass
                except OSError:  # reset by the server
                    closed.append(c)
            return len(closed) == len(socks)

        deadline = start + 2 * serve.HEADER_TIMEOUT_S + 10  # those beyond the cap wait, then time out
        while not all_closed() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(closed) == len(socks), f"{len(socks) - len(closed)} of {len(socks)} half-open connections held"
        assert get(sink.port, "/status")[0] == 200  # the view answers again once they are gone
    finally:
        stop.set()
        loop.join(5)
        for c in socks:
            c.close()
    # Generous: the suite runs on a 2-core CI box; without the guard a frame came 2 s late.
    assert max(lateness) < 1.5, f"a frame came {max(lateness):.2f} s late"
    assert len([m for m in lines if "web view" in m]) <= 5, lines


# -- property: whatever the request head, a well-formed answer, never a 500 -----------------------

TOKENS = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=':()<>@,;\\"/[]?={} '),
                 min_size=1, max_size=12)
VALUES = st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\r\n"), max_size=60),
                   st.sampled_from(["9" * 5000, "²", "evil.example", "http://evil.example", "null", "[::1]"]))
NAMES = st.one_of(TOKENS, st.sampled_from(["Host", "Origin", "Last-Event-ID", "Authorization", "X-Drowsy-Token",
                                           "Content-Length", "Transfer-Encoding", "Connection", "Upgrade"]))


@st.composite
def heads(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:  # sometimes plain garbage
        return draw(st.binary(max_size=200)) + b"\r\n\r\n"
    method = draw(st.one_of(st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE"]), TOKENS))
    path = draw(st.one_of(st.sampled_from(["/", "/status", "/status/", "/events", "/video.mjpg", "/nope", "//x",
                                           "/status?token=x", "*", "http://evil.example/status"]),
                          st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40).map(lambda p: "/" + p)))
    headers = draw(st.lists(st.tuples(NAMES, VALUES), max_size=6))
    if draw(st.booleans()):
        headers.append(("Host", draw(st.sampled_from(["127.0.0.1", "localhost:1", "evil.example", ""]))))
    text = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "Connection: close\r\n\r\n"
    return text.encode("latin-1")


@pytest.fixture(scope="module")
def shared_sink():
    said = []
    s = ServeSink("127.0.0.1", 0, warn=said.append, say=said.append)
    s.on_frame(result(0))
    yield s, said
    s.close()


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(head=heads())
def test_any_request_head_gets_a_well_formed_answer_never_a_500(shared_sink, head):
    s, said = shared_sink
    status, headers, _ = ask(s.port, head)
    assert status in (200, 400, 401, 403, 404, 405, 421), (status, head[:200])
    assert all(headers.get(k) == v for k, v in SAFE.items()), (status, headers)
    assert not [m for m in said if "Exception" in m or "Traceback" in m or "error" in m.lower()], said
