"""The scenario generator through the real landmarker: labels line up with the decoded frames, a
slid-out picture holds no face, a turned head (its eyes with it) and shifted irises read as
commanded; the suite end to end through the driver-state logic (a core set by default, every
scenario with DROWSY_SCENARIO_SUITE=1). All clips here are synthetic, made from one GRID clip (CC BY 4.0)."""

import json
import os

import numpy as np
import pytest

from drowsy.cli import main as cli
from drowsy.evaluation.scenario_eval import run_suite
from drowsy.evaluation.scenario_render import lid_gap, load_source, render, render_frame, write_scenario
from drowsy.evaluation.scenario_suite import CORE, suite
from drowsy.evaluation.scenarios import FramePlan, Move, Scenario
from drowsy.evaluation.warp import mesh_topology, turn_head
from drowsy.runtime.capture import VideoSource
from drowsy.runtime.landmarks import Landmarker
from drowsy.types import Frame

GRID = "videos/grid/brbk7n.mpg"
SLUMP = Scenario("test_slump", 2.4, "closure, then the picture slides down", "closure_drop", 0.4,
                 (Move(1.4, None, "out_of_view", slide=1.0, ramp_s=0.6),), closed=((0.4, 2.4),))


@pytest.fixture(scope="module")
def source(shared, landmarker):
    return load_source(shared / GRID, landmarker)


@pytest.fixture(scope="module")
def slump_clip(source, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    clip, meta = write_scenario(SLUMP, source, folder)
    return clip, json.loads(meta.read_text()), folder


def faces(landmarker, images, repeat=1):
    """The runtime's landmarker over the images (each shown `repeat` times; the last face kept)."""
    out = []
    with Landmarker(landmarker) as lm:
        t = 0.0
        for img in images:
            for _ in range(repeat):
                face = lm(Frame(img, 0, t))
                t += 0.04
            out.append(face)
    return out


def test_decoded_frames_line_up_with_labels(source, slump_clip):
    clip, doc, folder = slump_clip
    assert doc["synthetic"] is True and doc["expect"]["needs"][0]["label"] == "closure"
    rendered, labels = render(SLUMP, source)
    assert doc["frames"] == json.loads(json.dumps(labels)) and len(labels) == 60  # 2.4 s at 25 fps
    with VideoSource(clip) as src:
        decoded = [f.image for f in src]
    assert len(decoded) == len(labels)
    for i, img in enumerate(decoded):
        err = [np.abs(img.astype(int) - rendered[j].astype(int)).mean() if 0 <= j < len(rendered) else np.inf
               for j in range(i - 2, i + 3)]
        assert err[2] < 3.0, (i, err)  # frame i is label i (JPEG at quality 95 costs ~1 gray level)
        same = [np.abs(rendered[i].astype(int) - rendered[j].astype(int)).mean() < 0.5 if np.isfinite(e) else False
                for j, e in zip(range(i - 2, i + 3), err)]
        assert int(np.argmin(err)) == 2 or same[int(np.argmin(err))], (i, err)
    assert [lab["eyes"] for lab in labels[10:60]] == ["closed"] * 50
    assert labels[0]["visible"] and labels[0]["on_road"] and not labels[-1]["visible"]
    mtime = clip.stat().st_mtime_ns
    assert write_scenario(SLUMP, source, folder)[0].stat().st_mtime_ns == mtime  # cached, not made again


def test_slid_out_picture_has_no_face(landmarker, slump_clip):
    clip, doc, _ = slump_clip
    with VideoSource(clip) as src:
        images = [f.image for f in src]
    found = [f is not None for f in faces(landmarker, images)]
    assert all(found[:30])  # before the slide
    hidden = [i for i, lab in enumerate(doc["frames"]) if not lab["visible"]]
    assert len(hidden) >= 8 and not any(found[i] for i in hidden[-8:])


def plan(**kw):
    base = dict(index=0, t=0.0, src=0, eyes="open", zone=None, yaw=0.0, pitch=0.0, iris=(0.0, 0.0), slide=0.0,
                slide_dir="down")
    return FramePlan(**{**base, **kw})


def test_turned_head_reads_the_commanded_pose(landmarker, source):
    poses = [(0.0, 0.0), (30.0, 0.0), (-30.0, 0.0), (0.0, -30.0)]
    got = faces(landmarker, [render_frame(source, plan(yaw=y, pitch=p))[0] for y, p in poses], repeat=3)
    assert all(f is not None for f in got)
    yaw0, pitch0 = got[0].yaw_deg, got[0].pitch_deg
    for (yaw, pitch), f in zip(poses[1:], got[1:]):
        cmd, read = (yaw, f.yaw_deg - yaw0) if yaw else (pitch, f.pitch_deg - pitch0)
        assert np.sign(read) == np.sign(cmd) and 0.5 * abs(cmd) <= abs(read) <= 1.5 * abs(cmd), (yaw, pitch, read)


def eye_gray(img, pts):
    """Mean gray inside each eye's contour (its convex hull)."""
    import cv2

    out = []
    for contour in mesh_topology()["eyes"]:
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(pts[contour, :2]).astype(np.int32)), 1)
        out.append(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[mask > 0].mean())
    return np.array(out)


@pytest.mark.parametrize("yaw, pitch", [(0.0, -30.0), (-25.0, -20.0)])
def test_the_eyes_move_with_the_head(source, yaw, pitch):
    # The mesh has holes at the eyes: unfilled, they kept the unmoved picture (forehead skin, ~130
    # gray levels here against the eyes' ~86), which the eye model read as closed eyes.
    img, pts = source.frames[5], source.points[5]
    warped, moved = turn_head(img, pts, yaw, pitch)
    assert np.all(np.abs(eye_gray(warped, moved) - eye_gray(img, pts)) < 12), (eye_gray(warped, moved), eye_gray(img, pts))


def test_a_held_closure_shows_the_most_closed_frame(source):
    start, c0, c1, end = source.clip.blink
    gaps = [lid_gap(p) for p in source.points]
    assert start <= c0 <= c1 <= end and min(gaps[c0:c1 + 1]) == min(gaps[start:end + 1])
    assert max(gaps[c0:c1 + 1]) <= min(gaps) + 0.02  # never a half-shut frame in the held closure


def test_iris_shift_moves_the_landmarkers_irises(landmarker, source):
    shifts = [(0.0, 0.0), (0.3, 0.0), (-0.3, 0.0)]
    got = faces(landmarker, [render_frame(source, plan(iris=s))[0] for s in shifts], repeat=3)
    # Iris centres (468, 473) against the eye corners (33/133, 362/263): head motion cancels out.
    rel = [f.landmarks[[468, 473], 0] - f.landmarks[[[33, 133], [362, 263]], 0].mean(axis=1) for f in got]
    assert np.all(rel[1] - rel[0] > 1.0) and np.all(rel[2] - rel[0] < -1.0), rel


def test_eyes_closed_7s_end_to_end(shared, landmarker, tmp_path):
    """eval-video --scenarios: eyes closed 7 s raise a closure alert within 3 s of the closure and
    unresponsive within 7 s, and the JSON holds the times."""
    out = tmp_path / "r.json"
    code = cli(["eval-video", "--scenarios", str(tmp_path / "clips"), "--only", "eyes_closed_7s",
                "--landmarker", str(landmarker), "--scenario-source", str(shared / GRID), "--json", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    r = {s["name"]: s for s in doc["scenarios"]}
    assert doc["synthetic"] and doc["total"] == 1 and doc["passed"] == 1
    closure, unresponsive = r["eyes_closed_7s"]["needs"]
    assert closure["label"] == "closure" and closure["ok"] and 1.0 <= closure["delay_s"] <= 3.0
    assert unresponsive["label"] == "unresponsive" and unresponsive["ok"] and 5.5 <= unresponsive["delay_s"] <= 7.0
    assert r["eyes_closed_7s"]["unexpected"] == []  # no false alarm before the closure
    assert doc["per_need"]["unresponsive"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0}
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == ["eyes_closed_7s.avi",
                                                                      "eyes_closed_7s.scenario.json"]


def test_scenarios_refuse_bad_flags_before_making_anything(shared, tmp_path, capsys):
    base = ["eval-video", "--scenarios", str(tmp_path / "clips"), "--only", "eyes_closed_7s",
            "--scenario-source", str(shared / GRID)]
    assert cli(base + ["--jitter", "99"]) == 2 and "--jitter" in capsys.readouterr().err
    assert cli(base + ["--landmarks-every", "4"]) == 2 and "--landmarks-every" in capsys.readouterr().err
    assert not (tmp_path / "clips").exists()


def test_normal_blinks_raise_nothing(shared, landmarker, tmp_path):
    blinks = Scenario("test_blinks", 7.0, "looking ahead, three normal blinks", "none", 0.0,
                      blinks_s=(1.0, 3.2, 5.5))
    (r,) = run_suite([blinks], shared / GRID, landmarker, tmp_path)
    assert r.passed and [n for _, n in r.names].count("blink") >= 2 and r.face_frames == r.frames


# The suite against the driver-state logic (issue 19), made once per session: the core set always
# (about a minute on a 2-core box), every scenario with DROWSY_SCENARIO_SUITE=1 (a few minutes).
FULL = bool(os.environ.get("DROWSY_SCENARIO_SUITE"))


@pytest.fixture(scope="session")
def suite_results(shared, landmarker, tmp_path_factory):
    names = None if FULL else ",".join(CORE)
    return {r.name: r for r in run_suite(names, shared / GRID, landmarker, tmp_path_factory.mktemp("suite"))}


@pytest.mark.parametrize("name", CORE)
def test_core_scenario_gives_its_expected_outcome(suite_results, name):
    r = suite_results[name]
    assert r.passed, r.to_json()
    assert all(n.t is not None and n.delay_s <= n.within_s for n in r.needs)


# Eye-only glances of 4 s: the warp's iris shift reads back as at most 0.11 eye widths sideways and
# never below the eye corners' middle, under the runtime's limits (0.25 sideways, set above every
# labelled real frame; looking down needs 0.08 and eyeLookDown 0.5): no distraction (docs/scenarios.md).
LIZARD = "the generator's iris shift reads back under the runtime's gaze limits"
KNOWN = {f"lizard_{zone}_4s": LIZARD for zone in ("mirror", "infotainment", "footwell")}


@pytest.mark.skipif(not FULL, reason="the whole scenario suite: set DROWSY_SCENARIO_SUITE=1")
@pytest.mark.parametrize("name", [pytest.param(s.name, marks=pytest.mark.xfail(reason=KNOWN[s.name], strict=True))
                                  if s.name in KNOWN else s.name for s in suite() if s.name not in CORE])
def test_every_scenario_gives_its_expected_outcome(suite_results, name):
    r = suite_results[name]
    assert r.passed, r.to_json()
