"""eval-video, report and bench check their outputs against their inputs before any work and
end in one line when an output cannot be written."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from conftest import run_cli

CLIP = "videos/grid/brbk7n.mpg"


cli = run_cli


@pytest.fixture()
def clip(shared, tmp_path):
    p = tmp_path / "brbk7n.mpg"
    shutil.copy(shared / CLIP, p)
    shutil.copy(shared / (CLIP + ".eyestate.csv"), tmp_path / "brbk7n.mpg.eyestate.csv")
    return p


@pytest.mark.parametrize("flag", ["--json", "--plots-file"])
def test_eval_video_output_equal_to_an_input_keeps_it(capsys, clip, tiny_model, flag):
    labels = clip.with_name(clip.name + ".eyestate.csv")
    before = labels.read_bytes()
    if flag == "--json":
        argv = ["--json", labels]
    else:  # --plots DIR where DIR/roc_clean.png is (a link to) the labels
        (clip.parent / "plots").mkdir()
        os.link(labels, clip.parent / "plots" / "roc_clean.png")
        argv = ["--plots", clip.parent / "plots"]
    code, err = cli(capsys, "eval-video", "--video", clip, "--model", tiny_model, "--conditions", "clean", *argv)
    assert code == 2 and len(err) == 1 and "is the input labels" in err[0]
    assert labels.read_bytes() == before


@pytest.mark.parametrize("where, message", [
    ("under-a-file", "is a file"), ("folder", "it is a folder"), ("device", "not a regular file")])
def test_eval_video_unwritable_json_or_plots_is_one_line_before_any_work(capsys, clip, tiny_model, where, message):
    blocker = clip.parent / "file"
    blocker.write_text("")
    target = {"under-a-file": blocker / "x.json", "folder": clip.parent, "device": "/dev/null"}[where]
    code, err = cli(capsys, "eval-video", "--video", clip, "--model", tiny_model, "--conditions", "clean",
                    "--json", target)
    assert code == 1 and len(err) == 1 and message in err[0], err
    code, err = cli(capsys, "eval-video", "--video", clip, "--model", tiny_model, "--conditions", "clean",
                    "--plots", blocker)
    assert code == 1 and len(err) == 1 and "not a folder" in err[0]


def test_report_never_overwrites_its_run(capsys, tmp_path):
    run = tmp_path / "session.png"  # a run log with an unlucky name: the default -o is itself
    run.write_text('{"frame": 0, "t": 0.0}\n')
    code, err = cli(capsys, "report", run)
    assert code == 2 and len(err) == 1 and "is the input RUN" in err[0]
    assert run.read_text() == '{"frame": 0, "t": 0.0}\n'


def test_report_to_a_device_is_refused(capsys, tmp_path):
    run = tmp_path / "run.jsonl"
    run.write_text('{"frame": 0, "t": 0.0}\n')
    os.symlink("/dev/null", tmp_path / "null.png")
    code, err = cli(capsys, "report", run, "-o", tmp_path / "null.png")
    assert code == 1 and len(err) == 1 and "not a regular file" in err[0]
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_bench_json_equal_to_the_video_keeps_it(capsys, clip, tiny_model):
    before = clip.read_bytes()
    code, err = cli(capsys, "bench", "--video", clip, "--model", tiny_model, "--json", clip)
    assert code == 2 and len(err) == 1 and "is the input --video" in err[0]
    assert clip.read_bytes() == before
    code, err = cli(capsys, "bench", "--video", clip, "--threads", 100000)
    assert code == 2 and len(err) == 1 and "--threads must be 0..256" in err[0]
