"""`drowsy eval-video --scenarios [DIR]`: run the synthetic scenario suite through the real pipeline
and judge each scenario's events against scenario_suite.EXPECTATIONS.

Per scenario: each need (e.g. a closure alert within 3 s of the closure's start) met or not, and the
time from the scenario's trigger to the first event that meets it; any alert (or judged event)
that the scenario does not expect or allow is a false alarm and fails it. Over the suite: per need
(closure, distraction, head_drop, unresponsive) precision and recall counted by scenario.
`judge` works on any list of Events, so the matching is tested on hand-made lists; `run_suite`
returns every scenario's result for a test or a script. Every figure is on synthetic clips.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..errors import DrowsyError, UsageError
from .scenario_suite import EXPECTATIONS, NEEDS

EARLY_S = 0.5  # an expected alert this long before its trigger was raised by something else
SYNTHETIC_NOTE = "SYNTHETIC clips (real frames warped on a schedule, scenario_render.py), not real driving video"


@dataclass(frozen=True)
class NeedResult:
    label: str
    trigger_s: float
    within_s: float
    t: float | None  # the first event meeting the need, None when none came
    ok: bool

    @property
    def delay_s(self) -> float | None:
        return None if self.t is None else round(self.t - self.trigger_s, 3)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    expect: str
    needs: tuple[NeedResult, ...]
    unexpected: tuple[tuple[float, str], ...]  # (t, event name) false alarms
    names: tuple[tuple[float, str], ...]  # every event of the run, as (t, name)
    frames: int = 0
    face_frames: int = 0
    pose_read: tuple[float, float] | None = None  # landmarker's yaw, pitch at the commanded peak, less on-road

    @property
    def passed(self) -> bool:
        return all(n.ok for n in self.needs) and not self.unexpected

    def to_json(self) -> dict:
        return {"name": self.name, "synthetic": True, "expect": self.expect, "passed": self.passed,
                "needs": [{**asdict(n), "delay_s": n.delay_s} for n in self.needs],
                "unexpected": [list(u) for u in self.unexpected], "frames": self.frames,
                "face_frames": self.face_frames, "pose_read": self.pose_read,
                "events": [list(e) for e in self.names]}


def event_names(ev) -> list[str]:
    """An Event's names for matching: its kind, and "alert_on:<reason>" for an alert."""
    if ev.kind == "alert_on":
        return ["alert_on", f"alert_on:{ev.data.get('reason')}"]
    return [ev.kind]


def _judged(name: str) -> bool:
    return name.startswith("alert_on:") or any(name in n.kinds for n in NEEDS.values())


def judge(name: str, expect: str, trigger_s: float, events, frames: int = 0, face_frames: int = 0) -> ScenarioResult:
    """One scenario's events (drowsy Events, in any order) against its expectation."""
    exp = EXPECTATIONS[expect]
    named = sorted((round(float(e.t), 4), n) for e in events for n in event_names(e))
    needs = []
    for need in exp.needs:
        hits = [t for t, n in named if n in need.kinds and t >= trigger_s - EARLY_S]
        t = hits[0] if hits else None
        needs.append(NeedResult(need.label, trigger_s, need.within_s, t,
                                t is not None and t - trigger_s <= need.within_s))
    fine = {k for n in exp.needs for k in n.kinds} | set(exp.allowed)
    unexpected = tuple((t, n) for t, n in named if _judged(n) and (n not in fine or t < trigger_s - EARLY_S))
    return ScenarioResult(name, expect, tuple(needs), unexpected, tuple(named), frames, face_frames)


def precision_recall(results: list[ScenarioResult]) -> dict:
    """Per need label, counted by scenario: tp (expected, met in time), fn (expected, not met),
    fp (raised where not expected nor allowed); precision and recall (None with no case)."""
    out = {}
    for label, need in NEEDS.items():
        tp = fp = fn = 0
        for r in results:
            mine = [n for n in r.needs if n.label == label]
            if mine:
                tp += mine[0].ok
                fn += not mine[0].ok
            elif any(n in need.kinds and n not in EXPECTATIONS[r.expect].allowed for _, n in r.names):
                fp += 1
        out[label] = {"tp": tp, "fp": fp, "fn": fn, "precision": round(tp / (tp + fp), 4) if tp + fp else None,
                      "recall": round(tp / (tp + fn), 4) if tp + fn else None}
    return out


def run_clip_events(clip: Path, cfg, classifier) -> tuple[list, list]:
    """(every event, each frame's (yaw, pitch) read or None) of one clip through the real pipeline."""
    from ..runtime.capture import VideoSource
    from ..runtime.pipeline import Pipeline

    events, poses, t_last = [], [], 0.0
    pipeline = Pipeline.from_config(cfg, classifier=classifier)
    with pipeline, VideoSource(clip) as source, pipeline.run(source) as loop:
        for step in loop:
            events += step.events
            if step.result is not None:
                events += step.result.state.events
                face, t_last = step.result.face, step.result.frame.t
                poses.append(None if face is None else (face.yaw_deg, face.pitch_deg))
        events += pipeline.finish(t_last + 1.0 / (source.fps or 25.0))
    return events, poses


def pose_read(labels: list[dict], poses: list) -> tuple[float, float] | None:
    """Median (yaw, pitch) the landmarker read on the frames at the scenario's commanded peak pose,
    less the median on road: how much of a commanded turn reaches the runtime."""
    import numpy as np

    size = [abs(lab["yaw"]) + abs(lab["pitch"]) for lab in labels]
    peak = max(size, default=0.0)
    at = [p for p, s in zip(poses, size) if p is not None and peak > 0 and s == peak]
    rest = [p for p, lab in zip(poses, labels) if p is not None and lab["on_road"] and lab["slide"] == 0]
    if not at or not rest:
        return None
    return tuple(round(float(v), 1) for v in np.median(at, axis=0) - np.median(rest, axis=0))


def default_source() -> Path:
    from ..paths import shared_dir

    return shared_dir() / "videos" / "grid" / "brbk7n.mpg"


def run_suite(names: str | None = None, source=None, landmarker=None, folder=None, temporal=None,
              model=None, jitter: int = 8, log=None) -> list[ScenarioResult]:
    """Generate (or take from the cache) and run the scenarios named (comma-separated names of the
    suite, all when None, or a list of Scenarios); one result each. For tests:
    `all(r.passed for r in run_suite())` once the driver-state logic exists."""
    from ..paths import resolve_landmarker
    from ..runtime.classify import EyeClassifier
    from ..paths import default_eye_model
    from ..settings import ModelConfig, RunConfig, TemporalConfig
    from .scenario_render import ensure_suite
    from .scenario_suite import by_name

    try:
        scenarios = list(names) if isinstance(names, (list, tuple)) else by_name(names)
    except ValueError as e:
        raise UsageError(f"--only: {e}") from None
    lm = resolve_landmarker(landmarker)
    made = ensure_suite(scenarios, source or default_source(), lm, folder, log)
    classifier = EyeClassifier(model or default_eye_model(), device="cpu")
    cfg = RunConfig(model=ModelConfig(model=model, landmarker=str(lm), device="cpu", jitter=jitter),
                    temporal=temporal or TemporalConfig())
    out = []
    for sc, clip, meta in made:
        if log:
            log(f"  running {sc.name}")
        events, poses = run_clip_events(clip, cfg, classifier)
        labels = json.loads(Path(meta).read_text())["frames"]
        r = judge(sc.name, sc.expect, sc.trigger_s, events, len(poses), sum(p is not None for p in poses))
        out.append(replace(r, pose_read=pose_read(labels, poses)))
    return out


def _cell(r: ScenarioResult) -> tuple[str, str]:
    need = "; ".join(f"{n.label} <= {n.within_s:g} s" for n in r.needs) or "no alert"
    got = "; ".join(f"{n.label} {'-' if n.t is None else f'+{n.delay_s:.2f} s'}" for n in r.needs)
    if r.unexpected:
        got += ("; " if got else "") + "false: " + ", ".join(f"{n}@{t:.1f}" for t, n in r.unexpected[:3])
    return need, got or "none"


def format_results(results: list[ScenarioResult], pr: dict) -> str:
    lines = [SYNTHETIC_NOTE + ".", f"{'scenario':24s} {'yaw/pitch read':>14s}  {'expected (from trigger)':36s} "
             f"result  got"]
    for r in results:
        need, got = _cell(r)
        pose = "-" if r.pose_read is None else f"{r.pose_read[0]:+.0f}/{r.pose_read[1]:+.0f}"
        lines.append(f"{r.name:24s} {pose:>14s}  {need:36s} {'pass' if r.passed else 'FAIL'}    {got}")
    lines.append(f"passed {sum(r.passed for r in results)} of {len(results)} scenarios")
    lines.append(f"\n{'per need (by scenario)':24s} {'tp':>3s} {'fp':>3s} {'fn':>3s} {'precision':>9s} {'recall':>7s}")
    for label, f in pr.items():
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        lines.append(f"{label:24s} {f['tp']:3d} {f['fp']:3d} {f['fn']:3d} "
                     f"{fmt(f['precision']):>9s} {fmt(f['recall']):>7s}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """The --scenarios mode of eval-video."""
    from ..outputs import Output, check, write_text
    from ..settings_io import resolve_section
    from .scenario_suite import by_name

    source = Path(args.scenario_source) if args.scenario_source else default_source()
    if not source.is_file():
        raise DrowsyError(f"scenario source clip not found: {source} (pass --scenario-source CLIP)")
    folder = args.scenarios or None
    try:
        by_name(args.only)  # a wrong name: one line, before anything is made
    except ValueError as e:
        raise UsageError(f"--only: {e}") from None
    check([Output("--json", args.json), Output("--scenarios", folder, "folder")],
          {"--scenario-source": source, "--model": args.model}, make_parents=True)
    results = run_suite(args.only, source, args.landmarker, folder, resolve_section(args, "temporal"),
                        args.model, args.jitter, log=lambda m: print(m, file=sys.stderr, flush=True))
    pr = precision_recall(results)
    print(f"scenario source {source}\n" + format_results(results, pr))
    if args.json:
        doc = {"synthetic": True, "note": SYNTHETIC_NOTE, "source": str(source),
               "scenarios": [r.to_json() for r in results], "per_need": pr,
               "passed": sum(r.passed for r in results), "total": len(results)}
        write_text(args.json, json.dumps(doc, indent=1), "--json")
    return 0


def contact_sheet(shots: list[tuple[Path, float, str]], path: str | Path, width: int = 160) -> None:
    """A PNG of one frame per (clip, time, caption), side by side in rows of three (docs/scenarios.md)."""
    import cv2
    import numpy as np

    from ..outputs import replacing
    from ..runtime.capture import VideoSource

    tiles = []
    for clip, t, caption in shots:
        with VideoSource(clip) as src:
            img = next(f.image for f in src if f.t >= t - 1e-6)
        h = int(round(img.shape[0] * width / img.shape[1]))
        tile = cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, caption, (4, h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 3)
    sheet = np.vstack([np.hstack(tiles[k:k + 3]) for k in range(0, len(tiles), 3)])
    with replacing(path, "contact sheet", make_parents=True) as tmp:
        if not cv2.imwrite(str(tmp), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise DrowsyError(f"cannot write {path}")
