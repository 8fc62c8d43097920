"""Choose the closed threshold, hysteresis and eye fusion of an eye model on labelled video,
leave people out, and optionally write them into a copy of the model's ONNX metadata.

    python scripts/choose_operating_point.py --model M.onnx --dir ../shared/videos [--write OUT.onnx]

Every labelled clip runs through the pipeline once per pass set (clean, dark, lowres, blurgray,
clean at 15 and 6 FPS; landmarker passes recorded in the user cache, or --cache), then every
candidate is replayed through the real temporal logic. The selection rule is
drowsy.evaluation.operating_point.RULE (declared in that module before any held-out figure was computed).
Printed: the pick of each leave-one-person-out fold and the held-out person's blinks at it,
pooled held-out figures per pass set and per clip group, and the pick on all persons — the
value --write stores (`drowsy.threshold`, `drowsy.hysteresis`, `drowsy.fusion`,
`drowsy.threshold_source`). Needs `onnx` for --write (the [train] extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drowsy.evaluation.blinks import BlinkCount
from drowsy.errors import DrowsyError, first_line
from drowsy.evaluation.clips import clip_info, find_pairs
from drowsy.evaluation.operating_point import (FUSIONS, RULE, candidate_table, leave_people_out, select, total,
                                              write_operating_point)

SETS = "clean,dark,lowres,blurgray"
RATES = "15,6"


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _row(label: str, c: BlinkCount) -> str:
    return f"| {label} | {c.tp}/{c.tp + c.fn} | {c.fp} | {_f(c.precision)} | {_f(c.recall)} | {_f(c.f1)} |"


def frame_aucs(passes: dict, fusions) -> dict:
    """Pooled frame AUC per pass set of each fusion rule and of the two baselines."""
    from drowsy.evaluation.operating_point import frame_auc, fused_scores

    names = list(passes)
    rows = {f: {n: frame_auc(passes[n], lambda c, f=f: fused_scores(c, f)) for n in names} for f in fusions}
    for m, label in (("blendshape", "eyeBlink (baseline)"), ("ear", "EAR (baseline)")):
        rows[label] = {n: frame_auc(passes[n], lambda c, m=m: c.scores[m]) for n in names}
    print("\nFrame AUC, all clips pooled (no threshold involved):\n")
    print("| scores | " + " | ".join(names) + " |\n" + "|---" * (1 + len(names)) + "|")
    for label, row in rows.items():
        print(f"| {label} | " + " | ".join("–" if v is None else f"{v:.4f}" for v in row.values()) + " |")
    return rows


def by_fusion(table: dict, infos: dict) -> dict:
    """The same leave-people-out protocol with the fusion rule fixed: held-out F1 per pass set."""
    names = list(table)
    used = sorted({c.fusion for c in next(iter(table.values()))}, key=FUSIONS.index)
    print("\nEach fusion rule alone (threshold and hysteresis still chosen per fold), held-out blink F1:\n")
    print("| fusion | " + " | ".join(names) + " |\n" + "|---" * (1 + len(names)) + "|")
    out = {}
    for f in used:
        sub = {n: {c: v for c, v in t.items() if c.fusion == f} for n, t in table.items()}
        folds = leave_people_out(sub, {c: i.person for c, i in infos.items()})
        counts = {n: sum((v[0] for fo in folds.values() for v in fo["test"][n].values()), BlinkCount())
                  for n in names}
        out[f] = {n: c.to_json() for n, c in counts.items()}
        print(f"| {f} | " + " | ".join(f"{_f(c.f1)} ({c.tp}/{c.tp + c.fn}, {c.fp} false)" for c in counts.values())
              + " |")
    return out


def report(table: dict, folds: dict, infos: dict, final, final_score: float, passes: dict) -> dict:
    """Print the folds and pooled held-out figures; return them as JSON-ready data."""
    print(f"Rule: {RULE}\n")
    print("| held-out person | pick (fusion, threshold, hysteresis) | dev score | held-out clean blinks | false |")
    print("|---|---|---|---|---|")
    for person, f in folds.items():
        c = sum((v[0] for v in f["test"]["clean"].values()), BlinkCount())
        p = f["pick"]
        print(f"| {person} | {p.fusion}, {p.threshold:g}, {p.hysteresis:g} | {f['dev_score']:.4f} | "
              f"{c.tp}/{c.tp + c.fn} | {c.fp} |")
    held = {}
    print("\nHeld-out figures, pooled over the folds (each person scored at the pick made without them):\n")
    print("| pass / group | found / labelled | false | precision | recall | F1 |\n|---|---|---|---|---|---|")
    groups = sorted({i.group for i in infos.values()})
    for name in table:
        cells = {c: v for f in folds.values() for c, v in f["test"][name].items()}
        pooled = sum((v[0] for v in cells.values()), BlinkCount())
        held[name] = {"all": pooled.to_json(), "alerts": sum(v[1] for v in cells.values())}
        print(_row(name, pooled))
        for g in groups:
            c = sum((v[0] for k, v in cells.items() if infos[k].group == g), BlinkCount())
            held[name][g] = c.to_json()
            print(_row(f"{name} · {g}", c))
    fusions = by_fusion(table, infos)
    aucs = frame_aucs(passes, list(fusions))
    print(f"\nPick on all persons (what --write stores): fusion {final.fusion}, threshold {final.threshold:g}, "
          f"hysteresis {final.hysteresis:g} (score {final_score:.4f})")
    for name in table:
        c, a = total(table[name][final], list(infos))
        print(f"  at that pick, {name}: {c.tp}/{c.tp + c.fn} found, {c.fp} false, F1 {_f(c.f1)}, alerts {a} "
              "(not held out)")
    return {"rule": RULE, "held_out": held, "held_out_by_fusion": fusions, "frame_auc": aucs,
            "final": final.to_json(), "final_dev_score": final_score,
            "folds": {p: {"pick": f["pick"].to_json(), "dev_score": f["dev_score"]} for p, f in folds.items()}}


def main(argv=None) -> int:
    from drowsy.runtime.classify import EyeClassifier
    from drowsy.evaluation.eval_video import cache_folder, collect, pass_sets
    from drowsy.paths import resolve_landmarker
    from drowsy.settings import TemporalConfig

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="eye model .onnx")
    ap.add_argument("--dir", required=True, help="folder of labelled clips (e.g. ../shared/videos)")
    ap.add_argument("--write", metavar="OUT.onnx", help="write a copy of the model with the pick in its metadata")
    ap.add_argument("--landmarker", help="face landmarker .task file")
    ap.add_argument("--cache", help="landmarker passes: record / replay here (default: the user cache; 'none')")
    ap.add_argument("--jitter", type=int, default=8)
    ap.add_argument("--fusions", default=",".join(FUSIONS),
                    help=f"candidate eye fusions, a subset of {','.join(FUSIONS)} (default: all)")
    ap.add_argument("--json", metavar="FILE", help="write the folds and figures as JSON")
    args = ap.parse_args(argv)
    fusions = [f for f in FUSIONS if f in args.fusions.split(",")]  # the rule's tie order
    unknown = set(args.fusions.split(",")) - set(FUSIONS)
    if unknown or not fusions:
        print(f"choose_operating_point: error: --fusions: unknown {', '.join(sorted(unknown)) or '(none)'}; "
              f"choose from {', '.join(FUSIONS)}", file=sys.stderr)
        return 2
    try:
        out = Path(args.write) if args.write else None
        if out is not None and out.resolve() == Path(args.model).resolve():
            raise DrowsyError("--write must name a new file, not the model itself")
        clf = EyeClassifier(args.model, device="cpu")
        pairs = find_pairs(args.dir)
        temporal = TemporalConfig()
        passes = collect(pairs, pass_sets(SETS, RATES), clf, resolve_landmarker(args.landmarker), args.jitter,
                         temporal, cache_folder(args.cache))
        infos = {v.name: clip_info(v) for v, _ in pairs}
        table = candidate_table(passes, temporal, fusions=fusions)
        folds = leave_people_out(table, {c: i.person for c, i in infos.items()})
        final, score = select(table, list(infos))
        doc = report(table, folds, infos, final, score, passes)
        doc.update(model=str(args.model), clips=len(pairs), persons=len({i.person for i in infos.values()}),
                   fusions=fusions)
        if args.json:
            Path(args.json).write_text(json.dumps(doc, indent=1))
        if out is not None:
            source = (f"video operating point: scripts/choose_operating_point.py on {len(pairs)} labelled clips of "
                      f"{doc['persons']} persons ({args.dir}); fusions tried: {', '.join(fusions)}; {RULE}")
            write_operating_point(args.model, out, final, source)
            print(f"wrote {out}")
    except DrowsyError as e:
        print(f"choose_operating_point: error: {first_line(e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
