"""Markdown tables of `drowsy eval-video` results (summary.summarise per pass set)."""

from __future__ import annotations

from .clips import METHODS

NAMES = {"ours": "ours", "blendshape": "eyeBlink", "ear": "EAR"}


def _f(v, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _blinks(b: dict) -> str:
    """found/labelled, false, F1."""
    return f"{b['tp']}/{b['tp'] + b['fn']} · {b['fp']} · {_f(b['f1'], 2)}"


def overall(results: dict) -> str:
    """One row per pass set: frame AUC and EER, then blinks, for each method."""
    head = ("| pass | frame size | closed / open frames | no face | not judged (ours) | "
            + " | ".join(f"{NAMES[m]} AUC" for m in METHODS) + " | "
            + " | ".join(f"{NAMES[m]} EER" for m in METHODS) + " | "
            + " | ".join(f"{NAMES[m]} blinks" for m in METHODS) + " |")
    lines = [head, "|---" * (5 + 3 * len(METHODS)) + "|"]
    for name, r in results.items():
        ms = r["methods"]
        lines.append(f"| {name} | {', '.join(r['size'])} | {r['closed']} / {r['open']} | {r['no_face']} | "
                     f"{r.get('not_judged_ours', '–')} | "
                     + " | ".join(_f(ms[m]["auc"], 4) for m in METHODS) + " | "
                     + " | ".join(_f(ms[m]["eer"]) for m in METHODS) + " | "
                     + " | ".join(_blinks(ms[m]["blinks"]) for m in METHODS) + " |")
    return "\n".join(lines)


def breakdown(results: dict, key: str, pass_names=None) -> str:
    """Per person or per group (key), for each pass set: AUC and blinks of each method."""
    lines = [f"| pass | {key[:-1]} | closed / open | "
             + " | ".join(f"{NAMES[m]} AUC" for m in METHODS) + " | "
             + " | ".join(f"{NAMES[m]} blinks" for m in METHODS) + " |",
             "|---" * (3 + 2 * len(METHODS)) + "|"]
    for name in pass_names or results:
        if name not in results:
            continue
        for who, r in results[name].get(key, {}).items():
            lines.append(f"| {name} | {who} | {r['closed']} / {r['open']} | "
                         + " | ".join(_f(r[m]["auc"], 4) for m in METHODS) + " | "
                         + " | ".join(_blinks(r[m]["blinks"]) for m in METHODS) + " |")
    return "\n".join(lines)


def rates(results: dict) -> str:
    """Blink recall and precision per frame rate (the clean clips, decimated)."""
    rows = [n for n in results if n == "clean" or n.startswith("clean@")]
    if len(rows) < 2:
        return ""
    lines = ["| frame rate | " + " | ".join(f"{NAMES[m]} recall" for m in METHODS) + " | "
             + " | ".join(f"{NAMES[m]} precision" for m in METHODS) + " |", "|---" * (1 + 2 * len(METHODS)) + "|"]
    for n in rows:
        b = {m: results[n]["methods"][m]["blinks"] for m in METHODS}
        lines.append(f"| {'native (25/30)' if n == 'clean' else n.split('@')[1]} | "
                     + " | ".join(_f(b[m]["recall"]) for m in METHODS) + " | "
                     + " | ".join(_f(b[m]["precision"]) for m in METHODS) + " |")
    return "\n".join(lines)


def all_tables(results: dict) -> str:
    parts = ["Blinks: found/labelled · false · F1.", "", overall(results), "", breakdown(results, "groups")]
    r = rates(results)
    if r:
        parts += ["", r]
    parts += ["", breakdown(results, "persons", ["clean"])]
    return "\n".join(parts)
