"""Per-driver calibration on unseen people (issue 16): calibrate on each ZJU person's frontal
no-glasses clip, run their glasses / looking-up clips without and with the profile, print blink
precision / recall / F1 and frame AUC (markdown), optionally all figures as JSON.

    python scripts/calibration_eval.py [--dir ../shared/videos/zju] [--json FILE] [--cache DIR|none]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drowsy.evaluation.calibration import evaluate, table
from drowsy.evaluation.eval_video import cache_folder
from drowsy.runtime.classify import EyeClassifier
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
    args = p.parse_args(argv)
    try:
        model = args.model or default_eye_model()
        cache = cache_folder(args.cache)
        classifier = EyeClassifier(model, device="cpu", threads=1)
        sha256 = sha256_of(model)
        result = evaluate(args.dir, classifier, resolve_landmarker(args.landmarker), args.jitter, sha256,
                          cache, log=lambda m: print(m, file=sys.stderr, flush=True))
    except DrowsyError as e:
        print(f"calibration_eval: error: {e}", file=sys.stderr)
        return 1
    print(f"eye model {model} (sha256 {sha256[:12]}, threshold {classifier.threshold:g}, hysteresis "
          f"{classifier.hysteresis:g}, fusion {classifier.fusion}), clips under {args.dir}, jitter {args.jitter}; "
          f"chosen on all people: '{result['chosen_on_all']}', of the profile rules: '{result['ships']}'")
    print(table(result))
    if result["ships"] != f"{THRESHOLD_RULE}/{HYSTERESIS_RULE}":
        print(f"calibration_eval: note: drowsy calibrate uses '{THRESHOLD_RULE}/{HYSTERESIS_RULE}' "
              f"(runtime/profile.py), this run picks '{result['ships']}'", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
