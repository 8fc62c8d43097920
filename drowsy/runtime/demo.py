"""`drowsy demo`: the real `drowsy run` on a short clip that ships in the wheel — no camera needed.

The clip (assets/demo.mp4, assets/DEMO.md) is 5.5 s of a GRID corpus speaker (CC BY 4.0): two
real blinks, and one labelled closed-eye frame held for 2.5 s — a synthetic hold, said in the
first line printed — so that the microsleep alert, the thing a user wants to see, shows.

It is `drowsy run` itself (run.run: the same settings, Pipeline.from_config, frame loop, logs,
window, alarm and web view), with the clip as the source and a sink that tells the events in
the terminal in words. What a user expects of each way to watch it:
- a window (a display exists): the clip in real time, looping until q, Esc or Ctrl-C;
- `--serve HOST:PORT`: the web view, paced in real time and looping until Ctrl-C, so a page
  opened late still sees the next alert (time runs on across loops: after 30 s of assessable
  time PERCLOS appears, about 0.5 — a PERCLOS alert — as half of each loop is closed eyes);
- `--headless` alone (or no display): one pass as fast as it decodes, then the summary.
`--loop/--no-loop` overrides. Only the landmarker is needed, found or downloaded once as by
`drowsy run` (paths.resolve_landmarker).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from ..errors import DrowsyError
from ..types import Frame
from .capture import Source, VideoSource

PROG = "drowsy demo"
CLIP = "demo.mp4"
ABOUT = ("GRID corpus speaker 2, clip id2_vcd_swwp2s (Cooke, Barker, Cunningham, Shao, JASA 2006; CC BY 4.0); "
         "from 1.8 s one closed-eye frame is held for 2.5 s (a synthetic hold, not a real microsleep) "
         "to show the microsleep alert")
DROPS = {"head_drop": "head dropped", "slump": "face left the picture"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..settings_io import add_section_arguments

    p.add_argument("--config", metavar="FILE.toml", help="settings file (its [source] is ignored); flags override it")
    p.add_argument("--loop", action=argparse.BooleanOptionalAction, default=None,
                   help="play the clip again and again until Ctrl-C (default: with a window or --serve)")
    add_section_arguments(p, ("model", "temporal", "output", "serve"))


def demo_clip():
    from ..paths import assets_dir

    path = assets_dir() / CLIP
    if not path.is_file():
        raise DrowsyError(f"the demo clip is missing: {path} (a checkout makes it with "
                          "`python scripts/make_demo_clip.py`)")
    return path


class LoopingSource(Source):
    """A video file played again and again; t and index run on, so the temporal logic sees one
    continuous session (a restart would look like time going backwards)."""

    def __init__(self, path, realtime: bool):
        self.path, self._realtime = path, realtime
        self._src = VideoSource(path, realtime=realtime)
        self.fps, self.size = self._src.fps, self._src.size
        self._t_offset, self._i_offset = 0.0, 0
        self._last: Frame | None = None
        self.loops = 0

    def read(self, timeout_s: float | None = None) -> Frame | None:
        frame = self._src.read(timeout_s)
        if frame is None and self._src.ended and not self.ended and self._last is not None:
            self._src.close()
            self._src = VideoSource(self.path, realtime=self._realtime)
            self._t_offset = self._last.t + 1.0 / (self.fps or 25.0)
            self._i_offset = self._last.index + 1
            self.loops += 1
            frame = self._src.read(timeout_s)
            if frame is not None:
                self._t_offset -= frame.t
        if frame is None:
            return None
        self._last = replace(frame, t=frame.t + self._t_offset, index=frame.index + self._i_offset)
        return self._last

    @property
    def failed(self) -> int:
        return self._src.failed

    def close(self) -> None:
        self.ended = True
        self._src.close()


def _s(x) -> str:
    return f"{x:.2f} s" if isinstance(x, (int, float)) else "?"


def _alert_detail(d: dict) -> str:
    """What raised an alert, from its event's data (runtime/alerts.py, temporal.py, attention.py)."""
    reason = d.get("reason")
    if reason == "perclos" and d.get("perclos") is not None:
        return f", PERCLOS {d['perclos']:.2f}"
    if reason == "distraction":
        away = f" ({d['why']})" if d.get("why") else ""
        if d.get("kind") == "vats":
            return f", {_s(d.get('off_road_s'))} off the road in glances within --vats-window{away}"
        return f", off the road {_s(d.get('off_road_s'))}{away}"
    if d.get("cause") == "no_return":
        return f", not back on the road after the distraction warning (off the road {_s(d.get('off_road_s'))})"
    if d.get("cause") == "off_road":
        return f", off the road {_s(d.get('off_road_s'))}"
    return f", eyes closed {_s(d['closed_for'])}" if d.get("closed_for") is not None else ""


def _describe(ev) -> str:
    """One event in words, with the alert's level as the overlay and the web view show it."""
    d = dict(ev.data)
    if ev.kind == "alert_on":
        level = f" ({d['level']})" if d.get("level") else ""
        return f"ALERT{level}: {d.get('reason', '?')}{_alert_detail(d)}"
    if ev.kind == "alert_off":
        return f"alert off ({d.get('reason', '?')}, on for {d.get('duration_s', 0):.1f} s)"
    if ev.kind in ("blink", "microsleep") and "duration_s" in d:
        unseen = ", part of it unseen (head dropped or out of view)" if d.get("unseen") else ""
        return f"{ev.kind}: eyes closed {d['duration_s']:.2f} s{unseen}"
    if ev.kind in DROPS:
        return f"{DROPS[ev.kind]} after the eyes closed for {_s(d.get('closed_for'))}: the closure goes on"
    if ev.kind == "not_visible":
        return f"eyes not assessable for {_s(d.get('duration_s'))} ({d.get('reason', '?')})"
    if ev.kind == "visible_again":
        return f"eyes assessable again after {_s(d.get('duration_s'))}"
    if ev.kind == "looking_down":
        return "looking down with open eyes (not a closure)"
    return ev.kind + "".join(f", {k} {v}" for k, v in d.items())


class Narrator:
    """A sink of run.run: each event as one plain line on standard output, as it happens."""

    def on_frame(self, result) -> None:
        pass

    def on_event(self, ev) -> None:
        print(f"{PROG}: {ev.t:6.2f} s  {_describe(ev)}", flush=True)

    def close(self) -> None:
        pass


def main(args: argparse.Namespace) -> int:
    from ..settings import SourceConfig
    from ..settings_io import resolve
    from .render import display_problem
    from .run import _Stop, run
    from .sinks import check_run_outputs

    cfg = resolve(args)
    clip = demo_clip()
    asked_headless = cfg.output.headless
    headless = asked_headless or display_problem() is not None
    watched = not headless or cfg.serve.address is not None  # someone looks: real time
    loop = watched if args.loop is None else args.loop
    output = replace(cfg.output, headless=headless,
                     alarm=cfg.output.alarm if args.alarm is not None or not headless else False)
    cfg = replace(cfg, source=SourceConfig(video=str(clip), realtime=watched), output=output)
    check_run_outputs(cfg, getattr(args, "config", None))
    print(f"{PROG}: {ABOUT}", flush=True)
    if loop:
        print(f"{PROG}: looping until {'q, Esc or ' if not headless else ''}Ctrl-C", flush=True)
    elif headless and not asked_headless:
        print(f"{PROG}: {display_problem()}: events and the summary here", flush=True)
    opener = (lambda source_cfg, stop: LoopingSource(source_cfg.video, source_cfg.realtime)) if loop else None
    with _Stop() as stop:
        return run(cfg, stop.flag, opener=opener, sinks=[Narrator()], prog=PROG)
