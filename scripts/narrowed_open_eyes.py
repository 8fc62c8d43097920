"""How often models call OPEN validation eyes closed, as they are and with the upper lid lowered.

  python scripts/narrowed_open_eyes.py --model r3=assets/eye_state.onnx cand=export/v4/eye_state.onnx

The lowered lid is drowsy.training.augment.narrow_aperture at fixed settings (lid line 20 % of
the side above the centre, 50 % of that opening left), i.e. the training hard negative itself:
a SYNTHETIC probe of what --narrow-open teaches, not a measure on real narrow eyes. Crops: the
open eyes of the validation part (the original val groups, the same under both split schemes)
of CEW, MRL and the labelled clips' runtime crops. Prints, per model and set, the share of open
crops whose P(closed) is at or above the model's own threshold, and their median P(closed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    import torch

    from drowsy.errors import DrowsyError
    from drowsy.evaluation.eval_model import _Scorer
    from drowsy.paths import shared_dir
    from drowsy.training.augment import narrow_aperture
    from drowsy.training.data import load_datasets
    from drowsy.training.leakcheck import split_and_check

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", nargs="+", required=True, metavar="NAME=PATH")
    p.add_argument("--keep", type=float, default=0.5, help="share of the opening left (default 0.5)")
    a = p.parse_args(argv)
    root = shared_dir()
    try:
        roots = [root / "data" / "cew", root / "data" / "mrl", root / "videos"]
        datas = load_datasets(roots, ["auto", "auto", "video"])
        sets, _ = split_and_check(datas, scheme="fresh2026")
        scorers = {n: _Scorer(Path(path)) for n, _, path in (m.partition("=") for m in a.model)}
    except DrowsyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{'set':6s} {'model':8s} {'n open':>7s}  called closed: as is / narrowed   "
          "median P(closed): as is / narrowed")
    for d, s in sets:
        idx = s.val[d.closed[s.val] == 0]
        x = torch.from_numpy(d.images[idx]).float()[:, None] / 255
        side = x.shape[-1]
        n = len(x)
        narrowed = narrow_aperture(x, torch.full((n,), side / 2), torch.full((n,), 0.2 * side),
                                   torch.full((n,), a.keep))
        narrowed = (narrowed[:, 0] * 255).round().clamp(0, 255).numpy().astype(np.uint8)
        for name, scorer in scorers.items():
            before, after = scorer(d.images[idx]), scorer(narrowed)
            t = scorer.threshold
            print(f"{d.name:6s} {name:8s} {n:7d}  {100 * np.mean(before >= t):6.2f} % / "
                  f"{100 * np.mean(after >= t):6.2f} %            {np.median(before):.3f} / {np.median(after):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
