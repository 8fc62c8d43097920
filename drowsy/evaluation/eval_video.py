"""`drowsy eval-video`: frame-level ROC AUC / EER and blink precision / recall / F1 on labelled
clips, for our p_closed against two baselines from the same landmarker pass (MediaPipe's
eyeBlink blendshapes and the eye aspect ratio), on clean clips, degraded copies and the clean
clips decimated to lower frame rates; pooled, per person and per clip group.

Pass sets: each condition at the clip's own rate ("clean", "dark", ...), and the clean clips
at each --rates value ("clean@15fps"): frames dropped, timestamps kept, a real VIDEO-mode
landmarker pass on the kept frames. Figures: summary.py; blink convention: blinks.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import DrowsyError, UsageError
from ..settings import DEVICES, LANDMARKS_EVERY_MAX
from ..settings_check import problem
from .clips import LABEL_SUFFIX, METHODS, ClipPass, Labels, clip_info, find_pairs, read_labels, run_clip
from .summary import frame_table, summarise
from .tables import NAMES, all_tables
from .metrics import roc_curve

BASELINE_NOTE = ("The baselines' blink thresholds are fitted on the very clips evaluated (best pooled blink F1 "
                 "per pass set), which favours them; ours runs at the model's own threshold.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Scores: ours = the runtime's fused p_closed; eyeBlink = mean of eyeBlinkLeft/Right; "
                "EAR = minus the mean eye aspect ratio; all from one landmarker pass (with --landmarks-every N > 1 "
                "the baselines see the newest landmarks, moved). partial_ambiguous frames "
                "are left out, frames without a face counted. " + BASELINE_NOTE)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", metavar="PATH", help="one clip (labels: --labels, default PATH.eyestate.csv)")
    src.add_argument("--dir", metavar="DIR", help="every <clip>.eyestate.csv with its clip under DIR")
    src.add_argument("--scenarios", nargs="?", const="", metavar="DIR",
                     help="run the SYNTHETIC scenario suite (docs/scenarios.md); clips made in DIR "
                          "(default: the user cache) from --scenario-source")
    p.add_argument("--scenario-source", metavar="CLIP", help="labelled frontal clip the scenarios are made "
                   "from (default ../shared/videos/grid/brbk7n.mpg)")
    p.add_argument("--only", metavar="NAME,...", help="with --scenarios: only these scenarios")
    p.add_argument("--labels", metavar="PATH.eyestate.csv", help="frame labels of --video")
    p.add_argument("--persons", metavar="P,...", help="only these people's clips, e.g. the ones a model never saw "
                   "(000001,grid:brbk7n,dinoman:example; a ZJU person is the first 6 characters)")
    p.add_argument("--events", metavar="CSV", help="blink events (default: blink_events.csv beside the labels)")
    p.add_argument("--conditions", default="clean,dark,lowres,blurgray",
                   help="comma-separated, from clean, dark, lowres, blurgray, sway (synthetic head motion) "
                   "(default: all but sway)")
    p.add_argument("--rates", default="15,6", metavar="FPS,...",
                   help="also run the clean clips decimated to these frame rates (default 15,6; '' for none)")
    p.add_argument("--landmarks-every", default="1", metavar="N,...",
                   help="also run every condition with landmarks on one frame in N and the eye stage on every "
                   "frame (landmarks moved by optical flow, as drowsy run --landmarks-every N); default 1")
    p.add_argument("--model", metavar="PATH", help="eye model .onnx (default: the bundled one)")
    p.add_argument("--landmarker", metavar="PATH", help="face landmarker .task file")
    p.add_argument("--device", default="cpu", choices=DEVICES,
                   help="where the eye model runs (cpu: scores do not depend on a GPU)")
    p.add_argument("--jitter", type=int, default=8, metavar="J", help="jittered crops per eye (8)")
    p.add_argument("--cache", metavar="DIR", help="record landmarker passes here and replay them on later runs "
                   "(default: the user cache; 'none' to run the landmarker every time)")
    p.add_argument("--plots", metavar="DIR", help="write one ROC plot per pass set, roc_<pass>.png")
    p.add_argument("--json", metavar="FILE", help="write every figure (pooled, per clip, person, group) as JSON")
    # Our blinks come from the temporal stage: the same settings as `drowsy run` apply.
    from ..settings_io import add_section_arguments

    p.add_argument("--config", metavar="FILE.toml", help="a `drowsy run` settings file; its [temporal] applies")
    add_section_arguments(p, ("temporal",))


def _pairs(args) -> list[tuple[Path, Path]]:
    if args.dir:
        if args.labels:
            raise UsageError("--labels goes with --video; --dir finds <clip>.eyestate.csv itself")
        pairs = find_pairs(args.dir)
        if args.persons is None:
            return pairs
        wanted = {p.strip() for p in args.persons.split(",") if p.strip()}
        known = {clip_info(v).person for v, _ in pairs}
        if not wanted or wanted - known:
            raise UsageError(f"--persons: unknown {', '.join(sorted(wanted - known)) or '(none given)'}; "
                             f"the clips under {args.dir} are of {', '.join(sorted(known))}")
        return [(v, lab) for v, lab in pairs if clip_info(v).person in wanted]
    if args.persons is not None:
        raise UsageError("--persons goes with --dir")
    video = Path(args.video)
    labels = Path(args.labels) if args.labels else video.with_name(video.name + LABEL_SUFFIX)
    if not video.is_file():
        raise DrowsyError(f"video not found: {video}")
    if not labels.is_file():
        raise DrowsyError(f"labels not found: {labels} (pass --labels)")
    return [(video, labels)]


def pass_sets(conditions_arg: str, rates_arg: str, every_arg: str = "1") -> list[tuple[str, str, float | None, int]]:
    """(name, condition, fps or None, landmarks every N frames) of every pass set asked for;
    UsageError on a bad value. N > 1 sets are named "<condition>:every<N>"."""
    from .degrade import CONDITIONS

    conditions = [c.strip() for c in conditions_arg.split(",") if c.strip()]
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad or not conditions:
        raise UsageError(f"--conditions: unknown {', '.join(bad) or '(none given)'}; "
                         f"choose from {', '.join(CONDITIONS)}")
    try:
        rates = [float(r) for r in rates_arg.split(",") if r.strip()]
    except ValueError:
        raise UsageError(f"--rates must be comma-separated frame rates, got {rates_arg!r}") from None
    if any(not 0.5 <= r <= 1000 for r in rates):
        raise UsageError(f"--rates must lie between 0.5 and 1000 frames per second, got {rates_arg!r}")
    try:
        every = [int(n) for n in every_arg.split(",") if n.strip()] or [1]
    except ValueError:
        every = [0]
    if any(not 1 <= n <= LANDMARKS_EVERY_MAX for n in every):
        raise UsageError(f"--landmarks-every must be comma-separated whole numbers from 1 to {LANDMARKS_EVERY_MAX}, "
                         f"got {every_arg!r}")
    out = [(c if n == 1 else f"{c}:every{n}", c, None, n) for c in conditions for n in sorted(set(every))]
    if rates and "clean" not in conditions:
        raise UsageError("--rates decimates the clean clips: include clean in --conditions, or pass --rates ''")
    return out + [(f"clean@{r:g}fps", "clean", r, 1) for r in rates]


def cache_folder(arg: str | None) -> Path | None:
    from ..paths import cache_dir

    if arg == "none":
        return None
    path = Path(arg) if arg else cache_dir() / "eval_video"
    if path.exists() and not path.is_dir():
        raise UsageError(f"--cache must be a folder, and {path} is a file")
    return path


def collect(pairs, sets, classifier, landmarker: Path, jitter: int, temporal, cache: Path | None,
            events_csv=None) -> dict[str, list[tuple[ClipPass, Labels]]]:
    """Every clip through the pipeline once per pass set: {name: [(ClipPass, Labels)]}."""
    labels = [read_labels(lab, video.name, events_csv) for video, lab in pairs]
    out = {}
    for name, cond, fps, every in sets:
        out[name] = []
        for (video, _), lab in zip(pairs, labels):
            print(f"  {name:12s} {video.name}", file=sys.stderr, flush=True)
            out[name].append((run_clip(video, cond, classifier, landmarker, jitter, temporal, fps, cache,
                                       every=every), lab))
    return out


def plot(name: str, passes: list[tuple[ClipPass, Labels]], summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = [frame_table(c, lab) for c, lab in passes]
    y = np.concatenate([tb["y"][tb["scored"]] for tb in tables])
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    for m in METHODS:
        if summary["methods"][m]["auc"] is None:
            continue
        s = np.concatenate([c.scores[m][tb["scored"]] for (c, _), tb in zip(passes, tables)])
        ok = np.isfinite(s)
        fpr, tpr, _ = roc_curve(y[ok], s[ok])
        ax.plot(fpr, tpr, label=f"{NAMES[m]} (AUC {summary['methods'][m]['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set(xlabel="false positive rate (open called closed)", ylabel="true positive rate (closed found)",
           title=f"{name}: {summary['closed']} closed / {summary['open']} open frames", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    from ..outputs import replacing

    try:
        with replacing(path, "--plots") as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)


def main(args: argparse.Namespace) -> int:
    from ..runtime.classify import EyeClassifier
    from .degrade import DESCRIPTIONS
    from ..paths import default_eye_model, resolve_landmarker
    from ..settings_io import resolve_section

    why = problem("jitter", args.jitter)  # both modes: a usage error before any clip is made
    if why:
        raise UsageError(f"--jitter {why}, got {args.jitter}")
    if args.scenarios is not None:
        from .scenario_eval import main as scenarios_main

        if args.landmarks_every.strip() != "1":  # the suite runs landmarks on every frame
            raise UsageError("--landmarks-every is not used by --scenarios; leave it out")
        return scenarios_main(args)
    sets = pass_sets(args.conditions, args.rates, args.landmarks_every)
    pairs = _pairs(args)
    _check_outputs(args, pairs, [s[0] for s in sets])
    cache = cache_folder(args.cache)
    classifier = EyeClassifier(args.model or default_eye_model(), device=args.device)
    temporal = resolve_section(args, "temporal")
    passes = collect(pairs, sets, classifier, resolve_landmarker(args.landmarker), args.jitter, temporal,
                     cache, args.events)
    infos = {v.name: clip_info(v) for v, _ in pairs}
    results = {name: summarise(p, infos) for name, p in passes.items()}
    print(f"eye model {classifier.path} (threshold {classifier.threshold:g}), {len(pairs)} clip(s), "
          f"{len({i.person for i in infos.values()})} person(s), jitter {args.jitter}. {BASELINE_NOTE}")
    print(all_tables(results))
    passes_used = {n: [sum(c.landmark_passes for c, _ in p), sum(len(c.frame) for c, _ in p)]
                   for n, p in passes.items()}
    for n, (used, frames) in passes_used.items():
        if used != frames:  # --landmarks-every N > 1: one in N, plus the early passes the flow asked for
            print(f"{n}: landmarks on {used} of {frames} frames ({used / frames:.1%}), moved by flow on the rest")
    if args.plots:
        out = Path(args.plots)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DrowsyError(f"cannot create --plots folder {out}: {e.strerror or e}") from None
        for name in results:
            plot(name, passes[name], results[name], out / f"roc_{name}.png")
        print(f"ROC plots: {out}/roc_<pass>.png")
    if args.json:
        doc = {"model": classifier.describe(), "jitter": args.jitter, "temporal": asdict(temporal),
               "clips": {str(v): asdict(infos[v.name]) for v, _ in pairs},
               "passes": {n: {"condition": DESCRIPTIONS[c], "fps": f, "landmarks_every": e} for n, c, f, e in sets},
               "baselines": BASELINE_NOTE, "results": results, "landmark_passes": passes_used,
               "blink_recall_by_rate": {n: {m: r["methods"][m]["blinks"]["recall"] for m in METHODS}
                                        for n, r in results.items() if n == "clean" or n.startswith("clean@")}}
        from ..outputs import write_text

        write_text(args.json, json.dumps(doc, indent=1), "--json")
    return 0


def _check_outputs(args, pairs, names) -> None:
    """--json and the plots against every input (clips, labels, models) before any work."""
    from ..outputs import Output, check
    from ..paths import default_eye_model, find_landmarker

    outs = [Output("--json", args.json)]
    if args.plots:
        outs += [Output("--plots", args.plots, "folder")]
        outs += [Output("--plots", Path(args.plots) / f"roc_{n}.png") for n in names]
    inputs = {"--model": args.model or default_eye_model(), "--landmarker": find_landmarker(args.landmarker)[0],
              "--events": args.events}
    for video, lab in pairs:
        inputs |= {f"clip {video.name}": video, f"labels {lab.name}": lab}
    check(outs, inputs, make_parents=True)
