"""`drowsy train`: train the eye-state CNN on CEW, MRL and/or a folder of your own eyes.

  drowsy train --data ../shared/data/cew ../shared/data/mrl --out export/
  drowsy train --data my_eyes/ --init assets/eye_state.pt --out export/mine/   # fine-tune

Each data folder is split by face / subject / recording (drowsy.training.splits), checked for
duplicates across the splits (drowsy.training.leakcheck), trained on with balanced batches
(drowsy.training.loop), then scored on its held-out test split. Writes to --out:
eye_state.pt (weights + the plain config: data, splits, threshold, metrics), history.json
and training.png (loss and EER per epoch, ROC of the best epoch). Needs the [train] extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import DrowsyError, UsageError
from ..settings import CROP_SIZE, FALLBACK_THRESHOLD


OUT_FILES = ("eye_state.pt", "history.json", "training.png")  # what --out receives


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", required=True, metavar="DIR",
                   help="data folders (CEW, MRL, DIR/open + DIR/closed, or clips with <clip>.eyestate.csv labels), "
                        "format detected per folder")
    p.add_argument("--format", nargs="+", choices=("auto", "cew", "mrl", "folders", "numbered", "video"), default=["auto"],
                   help="force the format: one for all folders or one per folder")
    p.add_argument("--out", default="export", help="output folder (default: export/)")
    p.add_argument("--arch", default=None, help="network (see drowsy.training.models.ARCHS; default: the selected one)")
    p.add_argument("--init", metavar="CKPT", help="start from this checkpoint (fine-tuning); its arch is used")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--steps-per-epoch", type=int, default=250)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 3e-3, 1e-3 with --init)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    p.add_argument("--dropout", type=float, default=0.1, help="dropout before the head (default 0.1)")
    p.add_argument("--label-smoothing", type=float, nargs="+", default=[0.03], metavar="EPS",
                   help="targets pulled this far towards 0.5: one value for all folders or one per --data "
                        "folder (default 0.03)")
    p.add_argument("--patience", type=int, default=8, help="epochs without a better validation EER before stopping")
    p.add_argument("--augment", type=float, default=1.0, metavar="STRENGTH",
                   help="scale every augmentation range and probability (0 = none, 1 = runtime-like; default 1)")
    p.add_argument("--narrow-open", type=float, default=0.0, metavar="P",
                   help="lower the upper lid of this share of open training crops, labelled open: hard "
                        "negatives for narrow and hooded eyes (0-1, default 0)")
    p.add_argument("--group-power", type=float, nargs="+", default=[1.0], metavar="POWER",
                   help="sample a crop with weight (crops of its subject/face and class) ** -POWER: "
                        "0 = every crop alike, 1 = every subject alike; one value or one per --data folder "
                        "(default 1)")
    p.add_argument("--balance", nargs="+", default=[], metavar="CONDITION",
                   help="also sample every value of these per-crop conditions alike within a group, "
                        "e.g. --balance glasses: an MRL subject's crops with and without glasses weigh the same")
    p.add_argument("--teacher", nargs="+", default=[], metavar="CKPT",
                   help="distil from these checkpoints: the target blends the label with their mean P(closed)")
    p.add_argument("--distill", type=float, default=0.5, metavar="W",
                   help="weight of the teachers' soft labels (0-1, default 0.5; used with --teacher)")
    p.add_argument("--refit", action="store_true",
                   help="after early stopping, retrain on train + val for the best number of epochs "
                        "(threshold and validation numbers from the first run; test stays held out)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, augmentation and initial weights")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the grouped train/val/test split")
    p.add_argument("--split-scheme", choices=("original", "fresh2026"), default="original",
                   help="original: the split of releases 1-3; fresh2026: a test split no release chose on, "
                        "left unscored here (score it once with drowsy eval --split test); see splits.py")
    p.add_argument("--train-fraction", type=float, nargs="+", default=[1.0], metavar="F",
                   help="train on this share of the training faces/subjects (whole groups; val and test "
                        "unchanged): one value or one per --data folder, for learning curves (default 1)")
    p.add_argument("--limit", type=int, default=None, help="use only this many files per folder (tiny runs)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1: tiny ops on a busy machine lose more to thread sync than they gain)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")


def _per_folder(args, name: str) -> list:
    values = getattr(args, name.replace("-", "_"))
    if len(values) == 1:
        return values * len(args.data)
    if len(values) != len(args.data):
        raise UsageError(f"--{name} needs one value or one per --data folder ({len(args.data)})")
    return values


def _check_args(args) -> None:
    for name in ("epochs", "steps_per_epoch", "batch_size", "patience", "threads"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if args.limit is not None and args.limit < 8:
        raise UsageError("--limit must be at least 8")
    if not all(0.0 <= g <= 2.0 for g in args.group_power):
        raise UsageError("--group-power must be between 0 and 2")
    if not 0.0 <= args.augment <= 2.0:
        raise UsageError("--augment must be between 0 and 2")
    if not 0.0 <= args.dropout < 1.0 or not all(0.0 <= e < 1.0 for e in args.label_smoothing):
        raise UsageError("--dropout and --label-smoothing must be in [0, 1)")
    if args.weight_decay < 0:
        raise UsageError("--weight-decay must not be negative")
    if not 0.0 <= args.narrow_open <= 1.0:
        raise UsageError("--narrow-open must be between 0 and 1")
    if not 0.0 <= args.distill <= 1.0:
        raise UsageError("--distill must be between 0 and 1")
    if args.lr is not None and not args.lr > 0:
        raise UsageError("--lr must be positive")
    if not all(0.0 < f <= 1.0 for f in args.train_fraction):
        raise UsageError("--train-fraction must be in (0, 1]")


def _sampling_group(data, balance: list[str]) -> np.ndarray:
    """The unit the sampler weighs alike: the split group, refined by the --balance conditions
    this set has (CEW has no glasses field, so --balance glasses leaves it as it is)."""
    group = data.group.astype(object)
    for name in balance:
        if name in data.conditions:
            group = group + "|" + data.conditions[name].astype(object)
    return group.astype(str)


def _arch_and_init(args) -> tuple[str, dict | None, dict | None]:
    """The architecture to train and the --init weights (state, config), checked against --arch."""
    from .models import ARCHS, DEFAULT_ARCH, load_checkpoint

    init_state, init_cfg = None, None
    if args.init:
        net0, init_cfg = load_checkpoint(args.init)
        init_state = net0.state_dict()
        if args.arch and args.arch != init_cfg["arch"]:
            raise UsageError(f"--arch {args.arch} differs from the --init checkpoint's {init_cfg['arch']}")
    arch = init_cfg["arch"] if init_cfg else (args.arch or DEFAULT_ARCH)
    if arch not in ARCHS:
        raise UsageError(f"unknown --arch {arch}; choose one of {', '.join(ARCHS)}")
    return arch, init_state, init_cfg


def _load_and_split(args, formats: list, fractions: list):
    """The data folders, split by face/subject and leak-checked: (datas, [(data, split)], leak report)."""
    from .data import load_datasets
    from .leakcheck import split_and_check
    from .splits import subsample_train

    datas = load_datasets(args.data, formats, limit=args.limit)
    for d in datas:
        print(f"{d.name}: {len(d)} crops ({int(d.closed.sum())} closed) in {len(np.unique(d.group))} groups "
              f"from {d.root}")
    unknown = [c for c in args.balance if not any(c in d.conditions for d in datas)]
    if unknown:
        raise UsageError(f"--balance {' '.join(unknown)}: no data set has that condition")
    sets, leak = split_and_check(datas, seed=args.split_seed, log=print, scheme=args.split_scheme)
    sets = [(d, subsample_train(s, d, f, args.seed)) for (d, s), f in zip(sets, fractions)]
    for (d, s), f in zip(sets, fractions):
        if f < 1.0 and len(np.unique(d.closed[s.train])) < 2:  # the sampler needs both classes
            raise DrowsyError(f"--train-fraction {f:g} leaves {d.name} with training crops of one class only")
    for d, s in sets:
        desc = s.describe(d)
        print(f"{d.name} split: " + ", ".join(f"{p} {desc[p]['n']} crops / {desc[p]['groups']} groups"
                                             for p in ("train", "val", "test")))
    return datas, sets, leak


def _refit(args, result, cfg, train_sets, sets, groups, init_state, progress, teachers):
    """Same recipe on train + val for the selected number of epochs: more people seen. Its
    threshold and validation numbers stay those of the selection run; test stays unseen."""
    from .loop import fit

    print(f"refit on train + val for {result.best_epoch} epochs")
    both = [replace(t, train_images=np.concatenate([t.train_images, t.val_images]),
                    train_closed=np.concatenate([t.train_closed, t.val_closed]),
                    train_group=np.concatenate([t.train_group, g[s.val]]))
            for t, (d, s), g in zip(train_sets, sets, groups)]
    return fit(both, replace(cfg, epochs=result.best_epoch), init_state, progress=progress, keep_last=True,
               teachers=teachers)


def _report(out: Path, metrics: dict, threshold: float, best_epoch: int) -> None:
    print(f"best epoch {best_epoch}, threshold {threshold:.4f}")
    for part in ("val", "test"):
        for name, m in metrics[part].items():
            if m and m["eer"] is not None:
                print(f"  {part:4s} {name:8s} n {m['n']:6d}  EER {100 * m['eer']:.2f}%  AUC {m['auc']:.4f}  "
                      f"accuracy {100 * m['accuracy']:.2f}%  F1 {m['f1']:.4f}")
    print(f"wrote {out / 'eye_state.pt'}, {out / 'history.json'}, {out / 'training.png'}")
    print(f"next: drowsy export-onnx --checkpoint {out / 'eye_state.pt'} --out {out / 'eye_state.onnx'}")


def _data_notes(data) -> dict:
    """What the summary does not say: for labelled clips, the conditions their crops were cut
    under and the persons (so an evaluation can tell which people the model has seen)."""
    if data.fmt != "video":
        return {}
    from .videocrops import describe_conditions

    return {"conditions": describe_conditions(), "persons": sorted(set(data.group.tolist()))}


def _check_outputs(args) -> None:
    """The files --out will hold, against every input (--init, --teacher), before any work."""
    from ..outputs import Output, check

    out = Path(args.out)
    outs = [Output("--out", out, "folder")] + [Output("--out", out / n) for n in OUT_FILES]
    inputs = {"--init": args.init, **{f"--teacher {t}": t for t in args.teacher}}
    check(outs, inputs, make_parents=True)


def main(args: argparse.Namespace) -> int:
    _check_args(args)
    _check_outputs(args)
    formats = _per_folder(args, "format")
    smoothing = _per_folder(args, "label-smoothing")
    fractions = _per_folder(args, "train-fraction")
    powers = _per_folder(args, "group-power")
    try:
        import torch
    except ImportError:
        raise DrowsyError("training needs torch: pip install 'drowsy-eyes[train]'") from None
    from .augment import AugmentConfig
    from ..evaluation.eyemetrics import balanced_threshold, summary
    from .models import EyeNet, load_checkpoint, save_checkpoint
    from .loop import FitConfig, TrainSet, fit, predict
    from .plot import plot_training

    torch.set_num_threads(args.threads)
    arch, init_state, _ = _arch_and_init(args)
    teachers = [load_checkpoint(t)[0] for t in args.teacher]
    if any(t.size != CROP_SIZE for t in teachers):
        raise UsageError(f"every --teacher must take {CROP_SIZE} × {CROP_SIZE} crops")
    datas, sets, leak = _load_and_split(args, formats, fractions)
    groups = [_sampling_group(d, args.balance) for d, _ in sets]
    train_sets = [TrainSet(d.name, d.images[s.train], d.closed[s.train], g[s.train], d.images[s.val], d.closed[s.val],
                           eps, gp) for (d, s), g, eps, gp in zip(sets, groups, smoothing, powers)]
    lr = args.lr or (1e-3 if args.init else 3e-3)
    cfg = FitConfig(arch=arch, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
                    lr=lr, patience=args.patience, seed=args.seed,
                    augment=replace(AugmentConfig().scaled(args.augment), p_narrow=args.narrow_open),
                    group_power=powers[0], weight_decay=args.weight_decay, dropout=args.dropout,
                    distill=args.distill if teachers else 0.0)
    progress = not args.no_progress and sys.stderr.isatty()
    result = fit(train_sets, cfg, init_state, progress=progress, teachers=teachers)
    # The threshold where the validation sets' mean false-closed and missed-closed rates meet.
    usable = [(t.val_closed, result.val_scores[t.name]) for t in train_sets
              if 0 < t.val_closed.sum() < len(t.val_closed)]
    threshold = balanced_threshold(usable)[1] if usable else FALLBACK_THRESHOLD
    metrics: dict = {"val": {t.name: summary(t.val_closed, result.val_scores[t.name], threshold) for t in train_sets},
                     "test": {}}
    refit = _refit(args, result, cfg, train_sets, sets, groups, init_state, progress, teachers) if args.refit else None
    state = refit.state_dict if refit else result.state_dict
    net = EyeNet(arch)
    net.load_state_dict(state)
    test_scores = {}
    for d, s in sets:  # a fresh test split is scored once, on purpose, by drowsy eval: not here
        if args.split_scheme == "original":
            test_scores[d.name] = predict(net, d.images[s.test])
        metrics["test"][d.name] = (summary(d.closed[s.test], test_scores[d.name], threshold)
                                   if d.name in test_scores and len(s.test) else None)
    config = {
        "arch": arch, "size": CROP_SIZE, "threshold": float(threshold), "best_epoch": result.best_epoch,
        "refit": "train+val" if args.refit else None,
        "fit": cfg.to_dict(), "init": str(args.init) if args.init else None,
        "data": [{**d.summary(), "format": d.fmt, "root": str(a), **_data_notes(d)} for d, a in zip(datas, args.data)],
        "splits": {d.name: s.describe(d) for d, s in sets}, "leak_check": leak.to_json(), "metrics": metrics,
        "options": {k: v for k, v in vars(args).items()
                    if not k.startswith("_") and isinstance(v, (str, int, float, bool, list, type(None)))},
        "command": "drowsy train " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["train"] else None,
    }
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DrowsyError(f"cannot create --out folder {out}: {e.strerror or e}") from None
    save_checkpoint(out / "eye_state.pt", state, config)
    from ..outputs import write_text

    write_text(out / "history.json", json.dumps({"history": result.history, "config": config,
                                                 "refit_history": refit.history if refit else None}, indent=1),
               "--out")
    val_parts = {t.name: (t.val_closed, result.val_scores[t.name]) for t in train_sets}
    test_parts = {d.name: (d.closed[s.test], test_scores[d.name]) for d, s in sets if d.name in test_scores}
    plot_training(result.history, val_parts, test_parts, result.best_epoch, out / "training.png")
    _report(out, metrics, threshold, result.best_epoch)
    return 0
