"""`drowsy eval-video`: frame-level ROC AUC / EER and blink precision / recall on labelled
clips, for our p_closed against two baselines from the same landmarker pass (MediaPipe's
eyeBlink blendshapes and the eye aspect ratio), on clean clips and degraded copies.

Which frames count: decoded frames with a label, minus `partial_ambiguous` ones. Frames
without a face have no score for any method (all three share the landmarker); they are left
out of AUC/EER and counted. AUC/EER pool the frames of all clips; per-clip figures are in the
JSON where a clip has both classes.
Blinks: a detection matches a labelled `kind=blink` event when their frame ranges overlap;
detections overlapping other labelled events (partial closures) count neither way.
- ours: the DrowsinessMonitor's `blink` events at the model's threshold (with hysteresis);
- baselines: runs of frames with score >= their EER threshold, pooled over the clips of that
  condition. That threshold is fitted on the very frames scored, which favours the baselines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import DrowsyError, UsageError
from ..settings import DEVICES, problem
from .clips import METHODS, LABEL_SUFFIX, ClipPass, Labels, find_pairs, read_labels, run_clip, threshold_blinks
from .metrics import match_events, precision_recall, roc_curve, roc_figures

NAMES = {"ours": "ours (p_closed)", "blendshape": "MediaPipe eyeBlink", "ear": "eye aspect ratio"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Scores: ours = p_closed (mean of both eyes); MediaPipe eyeBlink = mean of eyeBlinkLeft/Right; "
                "EAR = minus the mean eye aspect ratio; all from one landmarker pass. partial_ambiguous frames "
                "are left out, frames without a face counted. Blinks: ours = the monitor's blink events; "
                "baselines = runs of frames at or above their EER threshold.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", metavar="PATH", help="one clip (labels: --labels, default PATH.eyestate.csv)")
    src.add_argument("--dir", metavar="DIR", help="every <clip>.eyestate.csv with its clip under DIR")
    p.add_argument("--labels", metavar="PATH.eyestate.csv", help="frame labels of --video")
    p.add_argument("--events", metavar="CSV", help="blink events (default: blink_events.csv beside the labels)")
    p.add_argument("--conditions", default="clean,dark,lowres,blurgray",
                   help="comma-separated, from clean, dark, lowres, blurgray (default: all)")
    p.add_argument("--model", metavar="PATH", help="eye model .onnx (default: the bundled one)")
    p.add_argument("--landmarker", metavar="PATH", help="face landmarker .task file")
    p.add_argument("--device", default="cpu", choices=DEVICES,
                   help="where the eye model runs (cpu: scores do not depend on a GPU)")
    p.add_argument("--jitter", type=int, default=8, metavar="J", help="jittered crops per eye (8)")
    p.add_argument("--plots", metavar="DIR", help="write one ROC plot per condition, roc_<condition>.png")
    p.add_argument("--json", metavar="FILE", help="write every figure, pooled and per clip, as JSON")
    # Our blinks come from the temporal stage: the same settings as `drowsy run` apply.
    from ..settings_io import add_section_arguments

    p.add_argument("--config", metavar="FILE.toml", help="a `drowsy run` settings file; its [temporal] applies")
    add_section_arguments(p, ("temporal",))


def _pairs(args) -> list[tuple[Path, Path]]:
    if args.dir:
        if args.labels:
            raise UsageError("--labels goes with --video; --dir finds <clip>.eyestate.csv itself")
        return find_pairs(args.dir)
    video = Path(args.video)
    labels = Path(args.labels) if args.labels else video.with_name(video.name + LABEL_SUFFIX)
    if not labels.is_file():
        raise DrowsyError(f"labels not found: {labels} (pass --labels)")
    return [(video, labels)]


def _frame_table(clip: ClipPass, labels: Labels) -> dict:
    """Which of the clip's frames count, and their ground truth."""
    closed_of = dict(zip(labels.frame.tolist(), labels.closed.tolist()))
    ambiguous = set(labels.frame[labels.ambiguous].tolist())
    labelled = np.array([f in closed_of for f in clip.frame.tolist()], dtype=bool)
    amb = np.array([f in ambiguous for f in clip.frame.tolist()], dtype=bool)
    y = np.array([closed_of.get(f, False) for f in clip.frame.tolist()], dtype=bool)
    use = labelled & ~amb
    return {"y": y, "use": use, "scored": use & clip.face, "ambiguous": int(amb.sum()),
            "unlabelled": int((~labelled).sum()), "no_face": int((use & ~clip.face).sum())}


def _roc_summary(y: np.ndarray, s: np.ndarray) -> dict:
    ok = np.isfinite(s)
    return {**roc_figures(y[ok], s[ok]), "n": int(ok.sum()), "unscored": int((~ok).sum())}


def _blinks(detected, labels: Labels) -> tuple[int, int, int]:
    keep = [d for d in detected if not any(d[0] <= b and a <= d[1] for a, b in labels.other_events)]
    return match_events(keep, labels.blinks)


def _pooled(passes: list[tuple[ClipPass, Labels]]) -> tuple[list[dict], np.ndarray, dict]:
    """Per-clip frame tables, then the labels and each method's scores of all scored frames."""
    tables = [_frame_table(c, lab) for c, lab in passes]
    y = np.concatenate([tb["y"][tb["scored"]] for tb in tables])
    scores = {m: np.concatenate([c.scores[m][tb["scored"]] for (c, _), tb in zip(passes, tables)]) for m in METHODS}
    return tables, y, scores


def summarise(condition: str, passes: list[tuple[ClipPass, Labels]]) -> dict:
    """Pooled and per-clip figures of one condition."""
    tables, y, pooled = _pooled(passes)
    out = {"frames": int(sum(tb["use"].sum() for tb in tables)), "closed": int(y.sum()),
           "open": int((~y).sum()), "no_face": sum(tb["no_face"] for tb in tables),
           "excluded_ambiguous": sum(tb["ambiguous"] for tb in tables),
           "unlabelled": sum(tb["unlabelled"] for tb in tables),
           "size": sorted({f"{c.size[0]}x{c.size[1]}" for c, _ in passes}), "methods": {}, "clips": {}}
    for m in METHODS:
        # Frames without a face have no score for any method: the same count left out of each.
        out["methods"][m] = {**_roc_summary(y, pooled[m]), "excluded_no_face": out["no_face"]}
    for (c, lab), tb in zip(passes, tables):
        out["clips"][c.video] = {
            "frames": int(tb["use"].sum()), "closed": int(tb["y"][tb["scored"]].sum()), "no_face": tb["no_face"],
            "methods": {m: _roc_summary(tb["y"][tb["scored"]], c.scores[m][tb["scored"]]) for m in METHODS}}
    for m in METHODS:
        thr = out["methods"][m]["eer_threshold"]
        tp = fp = fn = 0
        for c, lab in passes:
            if m == "ours":
                det = c.blinks_ours
            elif thr is not None:
                det = threshold_blinks(c, m, thr)
            else:
                det = ()
            a, b, d = _blinks(det, lab)
            tp, fp, fn = tp + a, fp + b, fn + d
        p, r = precision_recall(tp, fp, fn)
        out["methods"][m]["blinks"] = {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r,
                                       "rule": "monitor blink events" if m == "ours" else f"score >= {thr}"}
    aucs = {m: out["methods"][m]["auc"] for m in METHODS}
    # Issue 3's bar: our frame AUC at least that of each baseline (None: no AUC to compare).
    out["ours_at_least_baselines"] = None if None in aucs.values() else all(
        aucs["ours"] >= aucs[m] for m in METHODS if m != "ours")
    return out


def _f(v, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def tables(results: dict) -> str:
    """Two markdown tables: frame-level separation, then blinks."""
    lines = ["| condition | frame size | frames closed / open | no face | "
             + " | ".join(f"{NAMES[m]} AUC" for m in METHODS) + " | "
             + " | ".join(f"{NAMES[m]} EER" for m in METHODS) + " | ours ≥ both (AUC) |",
             "|---" * (5 + 2 * len(METHODS)) + "|"]
    for cond, r in results.items():
        ms = r["methods"]
        bar = {True: "yes", False: "**no**", None: "–"}[r["ours_at_least_baselines"]]
        lines.append(f"| {cond} | {', '.join(r['size'])} | {r['closed']} / {r['open']} | {r['no_face']} | "
                     + " | ".join(_f(ms[m]["auc"]) for m in METHODS) + " | "
                     + " | ".join(_f(ms[m]["eer"]) for m in METHODS) + f" | {bar} |")
    lines += ["", "| condition | labelled blinks | " + " | ".join(f"{NAMES[m]} precision / recall" for m in METHODS) + " |",
              "|---" * (2 + len(METHODS)) + "|"]
    for cond, r in results.items():
        ms = r["methods"]
        n = ms["ours"]["blinks"]["tp"] + ms["ours"]["blinks"]["fn"]
        cells = [f"{_f(ms[m]['blinks']['precision'], 2)} / {_f(ms[m]['blinks']['recall'], 2)}" for m in METHODS]
        lines.append(f"| {cond} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(condition: str, passes: list[tuple[ClipPass, Labels]], summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, y, pooled = _pooled(passes)
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    for m in METHODS:
        s = pooled[m]
        ok = np.isfinite(s)
        if summary["methods"][m]["auc"] is None:
            continue
        fpr, tpr, _ = roc_curve(y[ok], s[ok])
        ax.plot(fpr, tpr, label=f"{NAMES[m]} (AUC {summary['methods'][m]['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set(xlabel="false positive rate (open called closed)", ylabel="true positive rate (closed found)",
           title=f"{condition}: {summary['closed']} closed / {summary['open']} open frames", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(args: argparse.Namespace) -> int:
    from ..runtime.classify import EyeClassifier
    from .degrade import CONDITIONS, DESCRIPTIONS
    from ..paths import default_eye_model, resolve_landmarker
    from ..settings_io import resolve_section

    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad or not conditions:
        raise UsageError(f"--conditions: unknown {', '.join(bad) or '(none given)'}; choose from {', '.join(CONDITIONS)}")
    why = problem("jitter", args.jitter)
    if why:
        raise UsageError(f"--jitter {why}, got {args.jitter}")
    pairs = _pairs(args)
    labels = [read_labels(lab, video.name, args.events) for video, lab in pairs]
    classifier = EyeClassifier(args.model or default_eye_model(), device=args.device)
    landmarker = resolve_landmarker(args.landmarker)
    temporal = resolve_section(args, "temporal")
    results, all_passes = {}, {}
    for cond in conditions:
        passes = []
        for (video, _), lab in zip(pairs, labels):
            print(f"  {cond:9s} {video.name}", file=sys.stderr, flush=True)
            passes.append((run_clip(video, cond, classifier, landmarker, args.jitter, temporal), lab))
        results[cond] = summarise(cond, passes)
        all_passes[cond] = passes
    print(f"eye model {classifier.path} (threshold {classifier.threshold:g}), {len(pairs)} clip(s), "
          f"jitter {args.jitter}")
    print(tables(results))
    if args.plots:
        out = Path(args.plots)
        out.mkdir(parents=True, exist_ok=True)
        for cond in conditions:
            plot(cond, all_passes[cond], results[cond], out / f"roc_{cond}.png")
        print(f"ROC plots: {out}/roc_<condition>.png")
    if args.json:
        doc = {"model": classifier.describe(), "jitter": args.jitter,
               "clips": [str(v) for v, _ in pairs], "conditions": {c: DESCRIPTIONS[c] for c in conditions},
               "results": results}
        Path(args.json).write_text(json.dumps(doc, indent=1))
    return 0
