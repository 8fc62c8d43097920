"""Does a driver profile help on people the model never saw? (issue 16; scripts/calibration_eval.py)

For each person in a ZJU-style folder (clips `<person>_<COND>.mp4`, labels beside them): calibrate
on the frontal no-glasses clip (FNN) exactly as `drowsy calibrate --video` does (its collect, through
Pipeline.run), then run the person's other clips (FTN, FBN: glasses; UNN: looking up) once through
the run's pipeline and frame loop, and replay its gate + temporal stage (pipeline.judge, with the
monitor a run builds: pipeline.monitor_for) without and with each candidate profile. The
landmarker passes are eval-video's ("clean", native rate; recorded once, replayed after).

Candidates (CANDIDATES, in tie order): "none" (no profile: the model's threshold and hysteresis
from its metadata, pose centre 0), "pose" (the profile's rest pose only), and the profile rules
"<threshold rule>/<hysteresis rule>" of profile.derive. The selection rule, fixed before any
held-out figure was looked at: each person gets the candidate with the best pooled blink F1 over
the OTHER people's test clips (leave-one-person-out; a tie goes to the earlier candidate, so "no
change" wins ties). `drowsy calibrate` must write some profile rule: it ships the profile rule
(CANDIDATES[2:]) the same criterion picks on all people (`ships`; profile.py's defaults).

Blinks: evaluation/blinks.py's matcher, as `drowsy eval-video` counts them. Frame AUC: labelled,
non-ambiguous frames with a face, by the fused score; per person it is the same both ways (a
profile moves the threshold, not the order of scores); pooled, 'with' ranks each frame by its
margin over that person's threshold.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DrowsyError
from .blinks import BlinkCount
from .clips import Labels, blink_frames, read_labels
from .metrics import roc_figures
from .summary import count

CANDIDATES = ("none", "pose", "capped/fixed", "capped/half", "midpoint/fixed", "midpoint/half")
CALIBRATE_ON = "FNN"
TEST_ON = ("FTN", "FBN", "UNN")
_NAME = re.compile(r"^(?P<person>.+)_(?P<cond>[A-Z]{3})\.mp4$")


def people(folder: Path) -> dict[str, dict[str, Path]]:
    """{person: {condition: clip}} for people with a calibration clip and at least one test clip."""
    out: dict[str, dict[str, Path]] = {}
    for p in sorted(Path(folder).glob("*.mp4")):
        m = _NAME.match(p.name)
        if m and p.with_name(p.name + ".eyestate.csv").is_file():
            out.setdefault(m["person"], {})[m["cond"]] = p
    out = {k: v for k, v in out.items() if CALIBRATE_ON in v and any(c in v for c in TEST_ON)}
    if not out:
        raise DrowsyError(f"no person with a labelled *_{CALIBRATE_ON}.mp4 and a test clip under {folder}")
    return out


def _landmarks(video: Path, landmarker: Path, cache: Path | None):
    from .passes import landmark_stage

    return landmark_stage(video, "clean", None, landmarker, cache)  # eval-video's clean pass


def calibrate_clip(video: Path, classifier, landmarker: Path, jitter: int, sha256: str,
                   cache: Path | None = None) -> tuple[dict, str | None]:
    """The profiles `drowsy calibrate --video` would write for this clip, one per profile rule
    (empty, and the reason, if it refuses)."""
    from ..runtime.calibrate import measure
    from ..runtime.calibrate_collect import calibration_pipeline, collect
    from ..runtime.capture import VideoSource

    stage, save = _landmarks(video, landmarker, cache)
    with calibration_pipeline(classifier, stage, jitter) as pipeline, VideoSource(video) as source:
        smp = collect(source, pipeline, live=False)
    save()
    try:
        return {c: measure(smp, False, classifier.threshold, classifier.hysteresis, video.stem, sha256,
                           f"video {video.name}", rule=c.split("/")[1], threshold_rule=c.split("/")[0])
                for c in CANDIDATES if "/" in c}, None
    except DrowsyError as e:
        return {}, str(e)


def one_pass(video: Path, classifier, landmarker: Path, jitter: int, cache: Path | None = None
             ) -> tuple[list, float, tuple]:
    """(t, index, face, crops, scores) of every frame of the run's pipeline and frame loop over a
    clip, the end-of-input time, and the pass's own blinks (frame ranges)."""
    from ..runtime.capture import VideoSource
    from ..runtime.pipeline import Pipeline
    from ..settings import ModelConfig, RunConfig

    stage, save = _landmarks(video, landmarker, cache)
    pipeline = Pipeline.from_config(RunConfig(model=ModelConfig(jitter=jitter)), classifier=classifier,
                                    landmarker=stage)
    rows, events = [], []
    with pipeline, VideoSource(video) as source, pipeline.run(source) as loop:
        for r in (step.result for step in loop if step.result is not None):
            rows.append((r.frame.t, r.frame.index, r.face, r.crops, r.scores))
            events += r.state.events
        step_s = 1.0 / (source.fps or 25.0)
        if not rows:
            raise DrowsyError(f"{video}: no frame decoded")
        end_t = rows[-1][0] + step_s  # as eval-video: a closure open at the end covers the last frame
        events += pipeline.finish(end_t)
    save()
    t, frames = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    return rows, end_t, blink_frames(events, t, frames)


def replay(rows: list, end_t: float, temporal, classifier) -> tuple[tuple[int, int], ...]:
    """The run's gate + temporal stage under other settings over one pass: blink frame ranges."""
    from ..runtime.pipeline import judge, monitor_for

    monitor, events = monitor_for(temporal, classifier), []
    for t, _, face, crops, scores in rows:
        events += judge(monitor, t, face, crops, scores).events
    events += monitor.finish(end_t)
    return blink_frames(events, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))


def _scores(rows: list, labels: Labels) -> tuple[np.ndarray, np.ndarray]:
    """(closed label, fused score) of the clip's labelled, non-ambiguous frames with a face."""
    closed_of = dict(zip(labels.frame.tolist(), labels.closed.tolist()))
    amb = set(labels.frame[labels.ambiguous].tolist())
    keep = [r for r in rows if r[1] in closed_of and r[1] not in amb and r[4] is not None]
    return (np.array([closed_of[r[1]] for r in keep], bool), np.array([r[4].fused for r in keep], float))


def settings_of(profiles: dict) -> dict:
    """{candidate: TemporalConfig} (a refused calibration: every candidate runs without a profile)."""
    from dataclasses import replace

    from ..runtime import profile as prof
    from ..settings import TemporalConfig

    base = TemporalConfig()
    out = {"none": base}
    any_p = next(iter(profiles.values()), None)
    out["pose"] = base if any_p is None else replace(base, yaw_centre_deg=any_p.yaw_centre_deg,
                                                     pitch_centre_deg=any_p.pitch_centre_deg)
    for c in CANDIDATES[2:]:
        out[c] = prof.apply(base, profiles[c]) if c in profiles else base
    return out


def person(clips: dict, classifier, landmarker: Path, jitter: int, sha256: str, cache: Path | None = None,
           log=print) -> dict:
    """One person: profiles from the FNN clip; per test clip, blink counts under each candidate."""
    from ..runtime import profile as prof

    profiles, why = calibrate_clip(clips[CALIBRATE_ON], classifier, landmarker, jitter, sha256, cache)
    settings = settings_of(profiles)
    out = {"profiles": {r: {k: getattr(p, k) for k in prof.APPLY_KEYS} | {"basis": p.basis, "note": p.note}
                        for r, p in profiles.items()}, "refused": why, "clips": {}, "y": [], "s": [],
           "thr": {k: (t.closed_threshold if t.closed_threshold is not None else classifier.threshold)
                   for k, t in settings.items()}}
    for cond in (c for c in TEST_ON if c in clips):
        log(f"  {clips[cond].name}")
        labels = read_labels(clips[cond].with_name(clips[cond].name + ".eyestate.csv"), clips[cond].name)
        rows, end_t, run_blinks = one_pass(clips[cond], classifier, landmarker, jitter, cache)
        found = {k: replay(rows, end_t, t, classifier) for k, t in settings.items()}
        if found["none"] != run_blinks:  # the replay must be the run itself
            raise DrowsyError(f"{clips[cond].name}: the replayed temporal stage differs from the run's")
        out["clips"][cond] = {k: count(d, labels) for k, d in found.items()}
        y, s = _scores(rows, labels)
        out["y"].append(y)
        out["s"].append(s)
    return out


def _sum(counts) -> BlinkCount:
    return sum(counts, BlinkCount())


def lopo_rules(tot: dict, candidates: tuple[str, ...] = CANDIDATES) -> dict[str, str]:
    """{person: candidate}: for each person, the one with the best pooled blink F1 over everyone
    else (tot: {person: {candidate: BlinkCount}}); a tie goes to the earlier candidate."""
    out = {}
    for p in tot:
        f1s = {k: _sum(tot[q][k] for q in tot if q != p).f1 or 0.0 for k in candidates}
        out[p] = max(candidates, key=lambda k: (f1s[k], -candidates.index(k)))
    return out


def chosen_on_all(tot: dict, candidates: tuple[str, ...] = CANDIDATES) -> str:
    """The candidate the same criterion picks on every person (CANDIDATES[2:]: what ships)."""
    f1s = {k: _sum(t[k] for t in tot.values()).f1 or 0.0 for k in candidates}
    return max(candidates, key=lambda k: (f1s[k], -candidates.index(k)))


def evaluate(folder: Path, classifier, landmarker: Path, jitter: int, sha256: str, cache: Path | None = None,
             log=print) -> dict:
    """Per person and pooled: blink P/R/F1 without a profile, with each candidate, and with the
    candidate chosen leave-one-person-out."""
    rows = {p: person(c, classifier, landmarker, jitter, sha256, cache, log) for p, c in people(folder).items()}
    tot = {p: {k: _sum(clip[k] for clip in r["clips"].values()) for k in CANDIDATES} for p, r in rows.items()}
    rules = lopo_rules(tot)
    result = {"model_threshold": classifier.threshold, "model_hysteresis": classifier.hysteresis,
              "fusion": classifier.fusion, "candidates": list(CANDIDATES), "chosen_on_all": chosen_on_all(tot),
              "ships": chosen_on_all(tot, CANDIDATES[2:]),
              "people": {}, "pooled": {}}
    for p, r in rows.items():
        result["people"][p] = {"profiles": r["profiles"], "refused": r["refused"], "rule": rules[p],
                               "clips": {c: {k: v.to_json() for k, v in d.items()} for c, d in r["clips"].items()},
                               "auc": roc_figures(np.concatenate(r["y"]), np.concatenate(r["s"]))["auc"],
                               "without": tot[p]["none"].to_json(), "with": tot[p][rules[p]].to_json(),
                               **{f"with_{k}": tot[p][k].to_json() for k in CANDIDATES[1:]}}
    result["pooled"] = {"without": _sum(t["none"] for t in tot.values()).to_json(),
                        "with": _sum(tot[p][rules[p]] for p in rows).to_json(),
                        **{f"with_{k}": _sum(t[k] for t in tot.values()).to_json() for k in CANDIDATES[1:]}}
    y = np.concatenate([np.concatenate(r["y"]) for r in rows.values()])
    raw = np.concatenate([np.concatenate(r["s"]) for r in rows.values()])
    # 'with': each frame's margin over its person's threshold under the LOPO-chosen candidate.
    margin = np.concatenate([np.concatenate(r["s"]) - r["thr"][rules[p]] for p, r in rows.items()])
    result["pooled"]["auc_without"] = roc_figures(y, raw)["auc"]
    result["pooled"]["auc_with"] = roc_figures(y, margin)["auc"]
    return result


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
    """The markdown table of README's calibration section."""
    def f(v, d=3):
        return "–" if v is None else f"{v:.{d}f}"

    def prf(d):
        return f"{f(d['precision'], 2)} / {f(d['recall'], 2)} / **{f(d['f1'])}**"

    def desc(r):
        pr = r["profiles"].get(r["rule"]) or next(iter(r["profiles"].values()), None)
        if r["refused"]:
            return "refused: " + r["refused"].split(";")[0]
        if r["rule"] == "none":
            return "none (no profile)"
        if r["rule"] == "pose":
            return f"pose only: yaw {pr['yaw_centre_deg']:+.1f}°, pitch {pr['pitch_centre_deg']:+.1f}°"
        return f"{pr['closed_threshold']:.3f}, {pr['hysteresis']:.3f} ({r['rule']})"

    lines = ["| person | LOPO choice: threshold, hysteresis (rule) | blinks | without: P / R / F1 | "
             "with profile: P / R / F1 | frame AUC |", "|---|---|---|---|---|---|"]
    for name, r in result["people"].items():
        n = r["without"]["tp"] + r["without"]["fn"]
        lines.append(f"| {name} | {desc(r)} | {n} | {prf(r['without'])} | {prf(r['with'])} | {f(r['auc'])} |")
    po = result["pooled"]
    n = po["without"]["tp"] + po["without"]["fn"]
    lines.append(f"| **all** | without: the model's {result['model_threshold']:.3f}, {result['model_hysteresis']:g} "
                 f"| {n} | {prf(po['without'])} | {prf(po['with'])} | {f(po['auc_without'])} (with: {f(po['auc_with'])}) |")
    for rule in result["candidates"][1:]:
        mark = " (chosen on all people)" if rule == result["chosen_on_all"] else ""
        lines.append(f"| all, every person on '{rule}'{mark} | | {n} | | {prf(po['with_' + rule])} | |")
    for cond, r in by_condition(result).items():
        n = r["without"]["tp"] + r["without"]["fn"]
        lines.append(f"| all, {cond} clips only | | {n} | {prf(r['without'])} | {prf(r['with'])} | |")
    return "\n".join(lines)
