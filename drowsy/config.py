"""The settings of `drowsy run`: dataclass defaults < a TOML file (--config) < flags actually given.

The TOML file has the sections [source], [model], [temporal], [output] with the field names of
the dataclasses below; `drowsy run --print-config` prints the effective settings in that layout
(to_toml), and that output loads back to the same settings. Paths are used as written (relative
to the current directory, like the flags). Unset optional values (no video, the model's own
threshold ...) are absent from the file: TOML has no null. A source flag (--camera, --video,
--url) replaces the file's source as a whole. When only the window is set, min_assessable_s
follows it (half the window, at most the default 30 s), so `--window 10` works on its own.
Invalid values raise UsageError (exit 2) naming the flag or the file's key; a config file that
is missing or not TOML raises DrowsyError (exit 1).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from .crop import MAX_JITTER
from .errors import DrowsyError, UsageError
from .thresholds import TemporalConfig, check, range_problem

DEVICES = ("auto", "cpu", "cuda", "tensorrt")


@dataclass(frozen=True)
class SourceConfig:
    camera: int = 0
    video: str | None = None
    url: str | None = None
    realtime: bool = False
    reconnect_max_s: float = 30.0  # longest wait between reconnection attempts of a live source


@dataclass(frozen=True)
class ModelConfig:
    model: str | None = None  # None = the bundled eye model
    landmarker: str | None = None  # None = $DROWSY_LANDMARKER, else the user cache
    device: str = "auto"
    jitter: int = 8
    # One thread: one frame's ~18 crops run faster on one core than split over two (drowsy bench:
    # 0.28 vs 0.49 ms on a 2-core EPYC), and the landmarker keeps the other core.
    threads: int = 1  # 0 = onnxruntime's default (all cores)


@dataclass(frozen=True)
class OutputConfig:
    headless: bool = False
    out: str | None = None
    events: str | None = None
    alarm: bool = True
    mediapipe_logs: bool = False


@dataclass(frozen=True)
class RunConfig:
    source: SourceConfig = field(default_factory=SourceConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


SECTIONS = {"source": SourceConfig, "model": ModelConfig, "temporal": TemporalConfig, "output": OutputConfig}
# Field names are unique across sections, so each is also the flag's argparse dest.
SECTION_OF = {f.name: sec for sec, cls in SECTIONS.items() for f in fields(cls)}
_TYPES = {f.name: str(f.type) for cls in SECTIONS.values() for f in fields(cls)}

# (flag, field, metavar or None for on/off switches, help). One flag per field.
FLAGS = (
    ("--camera", "camera", "N", "camera index (default 0)"),
    ("--video", "video", "PATH", "a video file"),
    ("--url", "url", "URL", "a stream, e.g. rtsp://..."),
    ("--realtime", "realtime", None, "pace a video file at its own frame rate"),
    ("--reconnect-max", "reconnect_max_s", "S", "longest wait between reconnection attempts (30)"),
    ("--model", "model", "PATH", "eye model .onnx (default: the bundled one)"),
    ("--landmarker", "landmarker", "PATH", "face landmarker .task file"),
    ("--device", "device", None, "where the eye model runs (auto)"),
    ("--jitter", "jitter", "J", f"jittered crops per eye, 0..{MAX_JITTER} (8)"),
    ("--threads", "threads", "N", "onnxruntime threads for the eye model, 0 = all cores (1)"),
    ("--window", "window_s", "S", "PERCLOS window in seconds (60)"),
    ("--perclos-alert", "perclos_alert", "P", "PERCLOS alert at or above (0.15)"),
    ("--perclos-clear", "perclos_clear", "P", "PERCLOS alert clears below (0.10)"),
    ("--min-assessable", "min_assessable_s", "S",
     "assessable seconds in the window before PERCLOS counts (30, or half a shorter window)"),
    ("--microsleep", "microsleep_s", "S", "eyes closed this long raise an alert at once (1.5)"),
    ("--closed-threshold", "closed_threshold", "P", "closed when p_closed >= P (default: the model's)"),
    ("--hysteresis", "hysteresis", "P", "open again only below threshold - P (0.1)"),
    ("--min-alert", "min_alert_s", "S", "an alert stays on at least this long (2)"),
    ("--cooldown", "cooldown_s", "S", "no new PERCLOS alert this long after one clears (10)"),
    ("--not-visible", "not_visible_s", "S", "unassessable this long = driver not visible (3)"),
    ("--max-gap", "max_gap_s", "S", "a frame stands for at most this long (0.5)"),
    ("--max-yaw", "max_yaw_deg", "DEG", "head turned further = not assessable (35)"),
    ("--max-pitch", "max_pitch_deg", "DEG", "head tilted further = not assessable (25)"),
    ("--min-brightness", "min_brightness", "GRAY", "darker eye crops = not assessable (20)"),
    ("--headless", "headless", None, "no window"),
    ("--out", "out", "FILE", "one JSON line per frame"),
    ("--events", "events", "FILE", "one JSON line per event"),
    ("--alarm", "alarm", None, "sound an alarm on alerts (on; --no-alarm to switch off)"),
    ("--mediapipe-logs", "mediapipe_logs", None, "show MediaPipe's own log output"),
)
FLAG_OF = {name: flag for flag, name, _, _ in FLAGS}
UNSET_MEANS = {"model": ": the bundled eye model", "landmarker": ": $DROWSY_LANDMARKER, else the user cache",
               "closed_threshold": ": the eye model's threshold", "out": ": no frame log",
               "events": ": no event log"}


def _argtype(name: str):
    t = _TYPES[name]
    return int if t.startswith("int") else float if t.startswith("float") else str


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """--config, --print-config and one flag per setting, all defaulting to None (= not given)."""
    p.add_argument("--config", metavar="FILE.toml", help="settings file; flags given override it")
    p.add_argument("--print-config", action="store_true", help="print the effective settings as TOML and exit")
    groups = {sec: p.add_argument_group(f"{sec} settings ([{sec}] in the config file)") for sec in SECTIONS}
    src = groups["source"].add_mutually_exclusive_group()
    for flag, name, metavar, helptext in FLAGS:
        target = src if name in ("camera", "video", "url") else groups[SECTION_OF[name]]
        if name == "device":
            target.add_argument(flag, dest=name, choices=DEVICES, default=None, help=helptext)
        elif metavar is None:
            target.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None,
                                help=helptext)
        else:
            target.add_argument(flag, dest=name, metavar=metavar, type=_argtype(name), default=None,
                                help=helptext)


def load_toml(path) -> dict:
    """{section: {field: value}} from a TOML file; unknown sections/keys or wrong types → UsageError."""
    import tomllib

    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise DrowsyError(f"config file not found: {path}") from None
    except OSError as e:
        raise DrowsyError(f"cannot read config file {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DrowsyError(f"config file {path} is not valid TOML: {e}") from None
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise UsageError(f"config file {path}: unknown section(s) {', '.join(unknown)}; "
                         f"expected {', '.join(SECTIONS)}")
    out = {}
    for sec, values in data.items():
        if not isinstance(values, dict):
            raise UsageError(f"config file {path}: {sec} must be a [{sec}] section")
        bad = [k for k in values if SECTION_OF.get(k) != sec]
        if bad:
            import difflib

            near = difflib.get_close_matches(bad[0], list(SECTION_OF), n=1)
            hint = f" (did you mean {near[0]} in [{SECTION_OF[near[0]]}]?)" if near else ""
            raise UsageError(f"config file {path}: unknown key(s) in [{sec}]: {', '.join(bad)}{hint}")
        for k, v in values.items():
            why = _type_problem(k, v)
            if why:
                raise UsageError(f"config file {path}: [{sec}] {k} {why}, got {v!r}")
        out[sec] = dict(values)
    return out


def _type_problem(name: str, value) -> str | None:
    t = _TYPES[name]
    if t.startswith("bool"):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(value, bool):
        return "must be a number" if not t.startswith("str") else "must be a string"
    if t.startswith("int"):
        return None if isinstance(value, int) else "must be a whole number"
    if t.startswith("float"):
        return None if isinstance(value, (int, float)) else "must be a number"
    return None if isinstance(value, str) else "must be a string"


def resolve(args: argparse.Namespace) -> RunConfig:
    """The effective RunConfig: defaults < the --config file < flags given; validated."""
    values: dict[str, dict] = {sec: {} for sec in SECTIONS}
    origin: dict[str, str] = {}
    cfg_path = getattr(args, "config", None)
    if cfg_path:
        for sec, d in load_toml(cfg_path).items():
            values[sec].update(d)
            origin.update({k: f"[{sec}] {k} in {cfg_path}" for k in d})
        if sum(values["source"].get(k) is not None for k in ("video", "url")) > 1:
            raise UsageError(f"config file {cfg_path}: [source] takes video or url, not both")
    given = {name: getattr(args, name) for name in SECTION_OF if getattr(args, name, None) is not None}
    if given.keys() & {"camera", "video", "url"}:  # a source flag replaces the file's source
        for k in ("camera", "video", "url"):
            values["source"].pop(k, None)
    for name, v in given.items():
        values[SECTION_OF[name]][name] = v
        origin[name] = FLAG_OF[name]
    t = values["temporal"]
    if "min_assessable_s" not in t and "window_s" in t:  # a short window keeps the default usable
        t["min_assessable_s"] = min(TemporalConfig.min_assessable_s, t["window_s"] / 2)
    for sec, d in values.items():  # TOML `window_s = 60` is an int: keep float fields floats
        values[sec] = {k: float(v) if _argtype(k) is float else v for k, v in d.items()}
    cfg = RunConfig(**{sec: cls(**values[sec]) for sec, cls in SECTIONS.items()})
    _validate(cfg, lambda name: origin.get(name, f"{name} (default)"))
    return cfg


def _validate(cfg: RunConfig, label) -> None:
    def fail(name: str, why: str, value) -> None:
        raise UsageError(f"{label(name)} {why}, got {value!r}")

    s, m = cfg.source, cfg.model
    if s.camera < 0:
        fail("camera", "must be >= 0", s.camera)
    for name in ("video", "url"):
        if getattr(s, name) is not None and not getattr(s, name).strip():
            fail(name, "must not be empty", getattr(s, name))
    why = range_problem(s.reconnect_max_s, (0.0, math.inf, True, True))
    if why:
        fail("reconnect_max_s", why, s.reconnect_max_s)
    if m.device not in DEVICES:
        fail("device", f"must be one of {', '.join(DEVICES)}", m.device)
    if not 0 <= m.jitter <= MAX_JITTER:
        fail("jitter", f"must be between 0 and {MAX_JITTER}", m.jitter)
    if m.threads < 0:
        fail("threads", "must be >= 0 (0 = onnxruntime's default)", m.threads)
    for name in ("model", "landmarker"):
        if getattr(m, name) is not None and not getattr(m, name).strip():
            fail(name, "must not be empty", getattr(m, name))
    for name in ("out", "events"):
        if getattr(cfg.output, name) is not None and not getattr(cfg.output, name).strip():
            fail(name, "must not be empty", getattr(cfg.output, name))
    for name, why in check(cfg.temporal):
        fail(name, why, getattr(cfg.temporal, name))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    # A TOML basic string: escape backslash, quote and control characters.
    out = []
    for ch in v:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def to_toml(cfg: RunConfig, mask_secrets: bool = False) -> str:
    """The settings as TOML (what --print-config prints); load_toml + resolve give cfg back.

    mask_secrets hides a stream password (then the output no longer loads back to the same url).
    """
    from .paths import mask_url

    lines = ["# drowsy run settings: defaults < this file (--config) < flags given"]
    for sec in SECTIONS:
        lines += ["", f"[{sec}]"]
        for f in fields(SECTIONS[sec]):
            v = getattr(getattr(cfg, sec), f.name)
            if v is None:
                lines.append(f"# {f.name} = (unset{UNSET_MEANS.get(f.name, '')})")
                continue
            if f.name == "url" and mask_secrets:
                v = mask_url(v)
            lines.append(f"{f.name} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"
