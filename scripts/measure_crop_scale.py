"""Choose the crop scale (crop side / eye-corner distance) on labelled real video.

For every labelled clip, the landmarker runs once per frame; then each candidate scale cuts the
eyes, the eye model scores them, and the frame-level ROC AUC / EER of the fused p_closed against
the labels (partial_ambiguous frames left out) is reported per scale. Also prints the eye-corner
distances seen, i.e. how many pixels an eye really has before it is resampled to the model size.

    python scripts/measure_crop_scale.py [--model assets/eye_state.onnx] [--videos ../shared/videos]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from drowsy.runtime.capture import VideoSource
from drowsy.runtime.classify import EyeClassifier
from drowsy.runtime.crop import EYE_CORNERS, CropSpec, crop_eyes
from drowsy.evaluation.degrade import degrade_frame
from drowsy.evaluation.clips import find_pairs, read_labels
from drowsy.runtime.landmarks import Landmarker
from drowsy.evaluation.metrics import eer, roc_auc
from drowsy.paths import default_eye_model, shared_dir


def collect(args, condition: str):
    """(image, landmarks, label) of every labelled frame with a face, and the corner distances."""
    frames, dists = [], []
    for video, labels in find_pairs(args.videos):
        lab = read_labels(labels, video.name)
        lab = dict(zip(lab.frame[~lab.ambiguous].tolist(), lab.closed[~lab.ambiguous].astype(int).tolist()))
        with Landmarker(args.landmarker, blendshapes=False) as lmk:
            src = VideoSource(video)
            for fr in src:
                fr = degrade_frame(fr, condition)
                face = lmk(fr)
                if face is None or fr.index not in lab:
                    continue
                frames.append((fr.image, face.landmarks, lab[fr.index]))
                dists += [float(np.hypot(*(face.landmarks[a] - face.landmarks[b]))) for a, b in EYE_CORNERS]
            src.close()
    return frames, dists


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_eye_model()))
    ap.add_argument("--videos", default=str(shared_dir() / "videos"))
    ap.add_argument("--landmarker", default=str(shared_dir() / "models" / "face_landmarker.task"))
    ap.add_argument("--scales", default="1.2,1.35,1.5,1.65,1.8,2.0,2.2")
    ap.add_argument("--jitter", type=int, default=8)
    ap.add_argument("--conditions", default="clean,dark,lowres,blurgray")
    ap.add_argument("--json")
    args = ap.parse_args()
    clf = EyeClassifier(args.model, device="cpu")
    rows = []
    print("| condition | scale | frames (closed) | frame AUC | EER |\n|---|---|---|---|---|")
    for condition in args.conditions.split(","):
        frames, dists = collect(args, condition)
        y = np.array([f[2] for f in frames])
        if condition == "clean":
            d = np.array(dists)
            print(f"eye-corner distance on clean frames, px: median {np.median(d):.1f}, "
                  f"5-95 % {np.percentile(d, 5):.1f}-{np.percentile(d, 95):.1f}")
        for s in [float(v) for v in args.scales.split(",")]:
            spec = CropSpec(size=clf.spec.size, scale=s, mirror_left=clf.spec.mirror_left)
            p = np.array([clf(crop_eyes(img, lm, spec, args.jitter)).fused for img, lm, _ in frames])
            auc, (e, _) = roc_auc(y, p), eer(y, p)
            rows.append({"condition": condition, "scale": s, "auc": auc, "eer": e, "n": len(y)})
            print(f"| {condition} | {s:.2f} | {len(y)} ({int(y.sum())}) | {auc:.4f} | {100 * e:.2f} % |")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "jitter": args.jitter, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
