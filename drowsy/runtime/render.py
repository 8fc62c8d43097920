"""Overlay and window: draw(image, result) → a new image; Window shows it (or stays headless).

The overlay shows each eye's crop square and score (red = closed, green = open, grey = not
assessable), a PERCLOS gauge with the alert mark, the state, and the frame rate. The window
needs a display: without one (no DISPLAY on Linux, or OpenCV built without a GUI) the run
goes on headless after one warning line, instead of aborting inside Qt.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Callable

import numpy as np

from ..types import FrameResult

RED, GREEN, GREY, WHITE, BLACK, AMBER = (40, 40, 230), (60, 200, 60), (150, 150, 150), (255, 255, 255), (0, 0, 0), (0, 170, 255)


def _text(img, s: str, org, scale: float, color, thick: int = 1) -> None:
    import cv2

    # A dark box behind the text keeps it readable on any background. (An outline drawn with a
    # thicker stroke does not work: OpenCV 5 widens the glyphs with the thickness.)
    (w, h), base = cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = org
    cv2.rectangle(img, (x - 2, y - h - 2), (x + w + 2, y + base), BLACK, -1)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


def state_label(result: FrameResult) -> str:
    st = result.state
    if st.alert:
        return f"ALERT{' (' + st.level + ')' if st.level else ''}: {st.reason or 'drowsy'}"
    att = st.attention
    if att is not None and att.on_road is False:  # no alert yet: a glance, or not long enough
        return f"off the road: {att.why}"
    if st.closed is None:
        return f"not assessable{': ' + st.reason if st.reason else ''}"
    return f"closed {st.closed_for_s:.1f} s" if st.closed else "open"


def draw(image: np.ndarray, result: FrameResult, fps: float | None = None, threshold: float = 0.5,
         perclos_alert: float | None = None, profile: str | None = None) -> np.ndarray:
    """The frame with the overlay, as a new BGR uint8 image (the input is not changed).

    profile: the name of the driver profile in use, shown bottom left (None: no profile)."""
    import cv2

    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = out.shape[:2]
    scale = max(0.35, min(w, 2 * h) / 900)
    thick = 1 if scale < 0.8 else 2
    st = result.state
    if result.crops is not None:
        for e in range(2):
            p = None if result.scores is None else float(result.scores.p_closed[e])
            color = GREY if st.closed is None or p is None else (RED if p >= threshold else GREEN)
            pts = np.round(result.crops.corners[e]).astype(np.int32)
            cv2.polylines(out, [pts], True, color, thick, cv2.LINE_AA)
            if p is not None:
                x, y = int(pts[:, 0].min()), int(pts[:, 1].min()) - 4
                _text(out, f"{p:.2f}", (x, max(y, 12)), scale * 0.8, color, thick)
    # PERCLOS gauge: top left, full width = 100 %.
    gw, gh, x0, y0 = int(w * 0.3), max(6, int(10 * scale)), 8, 8
    cv2.rectangle(out, (x0, y0), (x0 + gw, y0 + gh), WHITE, 1)
    if st.perclos is not None:
        fill = int(round(gw * min(1.0, max(0.0, st.perclos))))
        color = RED if st.alert and st.reason == "perclos" else AMBER
        cv2.rectangle(out, (x0, y0), (x0 + fill, y0 + gh), color, -1)
    if perclos_alert is not None:
        xm = x0 + int(round(gw * perclos_alert))
        cv2.line(out, (xm, y0 - 3), (xm, y0 + gh + 3), RED, 1)
    pc = "--" if st.perclos is None else f"{100 * st.perclos:.0f}%"
    line_h = int(30 * scale) + 6
    _text(out, f"PERCLOS {pc}", (x0, y0 + gh + line_h), scale * 0.8, WHITE, thick)
    label = state_label(result)
    color = RED if st.alert else (GREY if st.closed is None else (AMBER if st.closed else GREEN))
    _text(out, label, (x0, y0 + gh + 2 * line_h), scale * (1.1 if st.alert else 0.8), color, thick)
    if fps is not None:
        s = f"{fps:.0f} FPS"
        (tw, _), _ = cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, thick)
        _text(out, s, (w - tw - 8, y0 + line_h), scale * 0.8, WHITE, thick)
    if profile is not None:
        _text(out, f"profile: {profile}", (x0, h - 8), scale * 0.7, WHITE, thick)
    if st.alert:
        cv2.rectangle(out, (0, 0), (w - 1, h - 1), RED, max(3, int(6 * scale)))
    return out


def _x11_reachable(display: str) -> bool:
    """Whether an X server answers at DISPLAY (":0", "localhost:10.0"). Qt aborts the whole
    process when it cannot connect, so this is checked before the first window opens."""
    host, _, rest = display.rpartition(":")
    try:
        number = int(rest.split(".")[0])
    except ValueError:
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        if not os.path.exists(path):
            return False
        family, address = socket.AF_UNIX, path
    else:
        family, address = socket.AF_INET, (host, 6000 + number)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(address)
        return True
    except OSError:
        return False


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one probably can."""
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        display = os.environ.get("DISPLAY")
        if not display:
            return "no display (DISPLAY is not set)"
        if not _x11_reachable(display):
            return f"no display (cannot connect to DISPLAY={display})"
    return None


class Window:
    """One OpenCV window; `active` is False when headless (asked for, or no display)."""

    def __init__(self, title: str = "drowsy", headless: bool = False,
                 warn: Callable[[str], None] | None = None):
        self.title = title
        self.active = False
        if headless:
            return
        why = display_problem()
        if why is None:
            try:
                import cv2

                cv2.namedWindow(title, cv2.WINDOW_NORMAL)
                self.active = True
            except Exception as e:  # cv2.error: OpenCV built without a GUI backend
                why = f"cannot open a window ({str(e).strip().splitlines()[-1][:80]})"
        if why is not None and warn is not None:
            warn(f"{why}; running headless")

    def show(self, image: np.ndarray) -> bool:
        """Show one frame; False when the user pressed q or Esc, or closed the window."""
        if not self.active:
            return True
        import cv2

        cv2.imshow(self.title, image)
        return self.poll()

    def poll(self) -> bool:
        """Keep the window responsive while no frame comes (a camera reconnecting)."""
        if not self.active:
            return True
        import cv2

        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except Exception:  # the window is already gone
            return False

    def close(self) -> None:
        if self.active:
            import cv2

            self.active = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)  # lets the GUI thread actually close it
            except Exception:
                pass
