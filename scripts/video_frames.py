"""Frame AUC / EER of eye models on the labelled clips' held-out persons (leave-people-out).

  python scripts/video_frames.py --part val --model shipped=assets/eye_state.onnx new=export/v1/eye_state.pt
  python scripts/video_frames.py --part test --model shipped=assets/eye_state.onnx --json export/video_test.json

Uses the runtime crops cached by `drowsy train --data ../shared/videos` (drowsy.training.videocrops;
extracted on first use). Persons come from the same leave-people-out fold as training
(`--split-seed`, default 0). Prints AUC and EER per model and for MediaPipe's eyeBlink and
the eye aspect ratio, pooled, per condition (clean, dark, lowres, blurgray, jpeg) and, on
clean frames, per person, glasses and view.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    from drowsy.errors import DrowsyError
    from drowsy.paths import shared_dir
    from drowsy.evaluation.video_frames import evaluate_frames, fold_persons, format_table

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(shared_dir() / "videos"), help="folder of labelled clips")
    p.add_argument("--model", nargs="+", required=True, metavar="NAME=PATH", help="models to score (.onnx or .pt)")
    p.add_argument("--part", choices=("train", "val", "test"), default="val")
    p.add_argument("--split-seed", type=int, default=0, help="the video fold (as in drowsy train)")
    p.add_argument("--split-scheme", choices=("original", "fresh2026"), default="original",
                   help="the split scheme (as in drowsy train)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    a = p.parse_args(argv)
    models = {}
    for item in a.model:
        name, _, path = item.rpartition("=")
        models[name or Path(path).stem] = Path(path)
    try:
        persons = fold_persons(a.data, a.part, a.split_seed, a.split_scheme)
        result = evaluate_frames(a.data, models, persons)
    except DrowsyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{a.part} persons ({a.split_scheme} scheme, seed {a.split_seed}): {', '.join(persons)}")
    print("\n".join(format_table(result)))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"part": a.part, "persons": persons, "models": {k: str(v) for k, v in
                                            models.items()}, "figures": result}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
