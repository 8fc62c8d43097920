"""Frame-level scores of eye models on the labelled clips' held-out persons, from the crop cache.

For model selection and the model card: the runtime's frame score (mean over each eye's 9
crops, then over both eyes) of every model given, against MediaPipe's eyeBlink and the eye
aspect ratio from the very same landmarker pass, on the persons of one leave-people-out part
(drowsy.training.splits.person_folds). Frame label: both eyes fully closed; transition frames and
frames without a face or a label are left out. No torch for .onnx models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..training.videocrops import CONDITIONS
from ..training.videodata import frame_scores, frame_tables, load_video_dataset
from .metrics import roc_figures


def fold_persons(root: str | Path, part: str, seed: int = 0, scheme: str = "original") -> list[str]:
    """The persons of one part (train / val / test) of the video split with this seed and scheme."""
    from ..training.splits import make_split

    data = load_video_dataset(root)
    return sorted(np.unique(data.group[make_split(data, seed=seed, scheme=scheme).part(part)]).tolist())


def model_predictor(path: Path):
    """P(closed) of uint8 crops (N, S, S) for an .onnx (EyeClassifier) or .pt model."""
    if path.suffix == ".onnx":
        from ..runtime.classify import EyeClassifier

        clf = EyeClassifier(path, device="cpu", threads=1)
        return lambda x: np.concatenate([clf.predict(x[k:k + 4096]) for k in range(0, len(x), 4096)])
    from ..training.loop import predict
    from ..training.models import load_checkpoint

    net, _ = load_checkpoint(path)
    return lambda x: predict(net, x)


def _figures(y: np.ndarray, s: np.ndarray) -> dict:
    ok = np.isfinite(s)
    f = roc_figures(y[ok], s[ok])
    return {"n": int(ok.sum()), "closed": int(y[ok].sum()), "auc": f["auc"], "eer": f["eer"]}


def evaluate_frames(root: str | Path, models: dict[str, Path], persons: list[str],
                    conditions=CONDITIONS, cache: Path | None = None) -> dict:
    """{slice: {method: {n, closed, auc, eer}}} for slices 'all', 'condition=…', 'person=…',
    'glasses=…', 'view=…' (the last three on clean frames)."""
    tables = frame_tables(root, conditions, persons=set(persons), cache=cache)
    methods = {name: model_predictor(Path(p)) for name, p in models.items()}
    rows = []  # per table: labels, {method: scores}, keys
    for t in tables:
        s = {name: frame_scores(f, t) for name, f in methods.items()}
        s["eyeBlink"] = t.blink
        s["EAR"] = -t.ear  # negated: higher = closed, like the others
        rows.append((t, s))
    slices: dict[str, list] = {"all": rows}
    for c in conditions:
        slices[f"condition={c}"] = [(t, s) for t, s in rows if t.condition == c]
    clean = [(t, s) for t, s in rows if t.condition == "clean"]
    for key in ("source", "glasses", "view", "person"):
        for value in sorted({t.info[key] for t, _ in clean}):
            slices[f"{key}={value}"] = [(t, s) for t, s in clean if t.info[key] == value]
    out = {}
    for name, members in slices.items():
        if not members:
            continue
        y = np.concatenate([t.closed for t, _ in members])
        out[name] = {m: _figures(y, np.concatenate([s[m] for _, s in members])) for m in members[0][1]}
    return out


def format_table(result: dict) -> list[str]:
    methods = list(next(iter(result.values())))
    lines = [f"{'slice':28s} {'frames':>7s} {'closed':>6s}  " + "  ".join(f"{m[:14]:>14s}" for m in methods),
             f"{'':28s} {'':7s} {'':6s}  " + "  ".join(f"{'AUC / EER %':>14s}" for _ in methods)]
    for name, r in result.items():
        first = r[methods[0]]
        cells = []
        for m in methods:
            f = r[m]
            cells.append(f"{f['auc']:.4f} / {100 * f['eer']:4.1f}" if f["auc"] is not None else f"{'-':>14s}")
        lines.append(f"{name:28s} {first['n']:7d} {first['closed']:6d}  " + "  ".join(f"{c:>14s}" for c in cells))
    return lines
