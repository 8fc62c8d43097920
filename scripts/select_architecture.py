#!/usr/bin/env python
"""Choose the eye-state CNN by measurement: the candidate table of the model card.

Every candidate in drowsy.training.models.ARCHS is trained with the same short schedule, seed,
splits and augmentation on CEW + MRL, then measured: validation EER per set (the test
splits stay untouched), parameters, multiply-accumulates per crop, ONNX file size, and
ONNX Runtime latency of one call on 18 crops (one frame: 2 eyes × 9 jittered crops), median
and 90th percentile over many calls, with the runtime's default session (all cores) and
with one thread. Writes JSON and a markdown table.

  python scripts/select_architecture.py --out export/arch_selection   # ~15 min on 2 cores
  python scripts/select_architecture.py --latency-only assets/eye_state.onnx
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def latency_ms(path: Path, n_crops: int = 18, threads: int = 0, runs: int = 2000) -> dict:
    """Median and p90 of one ONNX Runtime call on n_crops crops, after a warm-up."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).integers(0, 256, (n_crops, 1, 24, 24), dtype=np.uint8)
    for _ in range(300):
        sess.run(None, {"crops": x})
    t = np.empty(runs)
    for k in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {"crops": x})
        t[k] = time.perf_counter() - t0
    return {"median_ms": float(np.median(t) * 1e3), "p90_ms": float(np.percentile(t, 90) * 1e3)}


def main(argv=None) -> int:
    from drowsy.paths import shared_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", default=[str(shared_dir() / "data" / "cew"), str(shared_dir() / "data" / "mrl")])
    p.add_argument("--archs", nargs="+", default=None, help="candidates (default: all in drowsy.training.models.ARCHS)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--steps-per-epoch", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="export/arch_selection", help="writes OUT.json and OUT.md")
    p.add_argument("--merge", metavar="JSON", help="put the rows of an earlier run (same schedule) in the table too")
    p.add_argument("--latency-only", metavar="ONNX", help="only time this model file (e.g. the shipped one) and exit")
    args = p.parse_args(argv)
    if args.latency_only:
        for threads in (0, 1):
            lat = latency_ms(Path(args.latency_only), threads=threads)
            print(f"{args.latency_only}: 18 crops in one call, {threads or 'default (all)'} thread(s): "
                  f"median {lat['median_ms']:.3f} ms, p90 {lat['p90_ms']:.3f} ms (load average {os.getloadavg()[0]:.2f})")
        return 0

    import torch

    from drowsy.training.data import load_dataset
    from drowsy.training.export_onnx import export_onnx
    from drowsy.training.leakcheck import split_and_check
    from drowsy.training.models import ARCHS, EyeNet, count_macs, count_params, save_checkpoint
    from drowsy.training.loop import FitConfig, TrainSet, fit

    torch.set_num_threads(1)  # tiny ops: a second thread costs more in sync than it gives
    archs = args.archs or list(ARCHS)
    sets, _ = split_and_check([load_dataset(d) for d in args.data], seed=args.seed, log=print)
    train_sets = [TrainSet(d.name, d.images[s.train], d.closed[s.train], d.group[s.train], d.images[s.val], d.closed[s.val])
                  for d, s in sets]
    rows = []
    for arch in archs:
        cfg = FitConfig(arch=arch, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, seed=args.seed,
                        patience=args.epochs)
        t0 = time.perf_counter()
        res = fit(train_sets, cfg, progress=False, log=lambda s: print(f"  [{arch}] {s}"))
        train_s = time.perf_counter() - t0
        best = res.history[res.best_epoch - 1]
        net = EyeNet(arch)
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp) / "c.pt"
            save_checkpoint(ckpt, res.state_dict, {"arch": arch, "size": 24, "threshold": 0.5})
            info = export_onnx(ckpt, Path(tmp) / "m.onnx")
            lat = latency_ms(Path(tmp) / "m.onnx", threads=0)
            lat1 = latency_ms(Path(tmp) / "m.onnx", threads=1)
        row = {"arch": arch, "params": count_params(net), "macs_per_crop": count_macs(net), "onnx_bytes": info["bytes"],
               "latency_18_ms": lat, "latency_18_ms_1thread": lat1, "best_epoch": res.best_epoch,
               "train_seconds": train_s, "load_avg_1min": os.getloadavg()[0],
               **{k: v for k, v in best.items() if k.startswith("val_")}}
        rows.append(row)
        print(f"{arch}: " + json.dumps({k: v for k, v in row.items() if not isinstance(v, dict)}))
    if args.merge:
        earlier = json.loads(Path(args.merge).read_text())
        done = {r["arch"] for r in rows}
        rows = [r for r in earlier["rows"] if r["arch"] not in done] + rows
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python scripts/select_architecture.py " + " ".join(sys.argv[1:]), "epochs": args.epochs,
            "steps_per_epoch": args.steps_per_epoch, "seed": args.seed, "data": args.data, "cpu_count": os.cpu_count(),
            "merged": args.merge}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    names = [t.name for t in train_sets]
    head = "| arch | params | MACs/crop | ONNX KiB | " + " | ".join(f"val EER {n}" for n in names) + \
           " | mean | 18 crops, median ms (p90) | 1 thread |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        eers = " | ".join(f"{100 * r[f'val_eer_{n}']:.2f} %" for n in names)
        lines.append(f"| {r['arch']} | {r['params']:,} | {r['macs_per_crop'] / 1e3:.0f}k | {r['onnx_bytes'] / 1024:.1f} | "
                     f"{eers} | {100 * r['val_eer_mean']:.2f} % | {r['latency_18_ms']['median_ms']:.3f} "
                     f"({r['latency_18_ms']['p90_ms']:.3f}) | {r['latency_18_ms_1thread']['median_ms']:.3f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
