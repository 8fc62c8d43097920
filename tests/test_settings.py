"""Run settings: defaults < TOML file < flags, --print-config round trip, invalid values."""

from __future__ import annotations

import argparse
import tomllib

import pytest

from drowsy.cli import _Parser
from drowsy.errors import DrowsyError, UsageError
from drowsy.settings import ModelConfig, OutputConfig, RunConfig, SourceConfig, TemporalConfig
from drowsy.settings_io import add_run_arguments, load_toml, resolve, to_toml


def parse(argv: list[str]) -> argparse.Namespace:
    p = _Parser(prog="drowsy run")
    add_run_arguments(p)
    return p.parse_args(argv)


def cfg_of(argv: list[str]) -> RunConfig:
    return resolve(parse(argv))


def write(tmp_path, text: str, name: str = "run.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_without_flags():
    cfg = cfg_of([])
    assert cfg == RunConfig(SourceConfig(), ModelConfig(), TemporalConfig(), OutputConfig())
    assert cfg.temporal.window_s == 60.0 and cfg.temporal.microsleep_s == 1.5 and cfg.output.alarm


def test_precedence_default_toml_flag(tmp_path):
    path = write(tmp_path, """
[source]
video = "clip.mp4"
[model]
jitter = 4
device = "cpu"
[temporal]
window_s = 30
perclos_alert = 0.2
[output]
alarm = false
""")
    cfg = cfg_of(["--config", path, "--jitter", "2", "--alarm", "--microsleep", "2.5"])
    assert cfg.model.jitter == 2  # flag over file
    assert cfg.output.alarm is True  # flag over file, for a switch too
    assert cfg.temporal.microsleep_s == 2.5  # flag over default
    assert cfg.model.device == "cpu" and cfg.source.video == "clip.mp4"  # file over default
    assert cfg.temporal.window_s == 30.0 and isinstance(cfg.temporal.window_s, float)
    assert cfg.temporal.perclos_clear == 0.10 and cfg.model.threads == ModelConfig().threads  # defaults stay


def test_a_source_flag_replaces_the_files_source(tmp_path):
    path = write(tmp_path, '[source]\nvideo = "clip.mp4"\nrealtime = true\n')
    cfg = cfg_of(["--config", path, "--camera", "1"])
    assert (cfg.source.camera, cfg.source.video, cfg.source.url) == (1, None, None)
    assert cfg.source.realtime is True


def test_short_window_brings_min_assessable_along():
    assert cfg_of(["--window", "10"]).temporal.min_assessable_s == 5.0
    assert cfg_of(["--window", "120"]).temporal.min_assessable_s == 30.0
    with pytest.raises(UsageError, match="--min-assessable"):
        cfg_of(["--window", "10", "--min-assessable", "20"])


def test_print_config_loads_back(tmp_path):
    argv = ["--url", 'rtsp://user:pa"ss@cam\\1/stream', "--realtime", "--reconnect-max", "12.5",
            "--model", "models/eyé.onnx", "--device", "cuda", "--jitter", "0", "--threads", "3",
            "--window", "45", "--perclos-alert", "0.2", "--perclos-clear", "0.12", "--min-assessable", "20",
            "--microsleep", "1.2", "--closed-threshold", "0.42", "--hysteresis", "0.05", "--min-alert", "1",
            "--cooldown", "0", "--not-visible", "4", "--max-gap", "0.25", "--max-yaw", "40",
            "--max-pitch-down", "20", "--max-pitch-up", "33", "--min-brightness", "15.5", "--headless", "--out", "frames.jsonl",
            "--events", "ev.jsonl", "--no-alarm", "--mediapipe-logs"]
    cfg = cfg_of(argv)
    text = to_toml(cfg)
    tomllib.loads(text)  # valid TOML
    again = cfg_of(["--config", write(tmp_path, text)])
    assert again == cfg
    assert cfg.temporal.closed_threshold == 0.42 and cfg.source.url.startswith("rtsp://user:pa\"ss")
    # Defaults round-trip too, with the unset values left out.
    plain = to_toml(cfg_of([]))
    assert "# video = (unset)" in plain and "# closed_threshold = (unset: the eye model's threshold)" in plain
    assert cfg_of(["--config", write(tmp_path, plain, "plain.toml")]) == cfg_of([])


def test_print_config_can_mask_the_stream_password():
    text = to_toml(cfg_of(["--url", "rtsp://me:secret@cam/s"]), mask_secrets=True)
    assert "secret" not in text and "***" in text


@pytest.mark.parametrize("argv, flag", [
    (["--jitter", "-1"], "--jitter"),
    (["--jitter", "99"], "--jitter"),
    (["--window", "0"], "--window"),
    (["--window", "-5"], "--window"),
    (["--window", "nan"], "--window"),
    (["--perclos-alert", "1.5"], "--perclos-alert"),
    (["--perclos-clear", "0.3"], "--perclos-clear"),  # above the alert level (0.15)
    (["--closed-threshold", "-0.1"], "--closed-threshold"),
    (["--hysteresis", "2"], "--hysteresis"),
    (["--microsleep", "-1"], "--microsleep"),
    (["--cooldown", "-3"], "--cooldown"),
    (["--max-gap", "0"], "--max-gap"),
    (["--min-brightness", "300"], "--min-brightness"),
    (["--threads", "-1"], "--threads"),
    (["--camera", "-1"], "--camera"),
    (["--reconnect-max", "inf"], "--reconnect-max"),
    (["--video", ""], "--video"),
])
def test_invalid_values_are_usage_errors_naming_the_flag(argv, flag):
    with pytest.raises(UsageError) as e:
        cfg_of(argv)
    msg = str(e.value)
    assert msg.startswith(flag + " ") and "\n" not in msg and "got" in msg


def test_invalid_value_in_the_file_names_the_key(tmp_path):
    path = write(tmp_path, "[temporal]\nwindow_s = -1\n")
    with pytest.raises(UsageError, match=r"\[temporal\] window_s in .*run.toml must be > 0"):
        cfg_of(["--config", path])
    # The same value given as a flag is fine and wins.
    assert cfg_of(["--config", path, "--window", "20"]).temporal.window_s == 20.0


@pytest.mark.parametrize("text, match", [
    ("[sorce]\ncamera = 1\n", "unknown section.*sorce"),
    ("[temporal]\nwindow = 60\n", r"unknown key.*\[temporal\].*window"),
    ("[model]\nwindow_s = 60\n", r"unknown key.*\[model\].*window_s"),  # right key, wrong section
    ("[temporal]\nwindow_s = \"60\"\n", "window_s must be a number"),
    ("[model]\njitter = 2.5\n", "jitter must be a whole number"),
    ("[output]\nalarm = 1\n", "alarm must be true or false"),
    ("[source]\nvideo = \"a.mp4\"\nurl = \"rtsp://x\"\n", "video or url, not both"),
    ("camera = 1\n", "unknown section.*camera"),
])
def test_bad_files_are_usage_errors(tmp_path, text, match):
    with pytest.raises(UsageError, match=match):
        cfg_of(["--config", write(tmp_path, text)])


def test_missing_or_broken_file_is_a_drowsy_error(tmp_path):
    with pytest.raises(DrowsyError, match="not found.*nope.toml") as e:
        load_toml(tmp_path / "nope.toml")
    assert not isinstance(e.value, UsageError)  # exit 1, not 2
    path = write(tmp_path, "[temporal]\nwindow_s = 60\nmicrosleep_s = = 2\n", "broken.toml")
    with pytest.raises(DrowsyError, match=r"broken.toml.*line 3") as e:
        load_toml(path)
    assert not isinstance(e.value, UsageError)


def test_source_flags_are_mutually_exclusive(capsys):
    with pytest.raises(SystemExit) as e:
        parse(["--video", "a.mp4", "--url", "rtsp://x"])
    assert e.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_wrong_type_on_the_command_line_is_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        parse(["--window", "abc"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        parse(["--device", "gpu"])


def test_help_text_shows_each_default_from_the_dataclass(capsys):
    with pytest.raises(SystemExit):
        parse(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"PERCLOS window in seconds ({TemporalConfig.window_s:g})" in out
    assert f"eyes closed this long raise an alert at once ({TemporalConfig.microsleep_s:g})" in out
    assert "jittered crops per eye, 0..16 (8)" in out


def test_one_section_for_commands_that_use_only_temporal(tmp_path):
    # eval-video and report read the run's [temporal] settings: file < flags, validated as in run.
    import argparse

    from drowsy.settings_io import add_section_arguments, resolve_section

    p = _Parser()
    p.add_argument("--config")
    add_section_arguments(p, ("temporal",))
    path = write(tmp_path, "[temporal]\nmicrosleep_s = 1.0\nperclos_alert = 0.3\n")
    t = resolve_section(p.parse_args(["--config", str(path), "--microsleep", "2"]), "temporal")
    assert (t.microsleep_s, t.perclos_alert, t.window_s) == (2.0, 0.3, 60.0)
    assert resolve_section(argparse.Namespace(config=None), "temporal") == TemporalConfig()
    with pytest.raises(SystemExit):
        p.parse_args(["--camera", "1"])  # only the temporal flags exist here
    with pytest.raises(UsageError, match="--microsleep must be > 0"):
        resolve_section(p.parse_args(["--microsleep", "0"]), "temporal")


def test_docs_defaults_table_matches_the_settings():
    # The table of defaults in docs/alerts.md is for people; settings.py is the truth. They must agree.
    import re
    from pathlib import Path

    from drowsy.settings import FIELDS, default_of
    from drowsy.settings_io import flag_of

    by_flag = {flag_of(name): name for name in FIELDS}
    readme = (Path(__file__).resolve().parent.parent / "docs" / "alerts.md").read_text()
    rows = [r for r in readme.splitlines() if re.match(r"^\| [^|]+ \| `--", r)]
    assert len(rows) >= 8
    checked = 0
    for row in rows:
        cols = [c.strip() for c in row.strip("|").split("|")]
        flags = re.findall(r"`(--[a-z-]+)`", cols[1])
        numbers = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", cols[2])]
        wanted = [default_of(by_flag[f]) for f in flags if f in by_flag]
        wanted = [w for w in wanted if w is not None]
        assert numbers[:len(wanted)] == pytest.approx(wanted), row
        checked += len(wanted)
    assert checked >= 12


def test_landmarks_every_takes_a_number_or_auto_from_flags_and_toml(tmp_path):
    assert cfg_of([]).model.landmarks_every == "1"
    assert cfg_of(["--landmarks-every", "auto"]).model.landmarks_every == "auto"
    assert str(cfg_of(["--config", write(tmp_path, "[model]\nlandmarks_every = 6\n")]).model.landmarks_every) == "6"
    assert cfg_of(["--config", write(tmp_path, '[model]\nlandmarks_every = "auto"\n')]).model.landmarks_every == "auto"
    with pytest.raises(UsageError, match=r"landmarks_every in .*run.toml must be auto or a whole number from 1 to 30"):
        cfg_of(["--config", write(tmp_path, "[model]\nlandmarks_every = 0\n")])
    with pytest.raises(UsageError, match=r"^--landmarks-every must be auto"):
        cfg_of(["--landmarks-every", "every"])
