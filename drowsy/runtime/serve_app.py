"""The routes of the web view (Starlette; imported only when --serve is used).

  GET /            the page (serve_page.py; no external assets, works offline)
  GET /status      the latest frame result as JSON
  GET /events      Server-Sent Events: `status` (at most STATUS_HZ a second) and `event` (each
                   event once, with its sequence number as the SSE id, so a browser that
                   reconnects resumes after the last one it saw)
  GET /video.mjpg  the overlay as MJPEG, at most `fps` frames a second

Every generator polls the Hub instead of being woken by the frame loop: the frame loop then
never touches this event loop, and a client that reads slowly just skips to the latest frame.
A client that disconnects ends its generator (Starlette cancels it); that is normal.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from urllib.parse import parse_qs

STATUS_HZ = 10
TICK_S = 0.05  # how often streams look for news
KEEPALIVE_S = 15.0  # an SSE comment so proxies and phones keep an idle stream open
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
# On every answer, 404/405/401/421 included: never cached, never sniffed, never framed by another page.
SECURITY_HEADERS = [(k.lower().encode(), v.encode()) for k, v in {
    **NO_STORE, "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}.items()]
MAX_EVENT_ID_DIGITS = 18  # a Last-Event-ID beyond this (or not ASCII digits) starts from the beginning


def _host_name(value: str) -> str:
    """The host of a Host header or an Origin's netloc: 'localhost:8080' -> 'localhost', '[::1]:80' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rpartition(":")[0] if value.count(":") == 1 else value


def _origin_netloc(origin: str) -> str | None:
    scheme, sep, rest = origin.strip().lower().partition("://")
    return rest.split("/")[0] if sep and scheme in ("http", "https") else None


async def _plain(scope, receive, send, status: int, text: str, extra: dict | None = None) -> None:
    from starlette.responses import PlainTextResponse

    await PlainTextResponse(text, status_code=status, headers={**NO_STORE, **(extra or {})})(scope, receive, send)


class Guard:
    """ASGI middleware in front of the routes, in this order:
    - Host allow-list (`hosts`, on loopback binds): a page on evil.example whose name is made to
      resolve to 127.0.0.1 (DNS rebinding) sends `Host: evil.example` and gets 421, not the video;
    - Origin: a browser request from another page's origin (its Origin header differs from the
      Host it asks) gets 403 on every route;
    - the token (with one): Authorization: Bearer, X-Drowsy-Token or ?token=, compared in
      constant time; 401 otherwise;
    - SECURITY_HEADERS added to every answer, the routes' own and Starlette's 404/405."""

    def __init__(self, app, token: str | None, hosts: frozenset[str] | None = None):
        self.app, self.token, self.hosts = app, None if token is None else token.encode(), hosts

    def _token_ok(self, headers: dict, scope) -> bool:
        given = [headers.get(b"x-drowsy-token", b"")]
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            given.append(auth[7:].strip())
        given += [v.encode() for v in parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])]
        return any(hmac.compare_digest(g, self.token) for g in given if g)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                names = {k for k, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + SECURITY_HEADERS}
            await send(message)

        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if self.hosts is not None and _host_name(host) not in self.hosts:
            return await _plain(scope, receive, send_secured, 421, "421: this view answers only to its own "
                                "address (localhost); another host name here means DNS rebinding\n")
        origin = headers.get(b"origin")
        if origin is not None and _origin_netloc(origin.decode("latin-1")) != host.strip().lower():
            return await _plain(scope, receive, send_secured, 403, "403: requests from another site's page are "
                                "refused\n")
        if self.token is not None and not self._token_ok(headers, scope):
            return await _plain(scope, receive, send_secured, 401, "401: this view needs its token (?token=... "
                                "or an Authorization: Bearer header)\n", {"WWW-Authenticate": "Bearer"})
        await self.app(scope, receive, send_secured)


class Jpegs:
    """One overlay JPEG per new frame, shared by every viewer, encoded off the event loop."""

    def __init__(self, hub, threshold: float, perclos_alert: float | None):
        self.hub, self.threshold, self.perclos_alert = hub, threshold, perclos_alert
        self.seq, self.data = 0, b""
        self._lock = asyncio.Lock()

    def _encode(self, result) -> bytes:
        import cv2

        from .render import draw

        image = draw(result.frame.image, result, None, self.threshold, self.perclos_alert)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
        return buf.tobytes() if ok else b""

    async def after(self, seq: int) -> tuple[int, bytes]:
        """The newest JPEG once a frame newer than `seq` exists; (0, b"") when the hub closes."""
        while not self.hub.closed:
            latest, result = self.hub.latest()
            if latest > seq and result is not None:
                async with self._lock:
                    if self.seq < latest:
                        self.data = await asyncio.to_thread(self._encode, result)
                        self.seq = latest
                    return self.seq, self.data
            await asyncio.sleep(TICK_S)
        return 0, b""


def _sse(kind: str, data: dict, seq: int | None = None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, allow_nan=False)}\n\n"


def build_app(hub, token: str | None, threshold: float = 0.5, perclos_alert: float | None = None,
              fps: float = 10.0, hosts: frozenset[str] | None = None):
    """The routes behind Guard; `hosts`: the Host names allowed (None: any, with a token)."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
    from starlette.routing import Route

    from .serve_page import page

    jpegs = Jpegs(hub, threshold, perclos_alert)
    html = page(perclos_alert)

    async def index(request):
        return HTMLResponse(html, headers=NO_STORE)

    async def status(request):
        return JSONResponse(status_json(hub.latest()[1]), headers=NO_STORE)

    shared_status = [-1, ""]  # (result seq, its SSE text): built once per frame for every client

    def status_sse(seq: int, result) -> str:
        if shared_status[0] != seq:
            shared_status[:] = [seq, _sse("status", status_json(result))]
        return shared_status[1]

    async def events(request):
        last_id = request.headers.get("last-event-id", "").strip()
        # ASCII digits only ("²".isdigit() is True, int() refuses it) and short (int() refuses > 4300 digits)
        ok = last_id.isascii() and last_id.isdigit() and len(last_id) <= MAX_EVENT_ID_DIGITS
        start = int(last_id) if ok else 0

        async def stream():
            yield "retry: 2000\n\n"
            seen, status_seq, quiet = start, -1, 0.0
            while not hub.closed:
                new = hub.events_after(seen)
                out = [_sse("event", r, s) for s, r in new]
                seen = new[-1][0] if new else seen
                latest, result = hub.latest()
                if latest != status_seq:
                    status_seq = latest
                    out.append(status_sse(latest, result))
                if out:
                    quiet = 0.0
                    yield "".join(out)
                elif quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(1.0 / STATUS_HZ)
                quiet += 1.0 / STATUS_HZ

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={**NO_STORE, "X-Accel-Buffering": "no"})

    async def video(request):
        period = 1.0 / fps

        async def stream():
            seq = 0
            while True:
                seq, data = await jpegs.after(seq)
                if not data:
                    return
                yield (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                       + str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n")
                await asyncio.sleep(period)  # the rate cap; frames in between are skipped

        return StreamingResponse(stream(), media_type="multipart/x-mixed-replace; boundary=frame",
                                 headers=NO_STORE)

    routes = [Route("/", index), Route("/status", status), Route("/events", events),
              Route("/video.mjpg", video)]
    app = Starlette(routes=routes)
    # No "/status/" -> "/status" redirect: Starlette builds its Location from the client's Host
    # header and copies the query string, ?token= included.
    app.router.redirect_slashes = False
    return Guard(app, token, hosts)


def status_json(result: "FrameResult | None") -> dict:
    """`GET /status`: the latest frame result (the --out record without per-stage timings)."""
    if result is None:
        return {"t": None, "face": False, "p_closed": None, "closed": None, "perclos": None,
                "closed_for": 0.0, "alert": False, "reason": "no frame yet", "level": None}
    from .sinks import _finite

    record = result.to_json()
    record.pop("timings_ms", None)
    return _finite(record)
