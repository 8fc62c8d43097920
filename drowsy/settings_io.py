"""Settings in and out: flags, TOML and --print-config, all generated from settings.py.

Effective settings = dataclass defaults < a TOML file (--config) < flags actually given.
The TOML file has the sections [source], [model], [temporal], [output], [serve], [mqtt] with the field names of
the dataclasses in settings.py; `drowsy run --print-config` prints the effective settings in that layout
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
from dataclasses import fields
from pathlib import Path

from .errors import DrowsyError, UsageError, first_line
from .settings import FIELDS, SECTION_OF, SECTIONS, RunConfig, TemporalConfig, default_of
from .settings_check import check_all

MAX_CONFIG_BYTES = 1 << 20  # a settings file is a few hundred bytes


def _argtype(name: str):
    t = str(FIELDS[name].type)
    return int if t.startswith("int") else float if t.startswith("float") else str


def _help(name: str) -> str:
    """The field's help with its default (or what unset means), generated so it never drifts."""
    meta, default = FIELDS[name].metadata, default_of(name)
    if default is None:
        tail = f" (default: {meta['unset']})" if meta.get("unset") else ""
    elif isinstance(default, bool):
        tail = f" ({'on' if default else 'off'})"
    else:
        tail = f" ({default:g})" if isinstance(default, float) else f" ({default})"
    lim = meta.get("limits")
    if lim and isinstance(default, int) and not isinstance(default, bool):
        tail = f", {lim[0]}..{lim[1]}{tail}"
    return meta["help"] + tail


def flag_of(name: str) -> str:
    return FIELDS[name].metadata.get("flag") or "--" + name.replace("_", "-")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """--config, --print-config and one flag per setting, all defaulting to None (= not given)."""
    p.add_argument("--config", metavar="FILE.toml", help="settings file; flags given override it")
    p.add_argument("--print-config", action="store_true", help="print the effective settings as TOML and exit")
    p.add_argument("--show-secrets", action="store_true",
                   help="--print-config shows stream passwords and tokens instead of ***")
    add_section_arguments(p, tuple(SECTIONS))


def add_section_arguments(p: argparse.ArgumentParser, sections: tuple[str, ...]) -> None:
    """One flag per setting of these sections (for commands that use only some, like eval-video)."""
    groups = {sec: p.add_argument_group(f"{sec} settings ([{sec}] in the config file)") for sec in sections}
    src = groups["source"].add_mutually_exclusive_group() if "source" in groups else None
    for name, f in FIELDS.items():
        if SECTION_OF[name] not in groups:
            continue
        target = src if name in ("camera", "video", "url") else groups[SECTION_OF[name]]
        meta = f.metadata
        if meta.get("choices"):
            target.add_argument(flag_of(name), dest=name, choices=meta["choices"], default=None, help=_help(name))
        elif meta.get("metavar") is None:
            target.add_argument(flag_of(name), dest=name, action=argparse.BooleanOptionalAction, default=None,
                                help=_help(name))
        else:
            target.add_argument(flag_of(name), dest=name, metavar=meta["metavar"], type=_argtype(name),
                                default=None, help=_help(name))


def read_toml(path, what: str = "config file") -> dict:
    """A TOML file as a dict, every failure one line naming `what` (a config file, a profile).

    Bounded: only a regular file is read (a FIFO or /dev/zero is refused without waiting), at
    most MAX_CONFIG_BYTES; deep nesting is one line; a UTF-8 BOM (Windows Notepad writes one) is
    accepted, as TOML readers commonly do.
    """
    import os
    import stat
    import tomllib

    path = Path(path)
    try:
        # O_NONBLOCK: a FIFO opens at once instead of blocking (deaf to SIGTERM) until a writer
        # comes; it is then refused, like a device, by what fstat says about the opened file.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError
            if not stat.S_ISREG(mode):
                raise DrowsyError(f"{what} {path} is not a regular file (a FIFO, device or socket)")
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise DrowsyError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise DrowsyError(f"{what} {path} is a folder") from None
    except OSError as e:
        raise DrowsyError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise DrowsyError(f"{what} {path} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a settings file")
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except ValueError as e:  # TOMLDecodeError, UnicodeDecodeError, an integer of > 4300 digits
        raise DrowsyError(f"{what} {path} is not valid TOML: {first_line(e)}") from None
    except RecursionError:  # thousands of nested arrays or inline tables
        raise DrowsyError(f"{what} {path} is nested too deeply to be a settings file") from None


def load_toml(path) -> dict:
    """{section: {field: value}} from a TOML file; unknown sections/keys or wrong types → UsageError."""
    path = Path(path)
    data = read_toml(path)
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
                raise UsageError(f"config file {path}: [{sec}] {k} {why}, got {brief(_shown(k, v))}")
        out[sec] = dict(values)
    return out


def brief(v) -> str:
    """A value for an error line: short, one line, never the repr of a 100k-deep table."""
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v).bit_length() > 200:
        return f"an integer of about {round(abs(v).bit_length() * 0.30103)} digits"  # repr may refuse (> 4300 digits)
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_problem(name: str, value) -> str | None:
    t = str(FIELDS[name].type)
    if t.startswith("bool"):
        return None if isinstance(value, bool) else "must be true or false"
    if name == "landmarks_every" and isinstance(value, int) and not isinstance(value, bool):
        return None  # `landmarks_every = 6` as well as "6" or "auto"
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
        origin[name] = flag_of(name)
    for sec, d in values.items():  # an integer of any size is valid TOML; float() overflows on it
        for k, v in d.items():
            if _argtype(k) is float and isinstance(v, int) and abs(v).bit_length() > 1000:
                raise UsageError(f"{origin.get(k, k)} must be a finite number, got {brief(v)}")
    t = values["temporal"]
    if "min_assessable_s" not in t and "window_s" in t:  # a short window keeps the default usable
        t["min_assessable_s"] = min(TemporalConfig.min_assessable_s, t["window_s"] / 2)
    for sec, d in values.items():  # TOML `window_s = 60` is an int: keep float fields floats
        values[sec] = {k: float(v) if _argtype(k) is float else v for k, v in d.items()}
    cfg = RunConfig(**{sec: cls(**values[sec]) for sec, cls in SECTIONS.items()})
    _validate(cfg, lambda name: origin.get(name, f"{name} (default)"))
    return cfg


def resolve_section(args: argparse.Namespace, section: str):
    """One section's settings: its defaults < [section] of args.config < its flags given."""
    names = {name: getattr(args, name, None) for name, sec in SECTION_OF.items() if sec == section}
    ns = argparse.Namespace(config=getattr(args, "config", None), **names)
    return getattr(resolve(ns), section)


def _validate(cfg: RunConfig, label) -> None:
    from .secrets import mask, remember

    remember(cfg.source.url)  # from here on its password is hidden in every line we print
    for name, why in check_all(cfg):
        value = _shown(name, getattr(getattr(cfg, SECTION_OF[name]), name))
        raise UsageError(mask(f"{label(name)} {why}, got {brief(value)}"))


def _shown(name: str, value):
    """A value as it may be printed: a secret never, a URL's password masked."""
    from .secrets import mask

    secret = FIELDS[name].metadata.get("secret")
    if secret == "value" and value:
        return "(not shown)"
    return mask(value) if isinstance(value, str) else value


def toml_value(v) -> str:
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

    mask_secrets hides stream passwords and tokens (secrets.mask; then the output no longer loads
    back to the same url): what --print-config does unless --show-secrets.
    """
    from .secrets import mask

    lines = ["# drowsy run settings: defaults < this file (--config) < flags given"]
    for sec in SECTIONS:
        lines += ["", f"[{sec}]"]
        for f in fields(SECTIONS[sec]):
            v = getattr(getattr(cfg, sec), f.name)
            if v is None:
                means = f": {f.metadata['unset']}" if f.metadata.get("unset") else ""
                lines.append(f"# {f.name} = (unset{means})")
                continue
            if f.metadata.get("secret") == "value" and mask_secrets:  # a token: keep it in the file
                lines.append(f"# {f.name} = (set; not shown)")
                continue
            if isinstance(v, str) and mask_secrets:
                v = mask(v)
            lines.append(f"{f.name} = {toml_value(v)}")
    return "\n".join(lines) + "\n"
