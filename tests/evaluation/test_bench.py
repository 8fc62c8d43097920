import json
import os

import numpy as np
import pytest

from drowsy.evaluation import benchstats
from drowsy.evaluation.bench import _looped_video
from drowsy.evaluation.benchstats import classifier_bench, summary_ms
from drowsy.cli import main as cli
from drowsy.evaluation.synthetic import synthetic_frames

pytestmark = pytest.mark.mediapipe

CLIP = "brbk7n.mpg"


def _check_stages(doc: dict) -> None:
    assert doc["fps"] > 0
    for stage in ("decode", "landmarks", "crop", "classify", "temporal", "total", "latency"):
        s = doc["stages"][stage]
        assert 0 <= s["p50_ms"] <= s["p90_ms"], stage
        assert s["mean_ms"] > 0
    # The pipeline's total covers its stages; a frame's latency covers its time in them.
    assert doc["stages"]["total"]["mean_ms"] >= doc["stages"]["landmarks"]["mean_ms"]
    assert doc["stages"]["latency"]["mean_ms"] >= doc["stages"]["total"]["mean_ms"] - 1e-6


def test_bench_on_a_real_clip_writes_json(shared, tiny_model, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = cli(["bench", "--video", str(shared / "videos" / "grid" / CLIP), "--frames", "6", "--warmup", "2",
                "--model", str(tiny_model), "--landmarker", str(shared / "models" / "face_landmarker.task"),
                "--jitter", "2", "--micro", "ours", "--device", "cpu", "--json", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    _check_stages(doc)
    assert doc["frames"] == 6 and doc["face_frames"] == 6
    assert doc["frame_size"] == [360, 288] and doc["jitter"] == 2
    assert doc["providers"][0] == "CPUExecutionProvider"
    assert doc["cpu"] and doc["versions"]["onnxruntime"]
    # The reference loop ran before and after ours on the same frames; the ratio is ours over it.
    ref = doc["reference"]
    assert len(ref["runs"]) == 2 and all(r["frames"] == 6 and r["fps"] > 0 for r in ref["runs"])
    assert doc["ratio"] == pytest.approx(doc["fps"] / ref["fps"])
    assert doc["parallel"] is True and doc["faces"] == 1 and doc["dropped"] == 0
    # Micro-benchmark: batch 1, one frame's crops (2 eyes x (J+1)), 64; one thread and all.
    rows = [(r["threads"], r["batch"]) for r in doc["classifier"] if r["model"] == "ours"]
    cores = os.cpu_count()
    assert rows == [(1, 1), (1, 6), (1, 64), (cores, 1), (cores, 6), (cores, 64)]
    assert not any(r["model"].startswith("ResNet") for r in doc["classifier"])
    table = capsys.readouterr().out
    assert "| landmarks |" in table and "frames/s" in table and "| ours | CPU | 1 | 64 crops |" in table
    assert "| latency (capture to result) |" in table and f"| **{doc['ratio']:.3f}** |" in table


def test_bench_synthetic_runs_every_stage(tiny_model, shared, tmp_path):
    out = tmp_path / "bench.json"
    code = cli(["bench", "--synthetic", "--size", "320x240", "--frames", "4", "--warmup", "1",
                "--model", str(tiny_model), "--landmarker", str(shared / "models" / "face_landmarker.task"),
                "--micro", "none", "--json", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    _check_stages(doc)
    assert doc["source"] == "synthetic face" and doc["frame_size"] == [320, 240]
    # The drawn face is found, so crop and classify ran on every measured frame.
    assert doc["face_frames"] == 4 and doc["stages"]["classify"]["n"] == 4
    assert doc["classifier"] == [] and doc["reference"] is None and doc["ratio"] is None


def test_synthetic_face_blinks_and_moves():
    frames = list(synthetic_frames(95, 160, 120, fps=30.0, blink_period_s=3.0, blink_s=0.2))
    assert [f.index for f in frames] == list(range(95))
    assert np.allclose(np.diff([f.t for f in frames]), 1 / 30)
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)
    # Mid-blink (t = 2.9 s, frame 87) the white of the eyes is gone: the frame is darker.
    white = lambda img: int((img > 235).all(axis=2).sum())  # noqa: E731
    assert white(frames[87].image) < 0.2 * white(frames[10].image)
    assert not np.array_equal(frames[0].image, frames[40].image)  # the head sways


def test_looped_video_runs_on_past_the_end(shared):
    frames = list(_looped_video(str(shared / "videos" / "grid" / CLIP), 160))  # the clip has 75
    assert [f.index for f in frames] == list(range(160))
    t = np.array([f.t for f in frames])
    assert np.all(np.diff(t) > 0)
    assert np.allclose(np.diff(t), 0.04, atol=1e-3)  # 25 fps, also across the restarts


def test_classifier_bench_notes_a_missing_torch(tiny_model, tmp_path, monkeypatch):
    def no_torch(cache):
        raise benchstats.DrowsyError("torch/torchvision not installed")

    monkeypatch.setattr(benchstats, "resnet18_onnx", no_torch)
    notes = []
    rows = classifier_bench(tiny_model, 0, ["cpu"], resnet=True, cache=tmp_path, notes=notes)
    assert notes == ["ResNet-18 skipped: torch/torchvision not installed"]
    assert {r["batch"] for r in rows} == {1, 2, 64}
    assert all(r["per_crop_ms"] == pytest.approx(r["p50_ms"] / r["batch"]) for r in rows)


def test_summary_ms():
    s = summary_ms(list(range(1, 11)))
    assert s["p50_ms"] == pytest.approx(5.5) and s["p90_ms"] == pytest.approx(9.1) and s["mean_ms"] == 5.5
    assert summary_ms([])["p50_ms"] is None


def test_bench_errors(tmp_path, capsys):
    assert cli(["bench", "--size", "big"]) == 2
    assert cli(["bench", "--jitter", "99"]) == 2
    assert cli(["bench", "--faces", "0"]) == 2
    assert cli(["bench", "--video", str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err
    assert "--size" in err and "video not found" in err and "Traceback" not in err


def test_overhead_script_makes_a_640x480_clip(shared, tmp_path):
    import importlib.util

    import cv2

    from drowsy.paths import REPO_ROOT

    spec = importlib.util.spec_from_file_location("bench_overhead", REPO_ROOT / "scripts" / "bench_overhead.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    clip = script.make_clip(shared / "videos" / "grid" / CLIP, tmp_path / "c.mp4", frames=90)
    cap = cv2.VideoCapture(str(clip))
    images = []
    while (ok_img := cap.read())[0]:
        images.append(ok_img[1])
    cap.release()
    assert len(images) == 90 and images[0].shape == (480, 640, 3)
    # The 360x288 clip is scaled to 600x480 and centred: black bars of 20 px left and right.
    assert images[0][:, :15].max() < 30 and images[0][:, 30:610].mean() > 40
    # Looped forwards then backwards (75 frames): frame 76 shows the clip's frame 72 again.
    assert np.abs(images[76].astype(int) - images[72].astype(int)).mean() < 8


def test_classifier_bench_notes_a_missing_gpu(tiny_model, tmp_path):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("a GPU is here: the cuda rows are real")
    notes = []
    rows = classifier_bench(tiny_model, 0, ["cpu", "cuda"], resnet=False, cache=tmp_path, notes=notes)
    assert {r["provider"] for r in rows} == {"CPUExecutionProvider"}
    assert len(notes) == 1 and notes[0].startswith("eye model on cuda:")


def test_bench_reports_eye_state_and_landmark_fps_per_landmarks_every(tiny_model, shared, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = cli(["bench", "--synthetic", "--size", "320x240", "--frames", "24", "--warmup", "2",
                "--model", str(tiny_model), "--landmarker", str(shared / "models" / "face_landmarker.task"),
                "--micro", "none", "--landmarks-every", "1,4", "--json", str(out)])
    assert code == 0
    rows = {r["every"]: r for r in json.loads(out.read_text())["landmarks_every"]}
    assert rows["1"]["landmark_passes"] == rows["1"]["frames"] == 24
    assert rows["1"]["landmark_fps"] == pytest.approx(rows["1"]["eye_fps"])
    assert 6 <= rows["4"]["landmark_passes"] < 24 and rows["4"]["landmark_fps"] < rows["4"]["eye_fps"]
    assert "| 4 |" in capsys.readouterr().out
    assert cli(["bench", "--landmarks-every", "fast"]) == 2
