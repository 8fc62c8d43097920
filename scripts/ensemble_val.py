"""Validation EER of several eye-model checkpoints, alone and averaged (a teacher ensemble).

  python scripts/ensemble_val.py /tmp/t/seed0/eye_state.pt /tmp/t/seed1/eye_state.pt ...

Is distillation worth a run? Only if the ensemble (mean P(closed) of the checkpoints) beats
its members on the validation splits. Scores the split that `drowsy train` used (the
checkpoints' split seed, and its leak check) on CEW and MRL; the test splits are not touched. Needs the [train] extra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drowsy.training.data import load_dataset  # noqa: E402
from drowsy.evaluation.eyemetrics import summary  # noqa: E402
from drowsy.training.leakcheck import split_and_check  # noqa: E402
from drowsy.paths import shared_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--data", nargs="+", default=None, help="data folders (default: CEW and MRL in ../shared)")
    ap.add_argument("--split", default="val", choices=("val", "test"))
    args = ap.parse_args()
    import torch

    from drowsy.training.models import load_checkpoint
    from drowsy.training.loop import predict

    torch.set_num_threads(1)
    data = args.data or [str(shared_dir() / "data" / n) for n in ("cew", "mrl")]
    loaded = [load_checkpoint(c) for c in args.checkpoints]
    nets = [net for net, _ in loaded]
    # The members must share the split they were trained with, or val would hold training crops.
    seeds = {int(s.get("seed", 0)) for _, cfg in loaded for s in (cfg.get("splits") or {}).values()}
    if len(seeds) > 1:
        raise SystemExit(f"the checkpoints were trained on different splits (split seeds {sorted(seeds)})")
    sets, _ = split_and_check([load_dataset(d) for d in data], seed=seeds.pop() if seeds else 0)
    for d, s in sets:
        idx = s.part(args.split)
        probs = [predict(n, d.images[idx]) for n in nets]
        y = d.closed[idx]
        eers = [summary(y, p, 0.5)["eer"] for p in probs]
        ens = summary(y, np.mean(probs, axis=0), 0.5)["eer"]
        print(f"{d.name} {args.split}: members " + " ".join(f"{100 * e:.2f}%" for e in eers)
              + f" (mean {100 * np.mean(eers):.2f}%)  ensemble {100 * ens:.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
