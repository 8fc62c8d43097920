"""--serve: the web view's endpoints over real HTTP on 127.0.0.1 (status JSON, SSE events, MJPEG),
the token gate, slow and vanishing clients, and the one-line failures."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [serve] extra is not installed")
pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")

from drowsy.errors import DrowsyError  # noqa: E402
from drowsy.runtime.serve import ServeSink, needs_token, parse_hostport  # noqa: E402
from drowsy.types import Drowsiness, Event, Frame, FrameResult  # noqa: E402

TOKEN = "t0ken-for-tests-only"


def result(i: int, closed: bool = False, size=(120, 160)) -> FrameResult:
    state = Drowsiness(closed=closed, perclos=0.2, closed_for_s=0.4 if closed else 0.0, alert=closed,
                       reason="microsleep" if closed else None)
    image = np.full((*size, 3), 90, np.uint8)
    return FrameResult(Frame(image, i, i / 25), None, None, None, state, {"total": 1.0})


@pytest.fixture()
def lines():
    return []


@pytest.fixture()
def sink(lines):
    s = ServeSink("127.0.0.1", 0, perclos_alert=0.15, warn=lines.append, say=lines.append)
    yield s
    s.close()


def get(sink, path: str, headers: dict | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type", ""), body


def open_stream(sink, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    assert r.status == 200
    return r


def sse_messages(response, n: int) -> list[tuple[str, dict]]:
    """The next n SSE messages as (event name, data)."""
    out, kind = [], None
    while len(out) < n:
        line = response.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            out.append((kind, json.loads(line[6:])))
    return out


# -- flags and policy ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("127.0.0.1:8080", ("127.0.0.1", 8080)), ("8080", ("127.0.0.1", 8080)),
                                            ("[::1]:0", ("::1", 0)), ("0.0.0.0:80", ("0.0.0.0", 80))])
def test_serve_addresses(text, expected):
    assert parse_hostport(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:http", "127.0.0.1:70000", ":80"])
def test_bad_serve_addresses_say_the_form(text):
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_hostport(text)


@pytest.mark.parametrize("host, needed", [("127.0.0.1", False), ("127.3.4.5", False), ("::1", False),
                                          ("localhost", False), ("0.0.0.0", True), ("::", True),
                                          ("192.168.1.20", True), ("box.lan", True)])
def test_a_token_is_needed_beyond_loopback(host, needed):
    assert needs_token(host) is needed


# -- endpoints -----------------------------------------------------------------------------

def test_status_is_the_latest_frame_result(sink, lines):
    code, ctype, body = get(sink, "/status")
    assert code == 200 and ctype.startswith("application/json") and json.loads(body)["t"] is None
    for i in range(5):
        sink.on_frame(result(i, closed=i == 4))
    status = json.loads(get(sink, "/status")[2])
    assert {"t", "face", "p_closed", "closed", "perclos", "closed_for", "alert", "reason"} <= status.keys()
    assert (status["frame"], status["closed"], status["alert"], status["reason"]) == (4, True, True, "microsleep")
    assert lines == [f"drowsy run: web view on http://127.0.0.1:{sink.port}/"]


def test_events_stream_status_and_each_event_once(sink):
    sink.on_event(Event(0.5, "face_lost"))
    stream = open_stream(sink, "/events")
    assert stream.getheader("Content-Type").startswith("text/event-stream")
    assert sse_messages(stream, 2) == [("event", {"t": 0.5, "event": "face_lost"}), ("status", json.loads(
        json.dumps({"t": None, "face": False, "p_closed": None, "closed": None, "perclos": None, "closed_for": 0.0,
                    "alert": False, "reason": "no frame yet", "level": None})))]
    sink.on_frame(result(7, closed=True))
    sink.on_event(Event(1.0, "alert_on", {"reason": "microsleep"}))
    got = sse_messages(stream, 2)
    assert ("event", {"t": 1.0, "event": "alert_on", "reason": "microsleep"}) in got
    assert any(k == "status" and d["frame"] == 7 for k, d in got)
    stream.close()  # a client leaving mid-stream is normal


def test_a_browser_that_reconnects_resumes_after_its_last_event(sink):
    for k in range(3):
        sink.on_event(Event(float(k), "blink", {"k": k}))
    stream = open_stream(sink, "/events", {"Last-Event-ID": "2"})
    assert sse_messages(stream, 1) == [("event", {"t": 2.0, "event": "blink", "k": 2})]
    stream.close()


def test_the_video_is_mjpeg_of_the_overlay(sink):
    sink.on_frame(result(1))
    stream = open_stream(sink, "/video.mjpg")
    assert stream.getheader("Content-Type") == "multipart/x-mixed-replace; boundary=frame"
    head = stream.readline() + stream.readline()
    assert head == b"--frame\r\nContent-Type: image/jpeg\r\n"
    size = int(stream.readline().split(b":")[1])
    stream.readline()
    jpeg = stream.read(size)
    import cv2

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (120, 160, 3)
    assert (image[:, :, 1] > 150).any()  # the overlay's green "open" label is drawn on the grey frame
    stream.close()


def test_the_page_is_self_contained(sink):
    code, ctype, body = get(sink, "/")
    html = body.decode()
    assert code == 200 and ctype.startswith("text/html")
    assert 'name="viewport"' in html and "EventSource" in html and "video.mjpg" in html
    assert "http://" not in html and "https://" not in html and "src=\"//" not in html  # nothing external


# -- the token -----------------------------------------------------------------------------

def test_with_a_token_every_route_needs_it_and_it_is_never_shown(lines):
    s = ServeSink("127.0.0.1", 0, token=TOKEN, warn=lines.append, say=lines.append)
    try:
        s.on_frame(result(3))
        for path in ("/", "/status", "/events", "/video.mjpg", "/nothing-here"):
            assert get(s, path)[0] == 401
            assert get(s, path + "?token=wrong")[0] == 401
        assert get(s, "/status", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
        assert get(s, "/status", {"X-Drowsy-Token": TOKEN})[0] == 200
        assert get(s, f"/?token={TOKEN}")[0] == 200
        open_stream(s, f"/events?token={TOKEN}").close()
        open_stream(s, f"/video.mjpg?token={TOKEN}").close()
    finally:
        s.close()
    assert lines == [f"drowsy run: web view on http://127.0.0.1:{s.port}/ (token required)"]


def test_beyond_loopback_a_generated_token_is_printed_once(monkeypatch, lines):
    # Tests only use loopback: pretend 127.0.0.1 were a LAN address, to see what the user sees.
    monkeypatch.setattr("drowsy.runtime.serve.needs_token", lambda host: True)
    s = ServeSink("127.0.0.1", 0, warn=lines.append, say=lines.append)
    try:
        assert get(s, "/status")[0] == 401
        assert len(lines) == 1 and "generated token" in lines[0]
        token = lines[0].split("?token=")[1].split()[0]
        assert len(token) >= 20 and get(s, f"/status?token={token}")[0] == 200
    finally:
        s.close()
    assert sum(token in line for line in lines) == 1


# -- never blocking the frame loop ---------------------------------------------------------

def test_a_stalled_client_neither_blocks_frames_nor_other_clients(sink, lines):
    # A client that asks for the video and never reads: its socket buffers fill, frames are skipped.
    slow = socket.create_connection(("127.0.0.1", sink.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(b"GET /video.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
    noise = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)  # ~200 kB JPEGs

    def feed():
        for i in range(300):  # ~2 s at up to 10 video frames a second: far more than the buffers hold
            sink.on_frame(FrameResult(Frame(noise, i, i / 25), None, None, None,
                                      Drowsiness(False, None, 0.0, False, None), {}))
            time.sleep(0.007)

    feeder = threading.Thread(target=feed)
    feeder.start()
    feeder.join(timeout=60)
    assert not feeder.is_alive(), "on_frame blocked behind a slow client"
    assert json.loads(get(sink, "/status")[2])["frame"] == 299  # another client is served the latest
    slow.close()  # and it vanishes mid-stream
    assert json.loads(get(sink, "/status")[2])["frame"] == 299
    sink.close()
    assert lines == [f"drowsy run: web view on {sink.url}"]  # a client leaving is normal: no warning


def test_close_ends_open_streams(lines):
    s = ServeSink("127.0.0.1", 0, warn=lines.append, say=lines.append)
    s.on_frame(result(0))
    streams = [open_stream(s, "/events"), open_stream(s, "/video.mjpg")]
    s.close()
    assert not s._thread.is_alive()
    for r in streams:
        r.read()  # returns: the server ended the response
    assert [m for m in lines if "warning" in m.lower() or "error" in m.lower()] == []


# -- failures: one line --------------------------------------------------------------------

def test_a_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(DrowsyError, match=rf"^cannot serve on 127.0.0.1:{port}: Address already in use$"):
            ServeSink("127.0.0.1", port, say=lambda m: None)


def test_without_the_extra_serve_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(DrowsyError, match=r"^--serve needs the serve extra: pip install 'drowsy-eyes\[serve\]'$"):
        ServeSink("127.0.0.1", 0)


def test_the_web_view_carries_every_driver_state_event_and_the_level(sink):
    from driver_scenes import NEW_EVENTS, NEW_REASONS, every_new_event

    results, events = every_new_event()
    stream = open_stream(sink, "/events")
    sse_messages(stream, 1)  # the status before any frame
    critical = next(r for r in results if r.state.level == "critical")
    sink.on_frame(critical)
    for e in events:
        sink.on_event(e)
    got = sse_messages(stream, len(events) + 1)
    kinds = [d["event"] for k, d in got if k == "event"]
    assert set(NEW_EVENTS) <= set(kinds) and len(kinds) == len(events)
    assert {d["reason"] for k, d in got if k == "event" and d["event"] == "alert_on"} >= set(NEW_REASONS)
    status = json.loads(get(sink, "/status")[2])
    assert (status["alert"], status["level"], status["reason"]) == (True, "critical", critical.state.reason)
    page = get(sink, "/")[2].decode()
    assert "s.level" in page and "s.off_road" in page  # the page shows the level and why off the road
    stream.close()
