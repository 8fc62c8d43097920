"""The markdown tables of scripts/calibration_eval.py (docs/calibrate.md) from evaluate()'s result."""

from __future__ import annotations

from .blinks import BlinkCount
from .calibration import TEST_ON


def _sum(counts) -> BlinkCount:
    return sum(counts, BlinkCount())


def by_condition(result: dict) -> dict:
    """Pooled blink figures per test condition, without a profile and with (the LOPO-chosen candidate)."""
    def c(d):
        return BlinkCount(d["tp"], d["fp"], d["fn"], d["ignored"])

    out = {}
    for cond in TEST_ON:
        rows = [(r["clips"][cond], r["rule"]) for r in result["people"].values() if cond in r["clips"]]
        out[cond] = {"without": _sum(c(x["none"]) for x, _ in rows).to_json(),
                     "with": _sum(c(x[rule]) for x, rule in rows).to_json()}
    return out


def table(result: dict) -> str:
    """The markdown table of docs/calibrate.md."""
    def f(v, d=3):
        return "–" if v is None else f"{v:.{d}f}"

    def prf(d):
        return f"{f(d['precision'], 2)} / {f(d['recall'], 2)} / **{f(d['f1'])}**"

    def desc(r):
        pr = r["profiles"].get(r["rule"]) or next(iter(r["profiles"].values()), None)
        if r["rule"] in r["refused"] or pr is None:
            why = r["refused"].get(r["rule"]) or next(iter(r["refused"].values()))
            return f"{r['rule']} refused: " + why.split(";")[0]
        if r["rule"] == "none":
            return "none (no profile)"
        if r["rule"] == "pose":
            return f"pose only: yaw {pr['yaw_centre_deg']:+.1f}°, pitch {pr['pitch_centre_deg']:+.1f}°"
        return f"{pr['closed_threshold']:.3f}, {pr['hysteresis']:.3f}, w {pr['geometry_weight']:g} ({r['rule']})"

    def refusals(name, r):
        return [f"- {name}: {len(r['refused'])} of {len(r['refused']) + len(r['profiles'])} profile rules refuse "
                f"({', '.join(r['refused'])}): {next(iter(r['refused'].values())).split(';')[0]}"] if r["refused"] else []

    def aucs(r, w="auc", e="auc_ear", b="auc_eyeblink", wo="auc_without"):
        return f"{f(r[wo], 5)} / {f(r[w], 5)} / {f(r[e], 5)} / {f(r[b], 5)}"

    lines = ["| person | LOPO choice: threshold, hysteresis, lid weight (rule) | blinks | without: P / R / F1 | "
             "with profile: P / R / F1 | frame AUC without / with / EAR / eyeBlink | open frames read closed "
             "without → with (of) |", "|---|---|---|---|---|---|---|"]
    for name, r in result["people"].items():
        n = r["without"]["tp"] + r["without"]["fn"]
        who = f"{name}{' (unseen)' if r.get('unseen') else ''}"
        lines.append(f"| {who} | {desc(r)} | {n} | {prf(r['without'])} | {prf(r['with'])} | "
                     f"{aucs(r, 'auc_with', wo='auc')} | {r['open_read_closed']} → {r['open_read_closed_with']} "
                     f"({r['open_frames']}) |")
    po = result["pooled"]
    n = po["without"]["tp"] + po["without"]["fn"]
    lines.append(f"| **all** | without: the model's {result['model_threshold']:.3f}, {result['model_hysteresis']:g} "
                 f"| {n} | {prf(po['without'])} | {prf(po['with'])} | {aucs(po, 'auc_with')} | |")
    g = "glasses_"
    glasses = aucs(po, g + "auc_with", g + "auc_ear", g + "auc_eyeblink", g + "auc_without")
    lines.append(f"| all, glasses clips (FTN, FBN) | | | | | {glasses} | |")
    un = po["unseen"]
    if un["people"]:
        n_u = un["without"]["tp"] + un["without"]["fn"]
        lines.append(f"| unseen people only ({', '.join(un['people'])}) | | {n_u} | {prf(un['without'])} | "
                     f"{prf(un['with'])} | | |")
    for rule in result["candidates"][1:]:
        mark = " (chosen on all people)" if rule == result["chosen_on_all"] else ""
        mark += " (ships)" if rule == result["ships"] else ""
        auc = "" if rule == "pose" else (f"all {f(po['auc_with_' + rule], 5)}, glasses "
                                         f"{f(po[g + 'auc_with_' + rule], 5)}")
        lines.append(f"| all, every person on '{rule}'{mark} | | {n} | | {prf(po['with_' + rule])} | {auc} | |")
    for cond, r in by_condition(result).items():
        n = r["without"]["tp"] + r["without"]["fn"]
        lines.append(f"| all, {cond} clips only | | {n} | {prf(r['without'])} | {prf(r['with'])} | | |")
    notes = [ln for name, r in result["people"].items() for ln in refusals(name, r)]
    return "\n".join(lines + ([""] + notes if notes else []))
