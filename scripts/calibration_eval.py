"""Per-driver calibration on unseen people (issue 16): calibrate on each ZJU person's frontal
no-glasses clip, run their glasses / looking-up clips without and with the profile, print blink
precision / recall / F1 and frame AUC (markdown), optionally all figures as JSON.

    python scripts/calibration_eval.py [--dir ../shared/videos/zju] [--json FILE] [--cache DIR|none]
        [--unseen 000001M,000007M] [--also-calibrate ../shared/videos/grid]

--stress-open G (synthetic, a stress test of the logic, never an accuracy figure): every crop's
P(closed) is raised to the power G (< 1) before fusion, so open eyes read high (0.015 ** 0.03 =
0.88) while the order of the scores is kept: a stand-in for a narrow-eyed driver the model misreads.

--unseen names the people the eye model never saw (release 3: ZJU 000001 and 000007;
docs/accuracy.md); --also-calibrate runs `drowsy calibrate --video`'s measurement on every
clip of another folder (GRID) and says which it would refuse.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from pathlib import Path

from drowsy.evaluation.calibration import calibrate_clip, evaluate
from drowsy.evaluation.calibration_table import table
from drowsy.evaluation.eval_video import cache_folder
from drowsy.runtime.classify import EyeClassifier
from drowsy.runtime.calibrate import FUSION_RULE
from drowsy.runtime.profile import HYSTERESIS_RULE, THRESHOLD_RULE
from drowsy.errors import DrowsyError
from drowsy.paths import default_eye_model, resolve_landmarker, sha256_of, shared_dir


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=shared_dir() / "videos" / "zju", help="labelled clips")
    p.add_argument("--model", type=Path, default=None, help="eye model .onnx (default: the bundled one)")
    p.add_argument("--landmarker", default=None, help="face landmarker .task file")
    p.add_argument("--jitter", type=int, default=8)
    p.add_argument("--json", type=Path, help="write every figure as JSON")
    p.add_argument("--cache", metavar="DIR", help="landmarker passes, shared with drowsy eval-video "
                   "(default: its user cache; 'none' to run the landmarker every time)")
    p.add_argument("--unseen", default="000001M,000007M", help="people the eye model never saw (comma-separated)")
    p.add_argument("--stress-open", type=float, metavar="G", help="synthetic: P(closed) ** G for every crop")
    p.add_argument("--also-calibrate", type=Path, metavar="DIR", help="calibrate on every clip here too")
    args = p.parse_args(argv)
    try:
        model = args.model or default_eye_model()
        cache = cache_folder(args.cache)
        classifier = EyeClassifier(model, device="cpu", threads=1)
        if args.stress_open is not None:
            predict, g = classifier.predict, args.stress_open
            classifier.predict = lambda batch: predict(batch) ** np.float32(g)  # the instance's own stage
        sha256 = sha256_of(model)
        log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
        landmarker = resolve_landmarker(args.landmarker)
        result = evaluate(args.dir, classifier, landmarker, args.jitter, sha256, cache, log=log,
                          unseen=tuple(x for x in args.unseen.split(",") if x))
        if args.also_calibrate:
            result["also_calibrate"] = {}
            for clip in sorted(q for q in args.also_calibrate.iterdir() if q.suffix in (".mpg", ".mp4", ".avi")):
                profiles, refused = calibrate_clip(clip, classifier, landmarker, args.jitter, sha256, cache)
                shipped = f"{THRESHOLD_RULE}/{HYSTERESIS_RULE}/{FUSION_RULE}"
                result["also_calibrate"][clip.name] = (f"refused: {refused[shipped]}" if shipped in refused
                                                       else profiles[shipped].describe())
    except DrowsyError as e:
        print(f"calibration_eval: error: {e}", file=sys.stderr)
        return 1
    stress = "" if args.stress_open is None else f" SYNTHETIC: P(closed) ** {args.stress_open:g},"
    print(f"eye model {model}{stress} (sha256 {sha256[:12]}, threshold {classifier.threshold:g}, hysteresis "
          f"{classifier.hysteresis:g}, fusion {classifier.fusion}), clips under {args.dir}, jitter {args.jitter}; "
          f"chosen on all people: '{result['chosen_on_all']}', of the profile rules: '{result['ships']}'")
    print(table(result))
    for clip, what in result.get("also_calibrate", {}).items():
        print(f"- calibrate --video {clip}: {what}")
    shipped = f"{THRESHOLD_RULE}/{HYSTERESIS_RULE}/{FUSION_RULE}"
    if result["ships"] != shipped:
        print(f"calibration_eval: note: drowsy calibrate uses '{shipped}' "
              f"(runtime/profile.py), this run picks '{result['ships']}'", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
