"""Does a driver profile help on people the model never saw? (issue 16; scripts/calibration_eval.py)

For each person in a ZJU-style folder (clips `<person>_<COND>.mp4`, labels beside them): calibrate
on the frontal no-glasses clip (FNN) exactly as `drowsy calibrate --video` does (its collect, through
Pipeline.run), then run the person's other clips (FTN, FBN: glasses; UNN: looking up) once through
the run's pipeline and frame loop, and replay its gate + temporal stage (pipeline.judge, with the
monitor a run builds: pipeline.monitor_for) without and with each candidate profile. The
landmarker passes are eval-video's ("clean", native rate; recorded once, replayed after).

Candidates (CANDIDATES, in tie order): "none" (no profile: the model's threshold and hysteresis
from its metadata, pose centre 0), "pose" (the profile's rest pose only), and the profile rules
"<threshold rule>/<hysteresis rule>/<fusion rule>" of profile.derive and
calibrate_geometry.FUSION_RULES (issue 21: open and closed frames always found from the
landmarks; "cnn" scores with the eye model alone, "ear-needed" blends in the driver's lid
geometry when the model reads their open eyes high, "ear" always). The selection rule, fixed
before any held-out figure was looked at: each person gets the candidate with the best pooled
blink F1 over the OTHER people's test clips (leave-one-person-out; a tie goes to the earlier
candidate, so "no change" wins ties). `drowsy calibrate` must write some profile rule that can
calibrate a driver the model misreads: it ships the profile rule with a fusion other than "cnn"
(SHIPPABLE) the same criterion picks on all people (`ships`; profile.py's and calibrate.py's defaults).

Blinks: evaluation/blinks.py's matcher, as `drowsy eval-video` counts them. Frame AUC: labelled,
non-ambiguous frames with a face, by the fused score (with a profile's lid geometry when its
fusion weighs it in), beside the two baselines from the same landmarks (minus the eye aspect
ratio; the eyeBlink blendshapes); pooled, 'with' ranks each frame by its margin over that
person's threshold. Open frames read closed: labelled open frames whose score reaches the
threshold in use, without and with the profile (what a narrow-eyed driver suffers).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DrowsyError
from ..runtime.calibrate_geometry import FUSION_RULES, lids
from .blinks import BlinkCount
from .clips import Labels, blink_frames, read_labels
from .calibration_auc import auc, person_frames, pooled_auc
from .summary import count

PROFILE_RULES = tuple(f"{t}/{h}/{f}" for f in FUSION_RULES for t in ("capped", "midpoint") for h in ("fixed", "half"))
CANDIDATES = ("none", "pose", *PROFILE_RULES)
SHIPPABLE = tuple(c for c in PROFILE_RULES if not c.endswith("/cnn"))
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
                   cache: Path | None = None) -> tuple[dict, dict]:
    """The profiles `drowsy calibrate --video` would write for this clip, one per profile rule,
    and {rule: the one line it refuses with} for the rules that refuse."""
    from ..runtime.calibrate import measure
    from ..runtime.calibrate_collect import calibration_pipeline, collect
    from ..runtime.capture import VideoSource

    stage, save = _landmarks(video, landmarker, cache)
    with calibration_pipeline(classifier, stage, jitter) as pipeline, VideoSource(video) as source:
        smp = collect(source, pipeline, live=False)
    save()
    profiles, refused = {}, {}
    for c in PROFILE_RULES:
        t, h, f = c.split("/")
        try:
            profiles[c] = measure(smp, False, classifier.threshold, classifier.hysteresis, video.stem, sha256,
                                  f"video {video.name}", rule=h, threshold_rule=t, fusion_rule=f)
        except DrowsyError as e:
            refused[c] = str(e)
    return profiles, refused


def one_pass(video: Path, classifier, landmarker: Path, jitter: int, cache: Path | None = None
             ) -> tuple[list, float, tuple]:
    """(t, index, face, crops, scores, mean EAR, mean eyeBlink) of every frame of the run's pipeline
    and frame loop over a clip, the end-of-input time, and the pass's own blinks (frame ranges)."""
    from ..runtime.capture import VideoSource
    from ..runtime.pipeline import Pipeline
    from ..settings import ModelConfig, RunConfig

    stage, save = _landmarks(video, landmarker, cache)
    pipeline = Pipeline.from_config(RunConfig(model=ModelConfig(jitter=jitter)), classifier=classifier,
                                    landmarker=stage)
    rows, events = [], []
    with pipeline, VideoSource(video) as source, pipeline.run(source) as loop:
        for r in (step.result for step in loop if step.result is not None):
            rows.append((r.frame.t, r.frame.index, r.face, r.crops, r.scores, *lids(r.face)))
            events += r.state.events
        step_s = 1.0 / (source.fps or 25.0)
        if not rows:
            raise DrowsyError(f"{video}: no frame decoded")
        end_t = rows[-1][0] + step_s  # as eval-video: a closure open at the end covers the last frame
        events += pipeline.finish(end_t)
    save()
    t, frames = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    return rows, end_t, blink_frames(events, t, frames)


def rescored(rows: list, geometry) -> list:
    """The pass's rows with the scores a run with this profile geometry computes (classify.py:
    the geometry's closedness of the frame's EAR and its weight); unchanged without one."""
    from dataclasses import replace

    if geometry is None or not geometry.weight:
        return rows
    return [(*r[:4], None if r[4] is None else replace(r[4], geometry=float(geometry.closedness(r[5])),
                                                         geometry_weight=geometry.weight), *r[5:]) for r in rows]


def replay(rows: list, end_t: float, temporal, classifier) -> tuple[tuple[int, int], ...]:
    """The run's gate + temporal stage under other settings over one pass: blink frame ranges."""
    from ..runtime.pipeline import judge, monitor_for

    monitor, events = monitor_for(temporal, classifier), []
    for t, _, face, crops, scores, *_ in rows:
        events += judge(monitor, t, face, crops, scores).events
    events += monitor.finish(end_t)
    return blink_frames(events, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))


def _scores(rows: list, labels: Labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(closed label, fused score, [-EAR, eyeBlink]) of the clip's labelled, non-ambiguous frames
    with a face."""
    closed_of = dict(zip(labels.frame.tolist(), labels.closed.tolist()))
    amb = set(labels.frame[labels.ambiguous].tolist())
    keep = [r for r in rows if r[1] in closed_of and r[1] not in amb and r[4] is not None]
    return (np.array([closed_of[r[1]] for r in keep], bool), np.array([r[4].fused for r in keep], float),
            np.array([(-r[5], r[6]) for r in keep], float).reshape(-1, 2))


def settings_of(profiles: dict) -> dict:
    """{candidate: TemporalConfig} (a refused calibration: every candidate runs without a profile)."""
    from dataclasses import replace

    from ..runtime import profile as prof
    from ..settings import TemporalConfig

    base = TemporalConfig()
    out = {"none": base}
    any_p = next(iter(profiles.values()), None)  # the rest pose is the same under every rule
    out["pose"] = base if any_p is None else replace(base, yaw_centre_deg=any_p.yaw_centre_deg,
                                                     pitch_centre_deg=any_p.pitch_centre_deg)
    for c in PROFILE_RULES:
        out[c] = prof.apply(base, profiles[c]) if c in profiles else base
    return out


def person(clips: dict, classifier, landmarker: Path, jitter: int, sha256: str, cache: Path | None = None,
           log=print) -> dict:
    """One person: profiles from the FNN clip; per test clip, blink counts under each candidate,
    and per candidate the frames' scores (labels, scores, threshold in use) for AUC and open frames."""
    from ..runtime import profile as prof

    profiles, refused = calibrate_clip(clips[CALIBRATE_ON], classifier, landmarker, jitter, sha256, cache)
    settings = settings_of(profiles)
    out = {"profiles": {r: {k: getattr(p, k) for k in prof.APPLY_KEYS} | {"basis": p.basis, "note": p.note,
                                                                          "geometry_weight": p.geometry.weight,
                                                                          "cnn_open_q99": p.measured["cnn_open_q99"]}
                        for r, p in profiles.items()}, "refused": refused, "clips": {}, "y": {}, "s": {}, "base": {},
           "thr": {k: (t.closed_threshold if t.closed_threshold is not None else classifier.threshold)
                   for k, t in settings.items()}}
    for cond in (c for c in TEST_ON if c in clips):
        log(f"  {clips[cond].name}")
        labels = read_labels(clips[cond].with_name(clips[cond].name + ".eyestate.csv"), clips[cond].name)
        rows, end_t, run_blinks = one_pass(clips[cond], classifier, landmarker, jitter, cache)
        found, out["s"][cond] = {}, {}
        for k, t in settings.items():
            geo = profiles[k].geometry if k in profiles else None
            r = rescored(rows, geo)
            found[k] = replay(r, end_t, t, classifier)
            out["y"][cond], out["s"][cond][k], out["base"][cond] = _scores(r, labels)
        if found["none"] != run_blinks:  # the replay must be the run itself
            raise DrowsyError(f"{clips[cond].name}: the replayed temporal stage differs from the run's")
        out["clips"][cond] = {k: count(d, labels) for k, d in found.items()}
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
             log=print, unseen: tuple[str, ...] = ()) -> dict:
    """Per person and pooled: blink P/R/F1 without a profile, with each candidate, and with the
    candidate chosen leave-one-person-out; frame AUC against EAR and eyeBlink; open frames read
    closed. `unseen`: the people the eye model never saw (marked in the result)."""
    rows = {p: person(c, classifier, landmarker, jitter, sha256, cache, log) for p, c in people(folder).items()}
    tot = {p: {k: _sum(clip[k] for clip in r["clips"].values()) for k in CANDIDATES} for p, r in rows.items()}
    rules = lopo_rules(tot)
    result = {"model_threshold": classifier.threshold, "model_hysteresis": classifier.hysteresis,
              "fusion": classifier.fusion, "candidates": list(CANDIDATES), "chosen_on_all": chosen_on_all(tot),
              "ships": chosen_on_all(tot, SHIPPABLE), "people": {}, "pooled": {}}
    for p, r in rows.items():
        y, s0, base = person_frames(r, TEST_ON)
        s1 = person_frames(r, TEST_ON, rules[p])[1]
        open_y = ~y
        result["people"][p] = {
            "profiles": r["profiles"], "refused": r["refused"], "rule": rules[p], "unseen": p in unseen,
            "clips": {c: {k: v.to_json() for k, v in d.items()} for c, d in r["clips"].items()},
            "auc": auc(y, s0), "auc_with": auc(y, s1), "auc_ear": auc(y, base[:, 0]),
            "auc_eyeblink": auc(y, base[:, 1]),
            "open_frames": int(open_y.sum()),
            "open_read_closed": int(np.sum(open_y & (s0 >= r["thr"]["none"]))),
            "open_read_closed_with": int(np.sum(open_y & (s1 >= r["thr"][rules[p]]))),
            "open_p95": float(np.quantile(s0[open_y], 0.95)) if open_y.any() else None,
            "without": tot[p]["none"].to_json(), "with": tot[p][rules[p]].to_json(),
            **{f"with_{k}": tot[p][k].to_json() for k in CANDIDATES[1:]}}
    result["pooled"] = {"without": _sum(t["none"] for t in tot.values()).to_json(),
                        "with": _sum(tot[p][rules[p]] for p in rows).to_json(),
                        **{f"with_{k}": _sum(t[k] for t in tot.values()).to_json() for k in CANDIDATES[1:]}}
    result["pooled"].update(pooled_auc(rows, rules, TEST_ON, "", PROFILE_RULES))
    result["pooled"].update(pooled_auc(rows, rules, ("FTN", "FBN"), "glasses_", PROFILE_RULES))
    result["pooled"]["unseen"] = {"people": [p for p in rows if p in unseen],
                                  "without": _sum(tot[p]["none"] for p in rows if p in unseen).to_json(),
                                  "with": _sum(tot[p][rules[p]] for p in rows if p in unseen).to_json()}
    return result
