"""`drowsy calibrate`: which frames count as open or closed, when it refuses, its prompts, its
command line, and (MediaPipe, ../shared) a profile from a real labelled clip and what it changes."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from drowsy.cli import build_parser, main
from drowsy.errors import DrowsyError
from drowsy.paths import default_eye_model, sha256_of
from drowsy.runtime import profile as prof
from drowsy.runtime.calibrate import MIN_OPEN_S, Samples, find_closures, measure  # Samples: re-exported
from drowsy.runtime.calibrate_collect import Guide

G, FPS = 0.7015, 30.0


def samples(scores, phase="video", face=None) -> Samples:
    s = np.asarray(scores, float)
    n = len(s)
    face = np.isfinite(s) if face is None else np.asarray(face, bool)
    return Samples(t=np.arange(n) / FPS, face=face, fused=s, p=np.stack([s, s], axis=1),
                   yaw=np.where(face, 3.0, np.nan), pitch=np.where(face, -2.0, np.nan),
                   phase=np.asarray(phase if not isinstance(phase, str) else [phase] * n))


def _measure(smp, live=False):
    return measure(smp, live, G, 0.1, "ann", "a" * 64, "test")


def test_blinks_are_found_and_kept_out_of_the_open_baseline():
    s = np.full(150, 0.02)
    s[40:44] = [0.4, 0.95, 0.97, 0.45]
    s[100:103] = [0.9, 0.92, 0.3]
    open_m, closed_m, n = find_closures(np.arange(150) / FPS, s)
    assert n == 2
    assert np.flatnonzero(closed_m).tolist() == [41, 42, 100, 101]  # above half-way to the peak
    assert not open_m[34:50].any() and open_m[:30].all()  # 0.2 s either side of a closure is neither


def test_a_clip_without_blinks_gives_an_open_only_profile_that_keeps_the_model_threshold():
    p = _measure(samples(np.full(150, 0.02)))
    assert p.basis == "open_only" and p.closed_threshold == pytest.approx(G) and "no closure seen" in p.note
    assert (p.yaw_centre_deg, p.pitch_centre_deg) == (3.0, -2.0)
    assert p.measured["open_frames"] == 150 and "fused_closed_median" not in p.measured


def test_a_clip_with_blinks_lowers_the_threshold_between_open_and_closed():
    s = np.full(150, 0.02)
    for a in (20, 60, 100):
        s[a:a + 4] = [0.5, 0.6, 0.62, 0.45]  # closed eyes that score below the model's 0.70
    p = _measure(samples(s))
    assert p.basis == "open_and_closed" and p.measured["closures"] == 3
    assert 0.02 + prof.MARGIN <= p.closed_threshold <= 0.6 and p.closed_threshold < G


@pytest.mark.parametrize("n, face, why", [(int(FPS * 1.5), True, "of open eyes facing the camera, need 2 s"),
                                           (150, False, "150 of 150 frames had no face")])
def test_too_little_data_is_refused_with_one_line(n, face, why):
    s = np.full(n, 0.02 if face else np.nan)
    with pytest.raises(DrowsyError, match="too little data") as e:
        _measure(samples(s, face=np.full(n, face)))
    assert why in str(e.value) and "\n" not in str(e.value)
    assert MIN_OPEN_S == 2.0


def _live(closed_score):
    phases = ["ready"] * 60 + ["open"] * 450 + ["closed"] * 90 + ["blink"] * 180
    s = np.full(len(phases), 0.03)
    s[510:600] = closed_score
    s[650:653] = s[700:703] = 0.9  # two blinks after the closed phase
    return samples(s, phase=phases)


def test_live_uses_the_closed_phase_and_refuses_eyes_that_did_not_close():
    p = _measure(_live(0.8), live=True)
    assert p.basis == "open_and_closed" and p.measured["closures"] == 3
    assert p.measured["closed_frames"] == 90 - 24  # the first 0.8 s is reaction time
    with pytest.raises(DrowsyError, match="did not look closed"):
        _measure(_live(0.05), live=True)


def test_the_guide_prompts_each_phase_once_and_beeps_to_open():
    out = io.StringIO()
    guide = Guide(out)
    steps = [guide(t) for t in np.arange(0, 27, 0.5)]
    text = out.getvalue()
    assert [s[0] for s in steps[:1]] == ["ready"] and steps[-1] is None
    order = [text.index(w) for w in ("Get ready", "Look at the road", "Close your eyes", "\a", "blink a few", "done")]
    assert order == sorted(order) and text.count("Close your eyes") == 1


# -- command line ---------------------------------------------------------------------------------

def _err(capsys):
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def test_calibrate_is_in_the_command_table():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert "calibrate" in sub.choices


@pytest.mark.parametrize("argv", [["--out", "p.toml"], ["--video", "v.mp4"], ["--camera", "0", "--video", "v.mp4",
                                  "--out", "p.toml"], ["--camera", "-1", "--out", "p.toml"],
                                  ["--camera", "0", "--out", "p.toml", "--jitter", "99"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as e:
        code = main(["calibrate", *argv])
        raise SystemExit(code)
    assert e.value.code == 2 and len(_err(capsys)) == 1


def test_out_is_checked_before_anything_is_opened(capsys, tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not a video, but an input all the same")
    existing = tmp_path / "old.toml"
    existing.write_text("keep me")
    for out, why in ((video, "is an input"), (existing, "exists; pass --force"),
                     (tmp_path / "no" / "p.toml", "does not exist"), (tmp_path, "is a folder")):
        assert main(["calibrate", "--video", str(video), "--out", str(out)]) == 1
        err = _err(capsys)
        assert len(err) == 1 and why in err[0], err
    assert existing.read_text() == "keep me" and video.read_bytes().startswith(b"not a video")


# -- real clips -----------------------------------------------------------------------------------

ZJU = "videos/zju"


def _labelled_blinks_found(events_path, labels_csv, video):
    from drowsy.evaluation.clips import read_labels

    lab = read_labels(labels_csv, video)
    starts = [json.loads(ln) for ln in open(events_path)]
    times = [(e["start"], e["start"] + e["duration_s"]) for e in starts if e["event"] == "blink"]
    # ZJU runs at 30 fps: a labelled blink (frames a..b) is found when a blink event overlaps it.
    return sum(any(t0 <= (b + 1) / FPS and a / FPS <= t1 for t0, t1 in times) for a, b in lab.blinks)


@pytest.mark.mediapipe
@pytest.mark.shared
def test_a_profile_from_a_labelled_clip_catches_blinks_on_another_clip(capsys, shared, tmp_path):
    """Person 000003M: calibrate on the no-glasses clip, run the black-frame glasses clip."""
    out = tmp_path / "p3.toml"
    assert main(["calibrate", "--video", str(shared / ZJU / "000003M_FNN.mp4"), "--out", str(out),
                 "--device", "cpu"]) == 0
    assert "wrote" in _err(capsys)[-1]
    p = prof.load(out, sha256_of(default_eye_model()))
    m = p.measured
    assert p.basis == "open_and_closed" and m["closures"] >= 2 and m["frames"] == 143
    assert m["fused_open_q99"] < p.closed_threshold < m["fused_closed_median"]
    test_clip = shared / ZJU / "000003M_FBN.mp4"
    found = {}
    for use in (False, True):
        events, frames = tmp_path / f"e{use}.jsonl", tmp_path / f"f{use}.jsonl"
        argv = ["run", "--video", str(test_clip), "--headless", "--no-alarm", "--device", "cpu",
                "--events", str(events), "--out", str(frames)] + (["--profile", str(out)] if use else [])
        assert main(argv) == 0
        found[use] = _labelled_blinks_found(events, str(test_clip) + ".eyestate.csv", test_clip.name)
        lines = [json.loads(ln) for ln in open(frames)]
        assert all(r.get("profile") == ("p3" if use else None) for r in lines)
    err = _err(capsys)
    assert any("profile p3: closed threshold" in ln for ln in err)
    assert found[True] >= found[False] and found[True] >= 3  # of the clip's 4 labelled blinks


@pytest.mark.mediapipe
@pytest.mark.shared
def test_a_guided_live_calibration_from_a_replayed_camera(shared, capsys):
    """A 'camera' at 5 fps replaying a real GRID clip: open eyes, a held closed frame when told to
    close them, two short blinks after; the ground truth is the construction."""
    from drowsy.runtime.calibrate_collect import calibration_pipeline, collect
    from drowsy.runtime.capture import ArraySource, VideoSource
    from drowsy.runtime.classify import EyeClassifier

    with VideoSource(shared / "videos/grid/brbk7n.mpg") as src:  # eyes closed on frames 21-23
        frames = [f.image for f in src]
    opened = [frames[i] for i in list(range(0, 18)) + list(range(28, 75))]
    schedule = [opened[i % len(opened)] for i in range(85)] + [frames[22]] * 15  # ready+open, closed
    schedule += [opened[i] for i in range(10)] + [frames[22]] + [opened[i] for i in range(10, 20)] + \
        [frames[22]] + [opened[i] for i in range(20, 30)]  # blink phase
    classifier = EyeClassifier(default_eye_model(), device="cpu", threads=1)
    with calibration_pipeline(classifier, shared / "models/face_landmarker.task", 8) as pipeline:
        smp = collect(ArraySource(schedule, fps=5.0), pipeline, live=True, headless=True)
    assert "Close your eyes" in capsys.readouterr().err
    assert smp.face.all() and set(smp.phase) == {"ready", "open", "closed", "blink"}
    p = measure(smp, True, classifier.threshold, 0.1, "grid", sha256_of(default_eye_model()), "camera 0")
    assert p.basis == "open_and_closed" and p.measured["closures"] >= 2
    assert p.measured["closed_frames"] >= 10 and p.measured["open_s"] >= 10
