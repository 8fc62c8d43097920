"""`drowsy report RUN.jsonl -o report.png`: a timeline of one session for people who would
rather look than read.

Input: the per-frame JSON Lines of `drowsy run --out` (FrameResult.to_json), optionally the
`--events` file. Output: one PNG (matplotlib, Agg backend) with three rows sharing the time
axis: P(closed) per eye, PERCLOS against the alert level, and a state strip (closed / open /
not assessable / no face) with blinks and microsleeps. Alerts are shaded across all rows.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DrowsyError
from .metrics import intervals

# One colour per state: closed is the one that matters, so it is the strongest.
STATES = (("closed", "#d62728"), ("open", "#2ca02c"), ("not assessable", "#bdbdbd"), ("no face", "#525252"))
ALERTS = (("microsleep", "#ff9896"), ("perclos", "#c5b0d5"), ("sleep", "#e377c2"), ("unresponsive", "#8c564b"),
          ("distraction", "#17becf"), (None, "#ffbb78"))  # None: any other reason
EYES = (("right eye", "#1f77b4"), ("left eye", "#ff7f0e"))


@dataclass(frozen=True)
class Session:
    """The per-frame columns a timeline needs; NaN where a frame has no value."""

    t: np.ndarray  # seconds
    p_closed: np.ndarray  # (n, 2)
    perclos: np.ndarray
    state: np.ndarray  # index into STATES
    alert: np.ndarray  # bool
    reason: list  # str or None per frame


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="per-frame JSON Lines written by `drowsy run --out`")
    p.add_argument("-o", "--output", help="PNG to write (default: RUN with .png)")
    p.add_argument("--events", help="events JSON Lines of the same run (`drowsy run --events`), "
                   "to mark blinks, microsleeps and camera losses")
    p.add_argument("--perclos-alert", type=float, default=None,
                   help="PERCLOS alert level to draw (default: --config's, else 0.15)")
    p.add_argument("--config", metavar="FILE.toml",
                   help="the run's settings file: its PERCLOS alert level is drawn (unless --perclos-alert)")
    p.add_argument("--title", help="title of the figure (default: the file name)")


def _read_jsonl(path: Path, what: str, allow_empty: bool = False) -> list[dict]:
    """All records; a broken line is an error naming it, except a cut-off last line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DrowsyError(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DrowsyError(f"cannot read {what} file {path}: {getattr(e, 'strerror', None) or e}") from None
    records = []
    numbered = [(i, s) for i, s in enumerate(lines, 1) if s.strip()]
    for i, line in numbered:
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            if i == numbered[-1][0] and records:  # a run killed mid-write: keep what is whole
                print(f"drowsy report: ignoring the incomplete last line {i} of {path}", file=sys.stderr)
                break
            raise DrowsyError(f"{path} line {i} is not a JSON object ({str(e).splitlines()[0]})") from None
        records.append(rec)
    if not records and not allow_empty:
        raise DrowsyError(f"{what} file {path} holds no records")
    return records


def _num(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else math.nan


def load_session(path: Path) -> Session:
    recs = _read_jsonl(path, "run")
    if "t" not in recs[0] or "face" not in recs[0]:
        raise DrowsyError(f"{path} is not a `drowsy run --out` file: line 1 has no \"t\" and \"face\" "
                          "(an --events file goes to --events)")
    t = np.array([_num(r.get("t")) for r in recs])
    if not np.all(np.isfinite(t)):
        raise DrowsyError(f"{path} line {int(np.argmax(~np.isfinite(t))) + 1} has no valid time \"t\"")
    p = np.full((len(recs), 2), np.nan)
    state = np.empty(len(recs), dtype=int)
    for i, r in enumerate(recs):
        pc = r.get("p_closed")
        if isinstance(pc, list) and len(pc) == 2:
            p[i] = [_num(v) for v in pc]
        closed = r.get("closed")
        state[i] = 3 if not r.get("face") else 0 if closed is True else 1 if closed is False else 2
    return Session(t=t, p_closed=p, perclos=np.array([_num(r.get("perclos")) for r in recs]),
                   state=state, alert=np.array([r.get("alert") is True for r in recs]),
                   reason=[r.get("reason") if isinstance(r.get("reason"), str) else None for r in recs])


def _alerting(s: Session, reason: str | None) -> np.ndarray:
    known = [r for r, _ in ALERTS if r]
    return s.alert & np.array([(r == reason) if reason else (r not in known) for r in s.reason], dtype=bool)


def _frame_ends(t: np.ndarray) -> np.ndarray:
    """Each frame stands until the next one, but never across a long gap (lost camera)."""
    dt = np.diff(t)
    typical = float(np.median(dt)) if dt.size else 0.04
    typical = typical if typical > 0 else 0.04
    ends = t + typical
    ends[:-1] = np.where((dt > 0) & (dt <= 10 * typical), t[1:], t[:-1] + typical)
    return ends


def _broken(t: np.ndarray, y: np.ndarray, ends: np.ndarray):
    """Insert NaN where a gap lies, so a line is not drawn across time without frames."""
    gaps = np.flatnonzero(ends[:-1] < t[1:] - 1e-9)
    return np.insert(t, gaps + 1, np.nan), np.insert(y, gaps + 1, np.nan, axis=0)


def plot(s: Session, out: Path, events: list[dict] | None, perclos_alert: float, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    ends = _frame_ends(s.t)
    t0, t1 = float(s.t[0]), float(ends[-1])
    fig, (ax_p, ax_c, ax_s) = plt.subplots(3, 1, sharex=True, figsize=(12, 6.2), height_ratios=[3, 2, 1.1],
                                           constrained_layout=True)
    for ax in (ax_p, ax_c, ax_s):  # alerts over every row: where to look first
        for reason, colour in ALERTS:
            for a, b in intervals(_alerting(s, reason)):
                ax.axvspan(s.t[a], ends[b], color=colour, alpha=0.45, lw=0, zorder=0)
    for e, (label, colour) in enumerate(EYES):
        tt, yy = _broken(s.t, s.p_closed[:, e], ends)
        ax_p.plot(tt, yy, color=colour, lw=1.1, label=label)
    ax_p.set_ylim(-0.03, 1.03)
    ax_p.set_ylabel("P(closed)")
    ax_p.legend(loc="upper left", fontsize=8, ncol=2, frameon=False)
    tt, yy = _broken(s.t, s.perclos, ends)
    ax_c.plot(tt, yy, color="#9467bd", lw=1.5, label="PERCLOS")
    ax_c.axhline(perclos_alert, color="#d62728", ls="--", lw=1, label=f"alert level {perclos_alert:g}")
    top = np.nanmax(s.perclos) if np.any(np.isfinite(s.perclos)) else 0.0
    ax_c.set_ylim(0, max(0.3, min(1.0, top * 1.15)))
    ax_c.set_ylabel("PERCLOS")
    if not np.any(np.isfinite(s.perclos)):
        ax_c.text(0.5, 0.75, "no PERCLOS yet (needs enough assessable time)", transform=ax_c.transAxes,
                  ha="center", va="center", color="#555555", bbox={"fc": "white", "ec": "none", "alpha": 0.8})
    ax_c.legend(loc="upper left", fontsize=8, ncol=2, frameon=False)
    for k, (label, colour) in enumerate(STATES):
        spans = [(s.t[a], ends[b] - s.t[a]) for a, b in intervals(s.state == k)]
        ax_s.broken_barh(spans, (0.45, 0.5), color=colour, lw=0)
    handles = [Patch(color=c, label=lbl) for lbl, c in STATES]
    handles += [Patch(color=c, alpha=0.45, label=f"alert: {r or 'other'}") for r, c in ALERTS if _alerting(s, r).any()]
    if events:
        handles += _draw_events(ax_s, events, (ax_p, ax_c, ax_s))
    ax_s.set_ylim(0, 1)
    ax_s.set_yticks([0.7, 0.2] if events else [0.7], ["eyes", "events"] if events else ["eyes"], fontsize=8)
    ax_s.tick_params(axis="y", length=0)
    ax_s.set_xlim(t0, t1)
    ax_s.set_xlabel("time (s)")
    ax_s.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.55), ncol=len(handles),
                fontsize=8, frameon=False)
    fig.suptitle(title + "\n" + summary(s, ends, events), fontsize=10)
    from ..outputs import replacing

    try:
        with replacing(out, "-o") as tmp:  # a failed plot leaves an older report as it was
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)


def _draw_events(ax_s, events: list[dict], axes) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    blinks = [(e["start"], e["duration_s"]) for e in events if e.get("event") == "blink" and _ok(e)]
    sleeps = [(e["start"], e["duration_s"]) for e in events if e.get("event") == "microsleep" and _ok(e)]
    ax_s.broken_barh(blinks, (0.05, 0.3), color="black", lw=0)
    ax_s.broken_barh(sleeps, (0.05, 0.3), color="#d62728", lw=0)
    lost = [e["t"] for e in events if e.get("event") == "camera_lost" and _num(e.get("t")) == _num(e.get("t"))]
    back = [e["t"] for e in events if e.get("event") == "camera_back" and _num(e.get("t")) == _num(e.get("t"))]
    for a in lost:  # a reconnect: hatched until the camera was back
        b = min([x for x in back if x >= a], default=a)
        for ax in axes:
            ax.axvspan(a, max(b, a + 1e-3), facecolor="none", edgecolor="#444444", hatch="//", lw=0)
    return [Line2D([], [], color="black", lw=4, label=f"blink ({len(blinks)})"),
            Line2D([], [], color="#d62728", lw=4, label=f"microsleep ({len(sleeps)})")] + \
        ([Patch(facecolor="none", edgecolor="#444444", hatch="//", label=f"camera lost ({len(lost)})")] if lost else [])


def _ok(e: dict) -> bool:
    return math.isfinite(_num(e.get("start"))) and math.isfinite(_num(e.get("duration_s")))


def summary(s: Session, ends: np.ndarray, events: list[dict] | None) -> str:
    dur = ends - s.t
    total = float(dur.sum())
    no_face = float(dur[s.state == 3].sum())
    if events is not None:  # alert_on events count each alert once, even when two overlap
        on = [e for e in events if e.get("event") == "alert_on"]
        reasons = [str(e.get("reason")) for e in on]
        levels = [lv for lv in ("critical", "warning", "advisory") if any(e.get("level") == lv for e in on)]
        alerts = f"{len(reasons)} alert{'s' * (len(reasons) != 1)}" + (f", up to {levels[0]}" if levels else "")
    else:  # frames only say whether an alert is on: count the stretches
        periods = intervals(s.alert)
        alerts = f"{len(periods)} alert period{'s' * (len(periods) != 1)}"
        reasons = sorted({s.reason[i] or "other" for a, b in periods for i in range(a, b + 1)})
    detail = ", ".join(f"{reasons.count(r)} {r}" if events is not None else r for r in sorted(set(reasons)))
    parts = [f"{len(s.t)} frames over {ends[-1] - s.t[0]:.1f} s", f"no face {100 * no_face / max(total, 1e-9):.0f} %",
             alerts + (f" ({detail})" if detail else "")]
    if np.any(np.isfinite(s.perclos)):
        parts.append(f"max PERCLOS {np.nanmax(s.perclos):.2f}")
    if events is not None:
        kinds = [e.get("event") for e in events]
        parts.append(f"{kinds.count('blink')} blinks, {kinds.count('microsleep')} microsleeps")
    return " · ".join(parts)


def main(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    run = Path(args.run)
    out = Path(args.output) if args.output else run.with_suffix(".png")
    alert = args.perclos_alert
    if alert is None:  # the run's own level: from its settings file, else the default
        from ..settings_io import resolve_section

        alert = resolve_section(argparse.Namespace(config=args.config), "temporal").perclos_alert
    if not 0.0 <= alert <= 1.0:
        raise UsageError(f"--perclos-alert must be in [0, 1], got {alert:g}")
    if out.suffix.lower() != ".png":
        raise UsageError(f"-o must name a .png file, got {out}")
    from ..outputs import Output, check

    check([Output("-o", out)], {"RUN": run, "--events": args.events})
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise DrowsyError("drowsy report needs matplotlib: pip install 'drowsy-eyes[report]'") from None
    session = load_session(run)
    events = _read_jsonl(Path(args.events), "events", allow_empty=True) if args.events else None
    # A file name that is not UTF-8 (surrogate escapes) cannot be drawn: shown with U+FFFD instead.
    title = args.title or run.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    plot(session, out, events, alert, title)
    print(f"wrote {out}")
    return 0
