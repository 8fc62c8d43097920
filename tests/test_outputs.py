"""drowsy/outputs.py: outputs are checked against inputs and each other before anything is
written; whole files are replaced atomically and only over regular files; logs go in place."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from drowsy.errors import DrowsyError, UsageError
from drowsy.outputs import Output, check, open_log, replacing, write_text
from drowsy.runtime.sinks import JsonlSink


@pytest.fixture()
def precious(tmp_path):
    p = tmp_path / "drive.mpg"
    p.write_bytes(b"a user's only copy")
    return p


def test_an_output_that_is_an_input_is_refused(precious):
    with pytest.raises(UsageError, match="is the input --video"):
        check([Output("--out", precious, "log")], {"--video": precious})
    assert precious.read_bytes() == b"a user's only copy"


@pytest.mark.parametrize("how", ["hard link", "symlink", "relative path"])
def test_the_same_file_under_another_name_is_refused(precious, tmp_path, how, monkeypatch):
    other = tmp_path / "other.jsonl"
    if how == "hard link":
        os.link(precious, other)
    elif how == "symlink":
        other.symlink_to(precious)
    else:
        monkeypatch.chdir(tmp_path)
        other = "./sub/../drive.mpg"
        (tmp_path / "sub").mkdir()
    with pytest.raises(UsageError, match="would destroy it"):
        check([Output("--json", other)], {"--model": precious})
    assert precious.read_bytes() == b"a user's only copy"


def test_two_outputs_on_one_file_are_refused(tmp_path):
    a = tmp_path / "log.jsonl"
    with pytest.raises(UsageError, match="--out and --events are the same file"):
        check([Output("--out", a, "log"), Output("--events", a, "log")])
    a.write_text("")
    os.link(a, tmp_path / "hard.jsonl")
    with pytest.raises(UsageError, match="same file"):
        check([Output("--out", a, "log"), Output("--events", tmp_path / "hard.jsonl", "log")])
    with pytest.raises(UsageError, match="both write to standard output"):
        check([Output("--out", "-", "log"), Output("--events", "-", "log")])


def test_folders_missing_folders_and_files_as_folders(tmp_path):
    with pytest.raises(DrowsyError, match="it is a folder"):
        check([Output("--json", tmp_path)])
    with pytest.raises(DrowsyError, match="does not exist"):
        check([Output("--json", tmp_path / "nope" / "x.json")])
    f = tmp_path / "file"
    f.write_text("keep")
    with pytest.raises(DrowsyError, match="a file, not a folder"):
        check([Output("--plots", f, "folder")])
    with pytest.raises(DrowsyError, match="folder of it is a file|is a file"):
        check([Output("--json", f / "x.json")], make_parents=True)
    check([Output("--json", tmp_path / "new" / "deeper" / "x.json")], make_parents=True)  # creatable: fine
    assert f.read_text() == "keep" and not (tmp_path / "new").exists()


def test_a_device_or_fifo_is_never_replaced_by_a_whole_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in ("/dev/null", fifo):
        with pytest.raises(DrowsyError, match="not a regular file"):
            check([Output("--out", target)])
        with pytest.raises(DrowsyError, match="not a regular file"):
            with replacing(target, "--out") as tmp:
                tmp.write_text("x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]  # no temporary file left


def test_a_log_may_stream_to_a_device_but_a_fifo_needs_a_reader(tmp_path):
    check([Output("--events", "/dev/null", "log")])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(DrowsyError, match="no process reads this FIFO"):
        open_log(fifo, "--events")  # at once, instead of blocking until a reader comes


def test_a_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(DrowsyError) as e:
        check([Output("--out", loop, "log")])
    assert "\n" not in str(e.value)


def test_replacing_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("yesterday")
    with pytest.raises(RuntimeError):
        with replacing(target, "--json") as tmp:
            tmp.write_text("half")
            raise RuntimeError("the run failed")
    assert target.read_text() == "yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
    write_text(target, "today", "--json")
    assert target.read_text() == "today"


def test_replacing_follows_a_symlink_and_keeps_the_mode(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text(link, "new", "--json")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_standard_output_closed_is_one_line(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(DrowsyError, match="standard output: it is closed"):
        check([Output("--out", "-", "log")])


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_one_line():
    sink = JsonlSink("/dev/full", "--out")
    with pytest.raises(DrowsyError, match="No space left") as e:
        sink.write({"frame": 1})
    sink.close()
    assert "\n" not in str(e.value)


def test_read_only_files_and_folders_are_never_written_even_by_root(tmp_path):
    """../shared is read-only by mode; root could write it anyway. drowsy does not."""
    data = tmp_path / "shared"
    data.mkdir()
    readme = data / "README.md"
    readme.write_text("the data's only description")
    readme.chmod(0o444)
    with pytest.raises(DrowsyError, match="read-only"):
        check([Output("--out", readme, "log")])
    with pytest.raises(DrowsyError, match="read-only"):
        write_text(readme, "{}", "--json")
    data.chmod(0o555)
    try:
        with pytest.raises(DrowsyError, match="read-only"):
            check([Output("--json", data / "new.json")])
        with pytest.raises(DrowsyError, match="read-only"):
            write_text(data / "new.json", "{}", "--json")
    finally:
        data.chmod(0o755)
    assert readme.read_text() == "the data's only description" and sorted(p.name for p in data.iterdir()) == ["README.md"]
