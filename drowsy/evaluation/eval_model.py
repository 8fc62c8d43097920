"""`drowsy eval`: score an eye model on CEW, MRL or a folder of eyes, overall and per condition.

  drowsy eval --model assets/eye_state.onnx --data ../shared/data/mrl --json mrl.json
  drowsy eval --model export/eye_state.pt --data ../shared/data/cew ../shared/data/mrl --split test

Prints n, EER, ROC AUC, accuracy and F1 at the model's own threshold, for each data folder
and per condition (MRL glasses, lighting, sensor; CEW eye side). An .onnx model runs through
drowsy.runtime.classify.EyeClassifier (no torch needed); a .pt checkpoint through torch.
`--split` scores one part of the training split instead of every crop: pass the same data
folders as in training (the split and its leak check are recomputed with the model's seed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import DrowsyError, UsageError
from ..settings import CROP_SIZE, FALLBACK_THRESHOLD

CONDITIONS = {"mrl": ("glasses", "lighting", "sensor", "reflections"), "cew": ("side",),
              "video": ("source", "degrade", "glasses", "view", "side")}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="eye model .onnx or .pt checkpoint (default: the bundled model)")
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="data folders")
    p.add_argument("--format", nargs="+", choices=("auto", "cew", "mrl", "folders", "numbered", "video"), default=["auto"],
                   help="force the format: one for all folders or one per folder")
    p.add_argument("--split", choices=("all", "train", "val", "test"), default="all",
                   help="score every crop (default) or one part of the training split")
    p.add_argument("--split-scheme", choices=("original", "fresh2026"), default=None,
                   help="with --split: the split scheme (default: the one the model was trained under)")
    p.add_argument("--threshold", type=float, default=None, help="override the model's threshold")
    p.add_argument("--limit", type=int, default=None, help="only this many files per folder, spread evenly")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


class _Scorer:
    """P(closed) for uint8 crops from either model kind, with the model's threshold and seed."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise DrowsyError(f"eye model not found: {path}")
        if path.suffix == ".onnx":
            from ..runtime.classify import EyeClassifier

            # Measuring a model is this command's job, also a poor one: its contract is checked,
            # but a failing real-eye check (drowsy run refuses such a model) is only reported.
            self.clf = EyeClassifier(path, device="cpu", selfcheck=False)
            self.threshold = self.clf.threshold
            self.size = self.clf.spec.size
            training = self.clf.metadata.get("drowsy.training")
            splits = (json.loads(training) if training else {}).get("splits") or {}
            self.run = self.clf.predict
        else:
            try:
                import torch  # noqa: F401
            except ImportError:
                raise DrowsyError("a .pt checkpoint needs torch; evaluate the .onnx file instead") from None
            from ..training.models import load_checkpoint
            from ..training.loop import predict

            net, cfg = load_checkpoint(path)
            self.threshold = float(cfg.get("threshold", FALLBACK_THRESHOLD))
            self.size = int(cfg.get("size", CROP_SIZE))
            splits = cfg.get("splits") or {}
            self.run = lambda x: predict(net, x)
        seeds = {int(s.get("seed", 0)) for s in splits.values() if isinstance(s, dict)}
        self.seed = seeds.pop() if len(seeds) == 1 else 0
        schemes = {s.get("scheme", "original") for s in splits.values() if isinstance(s, dict)}
        self.scheme = schemes.pop() if len(schemes) == 1 else "original"  # the split it was trained under

    def __call__(self, images: np.ndarray, batch: int = 2048) -> np.ndarray:
        out = [self.run(images[k:k + batch]) for k in range(0, len(images), batch)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def evaluate(scorer: _Scorer, data, idx: np.ndarray, threshold: float) -> dict:
    """Overall and per-condition metrics of one data set's crops `idx`."""
    from ..training.data import condition_label
    from .eyemetrics import summary

    p = scorer(data.images[idx])
    y = data.closed[idx]
    out = {"overall": summary(y, p, threshold), "conditions": {}}
    for key in CONDITIONS.get(data.fmt, ()):
        values = data.conditions[key][idx]
        out["conditions"][key] = {condition_label(key, v): summary(y[values == v], p[values == v], threshold)
                                  for v in sorted(set(values.tolist()))}
    return out


def _line(label: str, m: dict) -> str:
    pct = lambda v: "    -  " if v is None else f"{100 * v:6.2f}%"  # noqa: E731
    auc = "   -  " if m["auc"] is None else f"{m['auc']:.4f}"
    return (f"  {label:24s} {m['n']:6d} {m['closed']:6d}  {pct(m['eer'])}  {auc}  "
            f"{pct(m['accuracy'])}  {m['f1']:.4f}")


def main(args: argparse.Namespace) -> int:
    from ..training.data import load_datasets
    from ..paths import default_eye_model

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise UsageError("--threshold must be within [0, 1]")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be positive")
    model = Path(args.model) if args.model else default_eye_model()
    from ..outputs import Output, check

    check([Output("--json", args.json)], {"--model": model, **{f"--data {d}": d for d in args.data}},
          make_parents=True)
    scorer = _Scorer(model)
    threshold = scorer.threshold if args.threshold is None else args.threshold
    datas = load_datasets(args.data, args.format, size=scorer.size, limit=args.limit)
    if args.split == "all":
        parts = [(d, np.arange(len(d))) for d in datas]
    else:
        from ..training.leakcheck import split_and_check

        scheme = getattr(args, "split_scheme", None) or scorer.scheme
        print(f"split scheme {scheme}, seed {scorer.seed}")
        sets, _ = split_and_check(datas, seed=scorer.seed, scheme=scheme)
        parts = [(d, s.part(args.split)) for d, s in sets]
    results = {"model": str(model), "threshold": threshold, "split": args.split, "sets": {}}
    print(f"model {model}  threshold {threshold:.4f}  split {args.split}")
    auc = getattr(getattr(scorer, "clf", None), "selfcheck_auc", None)
    if auc is not None:
        from ..runtime.selfcheck import MIN_AUC

        results["selfcheck_auc"] = auc
        print(f"self-check on the bundled real eye crops: AUC {auc:.2f}"
              + ("" if auc >= MIN_AUC else f" (below {MIN_AUC}: drowsy run refuses this model)"))
    print(f"  {'':24s} {'n':>6s} {'closed':>6s}  {'EER':>7s}  {'AUC':>6s}  {'acc':>7s}  {'F1':>6s}")
    for d, idx in parts:
        if len(idx) == 0:
            raise DrowsyError(f"{d.root}: the {args.split} split is empty")
        r = evaluate(scorer, d, idx, threshold)
        r["root"] = d.root
        results["sets"][d.name] = r
        print(_line(d.name, r["overall"]))
        for key, by_value in r["conditions"].items():
            for value, m in by_value.items():
                print(_line(f"  {key}: {value}", m))
    if args.json:
        from ..outputs import write_text

        write_text(args.json, json.dumps(results, indent=1), "--json", make_parents=True)
        print(f"wrote {args.json}")
    return 0
