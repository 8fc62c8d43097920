"""The documentation: generated reference complete, every command it shows runnable as written,
every link pointing at a file, and (with the [docs] extra) the site building strictly."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from drowsy.cli import build_parser
from drowsy.settings import FIELDS, SECTION_OF
from drowsy.settings_io import flag_of

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]
SEPARATORS = {"|", "||", "&&", ";", "&"}


def reference():
    spec = importlib.util.spec_from_file_location("docs_reference", REPO / "scripts" / "docs_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_setting_is_in_the_generated_reference():
    ref = reference()
    text = ref.settings_markdown()
    for name, f in FIELDS.items():
        row = next((r for r in text.splitlines() if r.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is missing from the settings reference"
        assert f"`{flag_of(name)}" in row and " ".join(f.metadata["help"].split()) in row.replace("\\|", "|"), row
    for sec in set(SECTION_OF.values()):
        assert f"## `[{sec}]`" in text
    # Sources are carried over from settings.py, not written again here.
    assert "Wierwille" in text and "Stern, Walrath & Goldstein" not in text.split("`microsleep_s`")[0]
    # ... and the page the site builds asks for it, through the hook mkdocs.yml names.
    assert "<!-- generated: settings -->" in (DOCS / "reference" / "settings.md").read_text().splitlines()
    assert "  - scripts/docs_reference.py" in (REPO / "mkdocs.yml").read_text().splitlines()


def test_every_threshold_has_its_source_in_the_reference():
    # A threshold's reason travels with it: every [temporal] setting and the tracker's limit has a
    # source in the generated page (settings.py's table or the comment above the field).
    text = reference().settings_markdown()
    thresholds = [n for n, sec in SECTION_OF.items() if sec == "temporal"] + ["track_max_motion", "landmarks_every"]
    missing = [n for n in thresholds
               if next(r for r in text.splitlines() if r.startswith(f"| `{n}` |")).rstrip().endswith("| — |")]
    assert not missing, f"no source in the settings reference: {missing}"


def test_the_cli_reference_holds_every_command_and_option():
    text = reference().cli_markdown()
    for name, sub in subcommands().items():
        assert f"## `drowsy {name}`" in text
        for opt in (o for a in sub._actions for o in a.option_strings):
            assert opt in text, f"drowsy {name} {opt} is missing from the CLI reference"


def subcommands() -> dict:
    parser = build_parser()
    return next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices


def command_lines(text: str) -> list[str]:
    """Shell lines of fenced code blocks (bash/sh/console/unnamed; `$ ` lines of any block)
    with continuations joined, and inline code spans that start with `drowsy `."""
    out = []
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        body = body.replace("\\\n", " ")
        pending = ""  # a quoted string that spans lines (python -c "...") is one shell line
        for line in body.splitlines():
            if pending:
                line, pending = pending + "\n" + line, ""
            elif line.startswith("$ "):
                line = line[2:]
            elif lang not in ("", "bash", "sh", "shell", "console"):
                continue
            try:
                shlex.split(line, comments=True)
            except ValueError:  # no closing quotation yet
                pending = line
                continue
            out.append(line)
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    out += [span for span in re.findall(r"`([^`\n]+)`", prose) if span.startswith("drowsy ")]
    return out


def drowsy_invocations(line: str) -> list[list[str]]:
    """Each `drowsy ...` (or `python -m drowsy ...`) in one shell line, up to a separator."""
    tokens = shlex.split(line, comments=True)
    found = []
    for i, tok in enumerate(tokens):
        at_start = i == 0 or tokens[i - 1] in SEPARATORS or tokens[i - 1:i] == ["-m"] or \
            re.fullmatch(r"\w+=\S*", tokens[i - 1]) is not None  # VAR=value drowsy ...
        if tok == "drowsy" and at_start:
            rest = []
            for t in tokens[i + 1:]:
                if t in SEPARATORS or t.startswith((">", "2>")):
                    break
                rest.append(t)
            found.append(rest)
    return found


def test_no_command_in_the_docs_names_a_flag_or_command_that_does_not_exist():
    top = build_parser()
    subs = subcommands()
    checked, problems = 0, []
    for page in PAGES:
        for line in command_lines(page.read_text(encoding="utf-8")):
            for args in drowsy_invocations(line):
                if not args:
                    continue
                parser = top if args[0].startswith("-") else subs.get(args[0])
                where = f"{page.relative_to(REPO)}: drowsy {' '.join(args)}"
                if parser is None:
                    problems.append(f"{where}: no command {args[0]!r}")
                    continue
                known = {o for a in parser._actions for o in a.option_strings}
                for tok in args:
                    if re.match(r"^--?[A-Za-z]", tok) and tok.split("=")[0] not in known:
                        problems.append(f"{where}: {parser.prog} has no {tok.split('=')[0]}")
                checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= 40  # the pages do show the commands


def nav_files() -> list[str]:
    return re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$", (REPO / "mkdocs.yml").read_text(), re.M)


def test_the_nav_and_every_link_point_to_files_that_exist():
    nav = nav_files()
    assert "index.md" in nav and "reference/settings.md" in nav and "reference/cli.md" in nav
    missing = [f"mkdocs.yml nav: docs/{f}" for f in nav if not (DOCS / f).is_file()]
    for page in PAGES:
        text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor on the same page
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                missing.append(f"{page.relative_to(REPO)}: {target}")
    assert not missing, "links to missing files:\n" + "\n".join(missing)


def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                       cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    page = (tmp_path / "site" / "reference" / "settings" / "index.html").read_text()
    assert all(flag_of(name) in page for name in FIELDS)
    assert "generated: settings" not in page


@pytest.mark.mediapipe
def test_the_library_example_runs_as_written(landmarker, tmp_path):
    # docs/library.md's example, unchanged, on the demo clip copied to the name it reads.
    import shutil

    from drowsy.runtime.demo import demo_clip

    (code,) = re.findall(r"^```python\n(.*?)^```", (DOCS / "library.md").read_text(), re.S | re.M)
    shutil.copy(demo_clip(), tmp_path / "drive.mp4")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "DROWSY_LANDMARKER": str(landmarker), "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr[-2000:]
    printed = r.stdout.splitlines()
    # The clip's events at 30 "fps" of the example's own clock: the hold still reads as a microsleep.
    assert any("'alert_on'" in line for line in printed) and any("'microsleep'" in line for line in printed)
