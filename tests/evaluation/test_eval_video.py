import csv
import json

import numpy as np
import pytest

from drowsy.cli import main as cli
from drowsy.evaluation.clips import ClipPass, Labels, find_pairs, read_labels, threshold_blinks
from drowsy.evaluation.eval_video import summarise, tables

pytestmark = pytest.mark.mediapipe

CLIP = "brbk7n.mpg"  # 3 closed frames (one blink, frames 21-24), 72 open


@pytest.fixture(scope="module")
def evaluated(shared, tmp_path_factory):
    """One eval-video run on a GRID clip, with frames 40-49 relabelled partial_ambiguous."""
    from conftest import make_tiny_eye_model

    tmp = tmp_path_factory.mktemp("eval")
    model = make_tiny_eye_model(tmp / "tiny.onnx")
    grid = shared / "videos" / "grid"
    labels = tmp / (CLIP + ".eyestate.csv")
    with open(grid / (CLIP + ".eyestate.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if 40 <= int(r["frame"]) <= 49:
            r["partial_ambiguous"] = "1"
    with open(labels, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = tmp / "eval.json"
    code = cli(["eval-video", "--video", str(grid / CLIP), "--labels", str(labels),
                "--events", str(grid / "blink_events.csv"), "--conditions", "clean,lowres",
                "--model", str(model), "--landmarker", str(shared / "models" / "face_landmarker.task"),
                "--jitter", "2", "--plots", str(tmp / "plots"), "--json", str(out)])
    return code, json.loads(out.read_text()), tmp


def test_eval_video_reports_all_methods(evaluated, capsys):
    code, doc, tmp = evaluated
    assert code == 0
    assert set(doc["results"]) == {"clean", "lowres"}
    for cond, r in doc["results"].items():
        assert set(r["methods"]) == {"ours", "blendshape", "ear"}
        for m in r["methods"].values():
            assert 0.0 <= m["auc"] <= 1.0 and 0.0 <= m["eer"] <= 1.0
            assert m["blinks"]["tp"] + m["blinks"]["fn"] == 1  # the clip's one labelled blink
        assert CLIP in r["clips"]
    # The baselines see this frontal, well-lit blink clearly on the clean clip.
    assert doc["results"]["clean"]["methods"]["blendshape"]["auc"] > 0.9
    assert doc["results"]["clean"]["size"] == ["360x288"] and doc["results"]["lowres"]["size"] == ["120x96"]


def test_eval_video_leaves_out_ambiguous_frames(evaluated):
    _, doc, _ = evaluated
    r = doc["results"]["clean"]
    assert r["excluded_ambiguous"] == 10
    assert r["frames"] == 65
    assert r["closed"] + r["open"] + r["no_face"] == 65
    assert r["closed"] == 3
    # All three methods are scored on the same frames (they share one landmarker pass).
    assert len({m["n"] for m in r["methods"].values()}) == 1


def test_eval_video_writes_roc_plots(evaluated):
    _, _, tmp = evaluated
    for cond in ("clean", "lowres"):
        png = tmp / "plots" / f"roc_{cond}.png"
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
    r = summarise("clean", [(clip, labels)])
    assert r["no_face"] == 1 and r["closed"] + r["open"] == 19
    assert r["methods"]["ours"]["auc"] == 1.0 and r["methods"]["blendshape"]["auc"] == 0.0
    assert r["methods"]["ours"]["blinks"] == {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5, "recall": 1.0,
                                              "rule": "monitor blink events"}
    assert r["methods"]["ear"]["blinks"]["tp"] == 1 and r["methods"]["ear"]["blinks"]["fp"] == 0
    assert r["ours_at_least_baselines"] is True  # ours separates perfectly, the others do not
    text = tables({"clean": r})
    assert "| clean |" in text and "1.000" in text


def test_threshold_blinks_breaks_runs_at_faceless_frames():
    s = [0, 1, 1, np.nan, 1, 0, 0, 1]
    clip = _clip({"ours": s, "blendshape": s, "ear": s})
    assert threshold_blinks(clip, "ear", 0.5) == ((1, 2), (4, 4), (7, 7))


def test_labels_and_pairs_from_shared(shared):
    pairs = find_pairs(shared / "videos")
    assert len(pairs) == 41 and all(v.is_file() and lab.is_file() for v, lab in pairs)
    lab = read_labels(shared / "videos" / "grid" / "lrwp9a.mpg.eyestate.csv", "lrwp9a.mpg")
    assert lab.ambiguous.sum() == 17 and lab.blinks == () and len(lab.other_events) == 2
    lab = read_labels(shared / "videos" / "grid" / "id2_vcd_swwp2s.mpg.eyestate.csv", "id2_vcd_swwp2s.mpg")
    assert lab.blinks == ((26, 31), (43, 48), (71, 74))


def test_cli_errors(shared, tmp_path, capsys):
    grid = shared / "videos" / "grid"
    assert cli(["eval-video", "--dir", str(grid), "--labels", "x.csv"]) == 2
    assert cli(["eval-video", "--video", str(grid / CLIP), "--conditions", "foggy"]) == 2
    assert cli(["eval-video", "--video", str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err
    assert "foggy" in err and "labels not found" in err and "Traceback" not in err


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
