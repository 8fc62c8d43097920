import json

import numpy as np
import pytest

from drowsy.cli import main as cli
from drowsy.evaluation.clips import ClipPass, Labels, clip_info, find_pairs, read_labels, threshold_blinks
from drowsy.evaluation.summary import summarise
from drowsy.evaluation.tables import all_tables

ZJU = "000015F_FNN.mp4"  # 133 frames: one full blink (63-72), one never fully closed (23-27),
# frame 0 and frames 131-132 without a label


@pytest.fixture(scope="module")
def evaluated(shared, tmp_path_factory):
    """eval-video on one small ZJU clip, clean + lowres + clean at 15 FPS, with the shipped model;
    then again from the recorded landmarker passes."""
    tmp = tmp_path_factory.mktemp("eval")
    zju = shared / "videos" / "zju"
    args = ["eval-video", "--video", str(zju / ZJU), "--conditions", "clean,lowres", "--rates", "15",
            "--landmarker", str(shared / "models" / "face_landmarker.task"), "--jitter", "2",
            "--cache", str(tmp / "cache")]
    code = cli(args + ["--plots", str(tmp / "plots"), "--json", str(tmp / "eval.json")])
    again = cli(args + ["--json", str(tmp / "again.json")])
    assert code == 0 and again == 0
    return json.loads((tmp / "eval.json").read_text()), json.loads((tmp / "again.json").read_text()), tmp


@pytest.mark.mediapipe
@pytest.mark.shared
def test_eval_video_on_a_zju_clip(evaluated):
    doc, _, _ = evaluated
    assert list(doc["results"]) == ["clean", "lowres", "clean@15fps"]
    clean = doc["results"]["clean"]
    # Frame 0 and 131-132 carry no label, 10 more are blink transitions: 13 partial_ambiguous.
    assert clean["excluded_ambiguous"] == 13 and clean["frames"] == 133 - 13 and clean["closed"] == 5
    for r in doc["results"].values():
        for m in ("ours", "blendshape", "ear"):
            b = r["methods"][m]["blinks"]
            assert b["tp"] + b["fn"] == 1  # the incomplete blink is not a blink to find
            assert len({x["n"] for x in r["methods"].values()}) == 1  # one landmarker pass for all three
    # The baselines' thresholds are fitted on this clip: they find its blink without a false one.
    for m in ("blendshape", "ear"):
        assert clean["methods"][m]["blinks"]["tp"] == 1 and clean["methods"][m]["blinks"]["fp"] == 0
    assert clean["methods"]["ours"]["blinks"]["fp"] == 0 and clean["alerts_ours"] == 0
    assert clean["persons"].keys() == {"000015"} and clean["groups"].keys() == {"glasses:none"}
    assert doc["results"]["lowres"]["size"] == ["107x80"]
    assert doc["results"]["clean@15fps"]["frames"] < 0.6 * clean["frames"]  # every other frame kept
    assert "favours them" in doc["baselines"]


@pytest.mark.mediapipe
@pytest.mark.shared
def test_replayed_landmarker_passes_give_the_same_figures(evaluated):
    doc, again, tmp = evaluated
    assert again["results"] == doc["results"]
    assert len(list((tmp / "cache").glob("*.npz"))) == 3  # one pass per condition and rate


@pytest.mark.mediapipe
@pytest.mark.shared
def test_eval_video_writes_roc_plots(evaluated):
    _, _, tmp = evaluated
    for name in ("clean", "lowres", "clean@15fps"):
        png = tmp / "plots" / f"roc_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 5000


def _clip(scores: dict, face=None, blinks=()) -> ClipPass:
    n = len(next(iter(scores.values())))
    return ClipPass(video="x.mp4", condition="clean", frame=np.arange(n), t=np.arange(n) / 25,
                    face=np.ones(n, bool) if face is None else np.asarray(face, bool),
                    scores={k: np.asarray(v, float) for k, v in scores.items()}, blinks_ours=tuple(blinks),
                    size=(64, 48))


def test_summarise_counts_faceless_frames_and_matches_blinks():
    closed = np.zeros(20, bool)
    closed[5:8] = True
    labels = Labels(frame=np.arange(20), closed=closed, ambiguous=np.zeros(20, bool),
                    blinks=((5, 8),), other_events=((14, 16),))
    perfect = closed.astype(float)
    face = np.ones(20, bool)
    face[0] = False
    nan_at0 = np.where(face, 1.0, np.nan)
    # The EAR stand-in also fires on frames 14-15, inside a labelled partial closure:
    # that detection counts neither as a hit nor as a false alarm.
    ear = perfect.copy()
    ear[14:16] = 1.0
    clip = _clip({"ours": perfect * nan_at0, "blendshape": (1 - perfect) * nan_at0, "ear": ear * nan_at0},
                 face=face, blinks=[(5, 7), (11, 12)])
    r = summarise([(clip, labels)])
    assert r["no_face"] == 1 and r["closed"] + r["open"] == 19
    assert r["methods"]["ours"]["auc"] == 1.0 and r["methods"]["blendshape"]["auc"] == 0.0
    assert r["methods"]["ours"]["blinks"] == {"tp": 1, "fp": 1, "fn": 0, "ignored": 0, "precision": 0.5,
                                              "recall": 1.0, "f1": 2 / 3, "rule": "monitor blink events"}
    assert r["methods"]["ear"]["blinks"]["tp"] == 1 and r["methods"]["ear"]["blinks"]["fp"] == 0
    assert r["ours_at_least_baselines"] is True  # ours separates perfectly, the others do not
    text = all_tables({"clean": r})
    assert "| clean |" in text and "1.0000" in text


def test_threshold_blinks_breaks_runs_at_faceless_frames():
    s = [0, 1, 1, np.nan, 1, 0, 0, 1]
    clip = _clip({"ours": s, "blendshape": s, "ear": s})
    assert threshold_blinks(clip, "ear", 0.5) == ((1, 2), (4, 4), (7, 7))


@pytest.mark.shared
def test_labels_and_pairs_from_shared(shared):
    pairs = find_pairs(shared / "videos")
    assert len(pairs) == 41 and all(v.is_file() and lab.is_file() for v, lab in pairs)
    lab = read_labels(shared / "videos" / "grid" / "lrwp9a.mpg.eyestate.csv", "lrwp9a.mpg")
    assert lab.ambiguous.sum() == 17 and lab.blinks == () and len(lab.other_events) == 2
    lab = read_labels(shared / "videos" / "grid" / "id2_vcd_swwp2s.mpg.eyestate.csv", "id2_vcd_swwp2s.mpg")
    assert lab.blinks == ((26, 31), (43, 48), (71, 74))


@pytest.mark.shared
def test_zju_labels_persons_and_groups(shared):
    zju = shared / "videos" / "zju"
    # The labellers' clip starts at frame 6: frames 0-5 are partial_ambiguous, never "open".
    lab = read_labels(zju / "000004M_FBN.mp4.eyestate.csv", "000004M_FBN.mp4")
    assert lab.frame[0] == 0 and lab.ambiguous[:6].all() and not lab.closed[:6].any() and not lab.ambiguous[6]
    # A blink never fully closed is a don't-care event, not a blink to find.
    lab = read_labels(zju / "000007M_UNN.mp4.eyestate.csv", "000007M_UNN.mp4")
    assert len(lab.blinks) == 3 and sorted(lab.other_events) == [(22, 26), (76, 80)]
    total = sum(len(read_labels(lab, v.name).blinks) for v, lab in find_pairs(shared / "videos"))
    assert total == 106 + 7  # ZJU's fully closed blinks, then GRID's and dinoman's
    infos = {v.name: clip_info(v) for v, _ in find_pairs(shared / "videos")}
    assert infos["000001M_FTN.mp4"].person == "000001" and infos["000001M_FTN.mp4"].group == "glasses:thin"
    assert infos["000017F_FBN.mp4"].group == "glasses:black" and infos["000003M_UNN.mp4"].group == "upward"
    assert infos["brbk7n.mpg"].person == "grid:brbk7n" and infos["example.mp4"].group == "glasses:thin"
    assert len({i.person for i in infos.values()}) == 17


@pytest.mark.shared
def test_cli_errors(shared, tmp_path, capsys):
    grid = shared / "videos" / "grid"
    assert cli(["eval-video", "--dir", str(grid), "--labels", "x.csv"]) == 2
    assert cli(["eval-video", "--video", str(grid / "brbk7n.mpg"), "--conditions", "foggy"]) == 2
    assert cli(["eval-video", "--video", str(grid / "brbk7n.mpg"), "--rates", "fast"]) == 2
    assert cli(["eval-video", "--video", str(grid / "brbk7n.mpg"), "--conditions", "dark", "--rates", "15"]) == 2
    assert cli(["eval-video", "--video", str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err
    assert "foggy" in err and "--rates" in err and "video not found" in err and "Traceback" not in err


def test_eval_video_takes_the_run_s_temporal_settings(tmp_path):
    # Our blinks come from the temporal stage, so --config / --microsleep etc. apply as in run.
    from drowsy.cli import build_parser
    from drowsy.settings_io import resolve_section

    cfg = tmp_path / "run.toml"
    cfg.write_text("[temporal]\nhysteresis = 0.2\n")
    args = build_parser().parse_args(["eval-video", "--dir", str(tmp_path), "--config", str(cfg),
                                      "--closed-threshold", "0.4"])
    t = resolve_section(args, "temporal")
    assert (t.hysteresis, t.closed_threshold) == (0.2, 0.4)


def test_persons_picks_the_clips_of_those_people_only(shared, capsys):
    # The clips a model never saw can be scored on their own (e.g. a training fold's test people).
    import argparse

    from drowsy.errors import UsageError
    from drowsy.evaluation.eval_video import _pairs

    def args(persons, video=None):
        return argparse.Namespace(dir=None if video else str(shared / "videos"), video=video, labels=None,
                                  persons=persons)

    picked = _pairs(args("000001,grid:brbk7n,dinoman:example"))
    names = sorted(v.name for v, _ in picked)
    assert names == sorted(["000001M_FBN.mp4", "000001M_FNN.mp4", "000001M_FTN.mp4", "000001M_UNN.mp4",
                            "brbk7n.mpg", "example.mp4"])
    with pytest.raises(UsageError, match="unknown 999999"):
        _pairs(args("000001,999999"))
    with pytest.raises(UsageError, match="goes with --dir"):
        _pairs(args("000001", video="x.mp4"))


@pytest.mark.mediapipe
@pytest.mark.shared
def test_landmarks_every_n_sets_beside_the_still_ones(shared, tmp_path, capsys):
    from drowsy.evaluation.eval_video import pass_sets

    assert pass_sets("clean,sway", "", "1,4") == [("clean", "clean", None, 1), ("clean:every4", "clean", None, 4),
                                                 ("sway", "sway", None, 1), ("sway:every4", "sway", None, 4)]
    args = ["eval-video", "--video", str(shared / "videos" / "grid" / "brbk7n.mpg"), "--conditions", "clean,sway",
            "--rates", "", "--landmarks-every", "1,4", "--jitter", "2", "--cache", str(tmp_path / "cache")]
    assert cli(args + ["--json", str(tmp_path / "a.json")]) == 0
    assert cli(args + ["--json", str(tmp_path / "b.json")]) == 0  # replayed: the same frames ask for landmarks
    out = capsys.readouterr().out
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["results"] == b["results"] and a["landmark_passes"] == b["landmark_passes"]
    used, frames = a["landmark_passes"]["sway:every4"]
    assert frames == 75 and 19 <= used < 40 and a["landmark_passes"]["clean"] == [75, 75]
    assert "sway:every4: landmarks on" in out
    for name in ("clean:every4", "sway:every4"):  # the clip's one blink, still found, no alert
        r = a["results"][name]
        assert r["methods"]["ours"]["blinks"]["tp"] == 1 and r["methods"]["ours"]["blinks"]["fp"] == 0
        assert r["alerts_ours"] == 0
    assert cli(args + ["--landmarks-every", "1,0"]) == 2 and "--landmarks-every" in capsys.readouterr().err
