"""Validation of the settings in settings.py: a value's range or choices, one section's problems
(including the rules between fields), and a whole RunConfig's. Kept apart from settings.py so that
the table of settings stays one screenful per section; numpy-free, like settings.py."""

from __future__ import annotations

import math
from dataclasses import fields

from .settings import (FIELDS, LANDMARKS_EVERY_MAX, SECTIONS, STREAM_SCHEMES, MqttConfig, RunConfig, ServeConfig,
                       SourceConfig, TemporalConfig)


def range_problem(value, limits: tuple) -> str | None:
    """Why `value` is outside `limits`, e.g. "must be > 0", or None when it is fine."""
    lo, hi, lo_open, hi_open = limits
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a finite number"
    if isinstance(value, float) and not math.isfinite(value):  # an int of any size compares exactly
        return "must be a finite number"
    if value < lo or (lo_open and value == lo):
        return f"must be {'>' if lo_open else '>='} {lo:g}"
    if value > hi or (hi_open and value == hi):
        return f"must be {'<' if hi_open else '<='} {hi:g}"
    return None


def problem(name: str, value) -> str | None:
    """Why one value of the field `name` is invalid (by its choices or limits), or None."""
    if name == "landmarks_every":  # "auto" or a whole number of frames
        text = str(value).strip().lower()
        ok = text == "auto" or (text.isdigit() and 1 <= int(text) <= LANDMARKS_EVERY_MAX)
        return None if ok else f"must be auto or a whole number from 1 to {LANDMARKS_EVERY_MAX}"
    meta = FIELDS[name].metadata
    if meta.get("choices"):
        return None if value in meta["choices"] else f"must be one of {', '.join(meta['choices'])}"
    return range_problem(value, meta["limits"]) if meta.get("limits") else None


def check(section) -> list[tuple[str, str]]:
    """Every problem of one settings dataclass as (field, "must be ..."); empty when valid."""
    out = []
    for f in fields(section):
        value = getattr(section, f.name)
        if value is None:
            continue
        why = problem(f.name, value)
        if why:
            out.append((f.name, why))
        elif isinstance(value, str) and not value.strip():
            out.append((f.name, "must not be empty"))
    if isinstance(section, SourceConfig) and section.url and not out:
        scheme = section.url.partition("://")[0].lower() if "://" in section.url else ""
        if scheme not in STREAM_SCHEMES:
            out.append(("url", f"must be a stream URL ({', '.join(s + '://' for s in STREAM_SCHEMES[:4])}...); "
                               "a file goes to --video"))
    if not out and isinstance(section, TemporalConfig):
        if section.perclos_clear > section.perclos_alert:
            out.append(("perclos_clear", f"must be <= perclos_alert ({section.perclos_alert:g})"))
        elif section.min_assessable_s > section.window_s:
            out.append(("min_assessable_s", f"must be <= window_s ({section.window_s:g}), or PERCLOS never fills"))
        elif None not in (section.hysteresis, section.closed_threshold) \
                and section.hysteresis >= section.closed_threshold:
            # Eyes reopen below threshold - hysteresis: at or below 0 one blink never ends.
            out.append(("hysteresis", f"must be < closed_threshold ({section.closed_threshold:g})"))
    if not out and isinstance(section, (ServeConfig, MqttConfig)):
        out += _address_problems(section)
    return out


def _address_problems(section) -> list[tuple[str, str]]:
    """The web view's HOST:PORT and the broker's URL, parsed as their sinks will parse them."""
    from .runtime.mqtt_url import mqtt_problems, parse_mqtt_url
    from .runtime.serve import parse_hostport

    name, parse = ("address", parse_hostport) if isinstance(section, ServeConfig) else ("broker", parse_mqtt_url)
    try:
        if getattr(section, name) is not None:
            parse(getattr(section, name))
    except ValueError as e:
        return [(name, str(e))]
    return mqtt_problems(section) if isinstance(section, MqttConfig) else []


def check_all(cfg: RunConfig) -> list[tuple[str, str]]:
    """The problems of every section of a RunConfig."""
    return [p for sec in SECTIONS for p in check(getattr(cfg, sec))]
