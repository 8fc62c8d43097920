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
from drowsy.runtime.calibrate import MIN_OPEN_S, Samples, measure  # Samples: re-exported
from drowsy.runtime.calibrate_collect import Guide
from drowsy.runtime.calibrate_geometry import find_closures

G, FPS, EAR_OPEN, EAR_SHUT = 0.7015, 30.0, 0.28, 0.06


def samples(scores, phase="video", face=None, ear=None) -> Samples:
    """Synthetic calibration frames; `ear` (default: open, 0.28) is what the landmarks see."""
    s = np.asarray(scores, float)
    n = len(s)
    face = np.isfinite(s) if face is None else np.asarray(face, bool)
    ear = np.full(n, EAR_OPEN) if ear is None else np.asarray(ear, float)
    return Samples(t=np.arange(n) / FPS, face=face, fused=s, p=np.stack([s, s], axis=1),
                   yaw=np.where(face, 3.0, np.nan), pitch=np.where(face, -2.0, np.nan),
                   phase=np.asarray(phase if not isinstance(phase, str) else [phase] * n),
                   ear=np.where(face, ear, np.nan))


def _measure(smp, live=False, **kw):
    return measure(smp, live, G, 0.1, "ann", "a" * 64, "test", **kw)


def _blinks(n, starts, lids=(0.2, 0.07, 0.06, 0.18)):
    """An EAR trace at the open level with a blink (lids dropping and reopening) at each start."""
    ear = np.full(n, EAR_OPEN)
    for a in starts:
        ear[a:a + len(lids)] = lids
    return ear


def test_blinks_are_found_from_the_lids_and_kept_out_of_the_open_baseline():
    ear = _blinks(150, (40, 100))
    ear[70] = 0.22  # one frame of landmark noise (a 21 % dip): not a blink, not open either
    open_m, closed_m, n = find_closures(np.arange(150) / FPS, (1 - ear / EAR_OPEN) / 0.3)
    assert n == 2
    assert np.flatnonzero(closed_m).tolist() == [41, 42, 101, 102]  # at least half-way to the peak
    assert not open_m[38:47].any() and open_m[:38].all() and not open_m[70]  # 0.1 s either side: moving lids


def test_a_clip_without_blinks_gives_an_open_only_profile_that_keeps_the_model_threshold():
    p = _measure(samples(np.full(150, 0.02)))
    assert p.basis == "open_only" and p.closed_threshold == pytest.approx(G) and "no closure seen" in p.note
    assert (p.yaw_centre_deg, p.pitch_centre_deg) == (3.0, -2.0)
    assert p.measured["open_frames"] == 150 and "fused_closed_median" not in p.measured
    assert p.geometry.weight == 0.0  # the model reads these open eyes well: the CNN alone


def test_a_clip_with_blinks_lowers_the_threshold_between_open_and_closed():
    s = np.full(150, 0.02)
    for a in (20, 60, 100):
        s[a:a + 4] = [0.5, 0.6, 0.62, 0.45]  # closed eyes that score below the model's 0.70
    p = _measure(samples(s, ear=_blinks(150, (20, 60, 100))))
    assert p.basis == "open_and_closed" and p.measured["closures"] == 3
    assert 0.02 + prof.MARGIN <= p.closed_threshold <= 0.6 and p.closed_threshold < G


def test_a_driver_whose_open_eyes_score_high_is_calibrated_from_the_lids():
    """Narrow eyes the model reads at 0.6-0.95 when open (slow to reopen after each blink): the
    old score-based search found almost no open frames; the lids say which frames are open."""
    rng = np.random.default_rng(0)
    s = rng.uniform(0.6, 0.9, 150)
    starts = (15, 55, 95, 130)
    for a in starts:
        s[a:a + 12] = [0.9, 0.99, 0.99, 0.98] + [0.95] * 8  # closed, then 8 slow frames after
    ear = _blinks(150, starts) * rng.uniform(0.97, 1.03, 150)
    p = _measure(samples(s, ear=ear), fusion_rule="ear-needed")
    m = p.measured
    assert m["open_s"] >= MIN_OPEN_S and m["closures"] == 4 and m["cnn_open_q99"] > 0.9
    assert p.geometry.weight > 0 and "reads these open eyes high" in p.note
    assert p.geometry.ear_closed < 0.1 < 0.25 < p.geometry.ear_open
    # The run's score (fusion.with_geometry) puts every open frame under the threshold, every closed one over.
    from drowsy.runtime.fusion import with_geometry

    fused = with_geometry(s, p.geometry.closedness(ear), p.geometry.weight)
    closed = np.zeros(150, bool)
    for a in starts:
        closed[a + 1:a + 3] = True
    is_open = ear > 0.26
    assert fused[is_open].max() < p.closed_threshold < fused[closed].min()
    with pytest.raises(DrowsyError, match="cannot calibrate"):  # the CNN alone cannot place a threshold
        _measure(samples(s, ear=ear), fusion_rule="cnn")


@pytest.mark.parametrize("n, face, why", [(int(FPS * 1.5), True, "too few frames: 1.50 s (45 frames) of open eyes"),
                                           (150, False, "no face: none of the 150 frames showed a face")])
def test_too_little_data_is_refused_with_one_line_saying_which(n, face, why):
    s = np.full(n, 0.02 if face else np.nan)
    with pytest.raises(DrowsyError) as e:
        _measure(samples(s, face=np.full(n, face)))
    assert why in str(e.value) and "\n" not in str(e.value)
    assert MIN_OPEN_S == 2.0


def _live(closed_score, lids_close=True):
    phases = ["ready"] * 60 + ["open"] * 450 + ["closed"] * 90 + ["blink"] * 180
    s = np.full(len(phases), 0.03)
    s[510:600] = closed_score
    s[650:653] = s[700:703] = 0.9  # two blinks after the closed phase
    ear = _blinks(len(phases), (650, 700), lids=(0.07, 0.06, 0.07))
    if lids_close:
        ear[510:600] = 0.05
    return samples(s, phase=phases, ear=ear)


def test_live_uses_the_closed_phase_and_refuses_lids_that_did_not_close():
    p = _measure(_live(0.8), live=True)
    assert p.basis == "open_and_closed" and p.measured["closures"] == 3
    assert p.measured["closed_frames"] == 90 - 24  # the first 0.8 s is reaction time
    p = _measure(_live(0.3), live=True)  # closed eyes the model reads low: the lids decide
    assert p.basis == "open_and_closed" and p.closed_threshold < G
    with pytest.raises(DrowsyError, match="did not look closed"):
        _measure(_live(0.8, lids_close=False), live=True)


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


@pytest.mark.mediapipe
@pytest.mark.shared
def test_a_driver_the_model_reads_as_closed_is_calibrated_on_a_real_clip(shared, landmarker):
    """Person 000003M's frontal clip through a model whose every score is raised to the power 0.03
    (open eyes read ~0.88, the order kept): the lids still say which frames are open, and with the
    profile every labelled open frame reads open and every labelled closed one closed."""
    from drowsy.evaluation.clips import read_labels
    from drowsy.runtime.calibrate_collect import calibration_pipeline, collect
    from drowsy.runtime.capture import VideoSource
    from drowsy.runtime.classify import EyeClassifier
    from drowsy.runtime.fusion import with_geometry

    clip = shared / ZJU / "000003M_FNN.mp4"
    classifier = EyeClassifier(default_eye_model(), device="cpu", threads=1)
    predict = classifier.predict
    classifier.predict = lambda batch: predict(batch) ** np.float32(0.03)
    with calibration_pipeline(classifier, landmarker, 4) as pipeline, VideoSource(clip) as src:
        smp = collect(src, pipeline, live=False)
    assert np.isfinite(smp.blink).all()  # the calibration landmarker gives the second cue
    p = measure(smp, False, classifier.threshold, 0.1, "p3", "a" * 64, "video")
    m = p.measured
    assert m["open_s"] >= MIN_OPEN_S and m["closures"] >= 2 and m["cnn_open_q99"] > 0.8
    assert p.geometry.weight > 0 and "reads these open eyes high" in p.note
    lab = read_labels(str(clip) + ".eyestate.csv", clip.name)
    score = with_geometry(smp.fused, p.geometry.closedness(smp.ear), p.geometry.weight)
    keep = ~lab.ambiguous & np.isfinite(score[lab.frame])
    s, closed = score[lab.frame][keep], lab.closed[keep]
    assert s[~closed].max() < p.closed_threshold < np.median(s[closed])
    assert np.mean(smp.fused[lab.frame][keep][~closed] >= classifier.threshold) > 0.9  # without: open reads closed
    with pytest.raises(DrowsyError, match="cannot calibrate"):
        measure(smp, False, classifier.threshold, 0.1, "p3", "a" * 64, "video", fusion_rule="cnn")


@pytest.mark.mediapipe
@pytest.mark.shared
def test_drowsy_run_applies_the_profiles_lid_geometry(shared, tmp_path, capsys):
    """A profile whose open EAR lies far above this face's: every frame's lids read shut (closedness
    1.5), so with full weight every judged frame is closed; the same profile at weight 0 changes nothing."""
    from drowsy.runtime.fusion import Geometry

    clip = shared / ZJU / "000003M_FBN.mp4"
    closed = {}
    for w in (0.0, 1.0):
        path, frames = tmp_path / f"p{w}.toml", tmp_path / f"f{w}.jsonl"
        prof.write(prof.Profile(name="p", closed_threshold=0.5, hysteresis=0.1, yaw_centre_deg=0.0,
                                pitch_centre_deg=0.0, model_sha256=sha256_of(default_eye_model()), basis="open_only",
                                geometry=Geometry(ear_open=2.0, ear_closed=1.9, weight=w)), path)
        assert main(["run", "--video", str(clip), "--headless", "--no-alarm", "--device", "cpu",
                     "--profile", str(path), "--out", str(frames)]) == 0
        states = [json.loads(ln)["closed"] for ln in open(frames)]
        closed[w] = [c for c in states if c is not None]
    assert len(closed[1.0]) > 100 and all(closed[1.0])
    assert sum(closed[0.0]) < len(closed[0.0]) / 4  # the CNN alone: mostly open
    assert any("lid geometry weight 1" in ln for ln in _err(capsys))
