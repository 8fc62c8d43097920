"""The documentation's reference pages, generated from the code so they never drift.

- settings: every setting of drowsy/settings.py — its TOML key and section, flag, default (or
  what unset means), limits or choices, help, and source (the row of settings.py's
  defaults-and-sources table, else the comment written above the field);
- cli: the `--help` of `drowsy` and of every command of drowsy/cli.py's build_parser.

Used two ways: as an MkDocs hook (mkdocs.yml `hooks:`), where a page's line
`<!-- generated: settings -->` or `<!-- generated: cli -->` is replaced at build time; and from
the command line, `python scripts/docs_reference.py settings|cli`, which prints the Markdown.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MARKER = re.compile(r"^<!-- generated: (settings|cli) -->$", re.M)
HELP_COLUMNS = "100"  # argparse wraps at $COLUMNS: fixed, so the page does not depend on a terminal


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def docstring_sources() -> dict[str, str]:
    """settings.py's defaults-and-sources table: field name -> its source text (rows joined)."""
    from drowsy import settings

    out: dict[str, str] = {}
    name = None
    for line in (settings.__doc__ or "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if not cells or len(cells) < 3 or (cells[0] and set(cells[0]) <= set("-")):
            continue
        if cells[0]:
            name = cells[0] if cells[0] in settings.FIELDS else None
            if name:
                out[name] = cells[2]
        elif name:
            out[name] += " " + cells[2]
    return out


def comment_sources() -> dict[str, str]:
    """The comment lines written right above a field in settings.py: why it has its default."""
    from drowsy import settings

    lines = Path(settings.__file__).read_text(encoding="utf-8").splitlines()
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = re.match(r"^    (\w+): .*= setting\(", line)
        if not m or m[1] not in settings.FIELDS:
            continue
        above = []
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            above.insert(0, lines[j].strip().lstrip("#").strip())
            j -= 1
        if above:
            out[m[1]] = " ".join(above)
    return out


def _default(name: str) -> str:
    from drowsy.settings import FIELDS, default_of

    d, unset = default_of(name), FIELDS[name].metadata.get("unset")
    if d is None:
        return f"unset: {unset}" if unset else "unset"
    if isinstance(d, bool):
        return "on" if d else "off"
    return f"`{d:g}`" if isinstance(d, float) else f"`{d}`"


def _limits(name: str) -> str:
    from drowsy.settings import FIELDS

    meta = FIELDS[name].metadata
    if meta.get("choices"):
        return "one of " + ", ".join(f"`{c}`" for c in meta["choices"])
    if not meta.get("limits"):
        return "on / off" if meta.get("metavar") is None else "—"
    lo, hi, lo_open, hi_open = meta["limits"]
    return f"{lo:g} {'<' if lo_open else '≤'} value {'<' if hi_open else '≤'} {hi:g}"


def settings_markdown() -> str:
    from drowsy.settings import FIELDS, SECTIONS, SECTION_OF
    from drowsy.settings_io import flag_of

    sources = {**comment_sources(), **docstring_sources()}
    parts = []
    for sec, cls in SECTIONS.items():
        doc = " ".join((cls.__doc__ or "").split()) if cls.__doc__ and not cls.__doc__.startswith(cls.__name__) else ""
        parts += [f"## `[{sec}]`", ""] + ([doc, ""] if doc else []) + [
                  "| TOML key | flag | default | limits | help | source |", "|---|---|---|---|---|---|"]
        for name in (n for n in FIELDS if SECTION_OF[n] == sec):
            meta = FIELDS[name].metadata
            flag = flag_of(name)
            if meta.get("metavar") is None and not meta.get("choices"):
                flag = f"{flag} / --no-{flag[2:]}"
            parts.append(f"| `{name}` | `{flag}` | {_default(name)} | {_limits(name)} | {_cell(meta['help'])} | "
                         f"{_cell(sources.get(name, '—'))} |")
        parts.append("")
    return "\n".join(parts)


def cli_markdown() -> str:
    from drowsy.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = build_parser()
        parser.prog = "drowsy"
        subs = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parts = ["## `drowsy`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, sub in subs.choices.items():
            parts += [f"## `drowsy {name}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


GENERATORS = {"settings": settings_markdown, "cli": cli_markdown}


def use_this_checkout() -> None:
    """Document this checkout's drowsy, not another one installed in the environment (MkDocs
    restores sys.path after loading a hook, so this runs at each use)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import drowsy

    if Path(drowsy.__file__).resolve().parent != REPO / "drowsy":
        raise RuntimeError(f"drowsy was imported from {drowsy.__file__}, not from {REPO}: "
                           "the reference would describe another checkout")


def on_page_markdown(markdown: str, **_kwargs) -> str:
    """MkDocs hook: each marker line becomes its generated Markdown."""
    if MARKER.search(markdown):
        use_this_checkout()
    return MARKER.sub(lambda m: GENERATORS[m[1]](), markdown)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in GENERATORS:
        sys.exit(f"usage: python {sys.argv[0]} {'|'.join(GENERATORS)}")
    use_this_checkout()
    print(GENERATORS[sys.argv[1]]())
