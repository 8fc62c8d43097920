"""`drowsy calibrate`: measure one driver's eyes and rest pose, write a profile for `drowsy run --profile`.

Live (--camera, --url) it guides the driver on the window and in the terminal: eyes on the road
for OPEN_S seconds, eyes closed for CLOSED_S (until a beep), then a few blinks. From a video it
uses what the clip holds: the open eyes and any blinks found in it.

Which frames are open or closed comes from the landmarks, not from the eye model
(calibrate_geometry.py: the eye aspect ratio and eyeBlink against the driver's own plateau, and
the blink structure of the signal), so a driver the model misreads is still measured. Live, the
'close your eyes' phase (after SETTLE_S of reaction time) is taken as closed, and checked against
the lids. The model's scores on those frames then place the threshold (profile.derive); a fusion
rule (calibrate_geometry.FUSION_RULES) decides whether the driver's lid geometry joins the fused
score first; the spread of head pose and iris on the open frames sets the run's on-road zone
(zone.py). Nothing is written unless the data suffice: a face, and MIN_OPEN_S of open eyes
facing the camera; live, also MIN_CLOSED_S of closed eyes.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import calibrate_geometry as geo
from . import profile as prof
from . import zone
from .calibrate_collect import PROG, Samples
from .fusion import with_geometry
from ..errors import DrowsyError, UsageError
from ..settings import DEVICES, default_of

SETTLE_S = 0.8
MIN_OPEN_S, MIN_OPEN_FRAMES, MIN_CLOSED_S = 2.0, 15, 1.0
# What drowsy calibrate ships: a rule that can weigh the lids in. "cnn" (never) is evaluated for
# comparison only: it cannot calibrate a driver whose open eyes the model reads as closed.
FUSION_RULE = "ear-needed"

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Live: follow the prompts (about 26 s). A video: its open eyes and any blinks are used. "
                "Writes nothing unless the data suffice; an existing file is replaced only with --force.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=int, metavar="N", help="camera index")
    src.add_argument("--video", metavar="PATH", help="a video of the driver")
    src.add_argument("--url", metavar="URL", help="a stream, e.g. rtsp://...")
    p.add_argument("--out", required=True, metavar="FILE.toml", help="the profile to write")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (never an input)")
    p.add_argument("--name", help="the driver's name in the profile (default: the file's name)")
    p.add_argument("--model", metavar="PATH", help="eye model .onnx (default: the bundled one)")
    p.add_argument("--landmarker", metavar="PATH", help="face landmarker .task file")
    p.add_argument("--device", default="auto", choices=DEVICES, help="where the eye model runs (auto)")
    p.add_argument("--jitter", type=int, default=8, metavar="J", help="jittered crops per eye (8)")
    p.add_argument("--headless", action="store_true", help="live: prompts in the terminal only, no window")


def durations(t: np.ndarray, max_gap_s: float = default_of("max_gap_s")) -> np.ndarray:
    """The seconds each frame stands for (as the temporal stage counts them)."""
    if len(t) < 2:
        return np.full(len(t), 0.0)
    d = np.minimum(np.diff(t), max_gap_s)
    return np.r_[d, np.median(d)]


def _q(x: np.ndarray, q: float) -> float:
    return round(float(np.quantile(x, q)), 4)


def _stats(smp: Samples, open_m: np.ndarray, closed_m: np.ndarray) -> dict:
    """What [measured] records: counts, seconds, per-eye and fused quantiles, pose spreads."""
    dt = durations(smp.t)
    m = {"frames": int(len(smp.t)), "face_frames": int(smp.face.sum()),
         "seconds": round(float(smp.t[-1] - smp.t[0]) if len(smp.t) else 0.0, 3),
         "open_frames": int(open_m.sum()), "open_s": round(float(dt[open_m].sum()), 3),
         "closed_frames": int(closed_m.sum()), "closed_s": round(float(dt[closed_m].sum()), 3)}
    for name, x in (("fused", smp.fused), ("right_eye", smp.p[:, 0]), ("left_eye", smp.p[:, 1])):
        if open_m.any():
            m[f"{name}_open_median"], m[f"{name}_open_q99"] = _q(x[open_m], 0.5), _q(x[open_m], prof.OPEN_Q)
        if closed_m.any():
            m[f"{name}_closed_median"], m[f"{name}_closed_min"] = _q(x[closed_m], 0.5), _q(x[closed_m], 0.0)
    for name, x in (("yaw", smp.yaw), ("pitch", smp.pitch)):
        if open_m.any():
            v = x[open_m]
            m[f"{name}_spread_deg"] = round(float(1.4826 * np.median(np.abs(v - np.median(v)))), 3)
    return m


def masks(smp: Samples, live: bool) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """(open, closed, closures, lid cue) from the landmarks (calibrate_geometry); live, the open
    frames are those of the 'look at the road' phase and the closed ones those of 'close your eyes'."""
    ok = np.isfinite(smp.fused) & np.isfinite(smp.ear)  # a face the gate lets through, with landmarks
    ref = ok & (smp.phase == "open") if live else ok
    z = np.where(ok, geo.cue(smp.ear, smp.blink, ref), np.nan)
    open_m, closed_m, n = geo.find_closures(smp.t, z)
    if not live:
        return open_m, closed_m, n, z
    in_closed = smp.phase == "closed"
    t_close = smp.t[in_closed][0] if in_closed.any() else np.inf
    closed_live = ok & in_closed & (smp.t >= t_close + SETTLE_S)
    blink_m = smp.phase == "blink"
    _, _, blinks = geo.find_closures(smp.t[blink_m], z[blink_m])
    return open_m & (smp.phase == "open"), closed_live, int(closed_live.any()) + blinks, z


def _refuse_without_data(st: dict) -> None:
    """One line saying which: no face at all, or too few usable frames (and why they were not)."""
    if st["face_frames"] == 0:
        raise DrowsyError(f"no face: none of the {st['frames']} frames showed a face; point the camera at the driver")
    if st["open_frames"] < MIN_OPEN_FRAMES or st["open_s"] < MIN_OPEN_S:
        raise DrowsyError(f"too few frames: {st['open_s']:.2f} s ({st['open_frames']} frames) of open eyes "
                          f"facing the camera, need {MIN_OPEN_S:g} s; {st['frames'] - st['face_frames']} of "
                          f"{st['frames']} frames had no face")


def measure(smp: Samples, live: bool, model_threshold: float, hysteresis: float, name: str,
            sha256: str, source: str, rule: str = prof.HYSTERESIS_RULE,
            threshold_rule: str = prof.THRESHOLD_RULE, fusion_rule: str = FUSION_RULE) -> prof.Profile:
    """The profile of one calibration, or DrowsyError saying what data were missing."""
    open_m, closed_m, closures, z = masks(smp, live)
    st = _stats(smp, open_m, closed_m)
    _refuse_without_data(st)
    cnn_open_q = float(np.quantile(smp.fused[open_m], prof.OPEN_Q))
    w = geo.fusion_weight(fusion_rule, cnn_open_q, model_threshold, prof.MARGIN)
    geometry = geo.geometry(smp.ear, open_m, closed_m, w)
    score = with_geometry(smp.fused, geometry.closedness(smp.ear), w)  # the score a run will judge
    open_q = float(np.quantile(score[open_m], prof.OPEN_Q))
    closed_med = float(np.median(score[closed_m])) if closed_m.any() else None
    if live:
        if st["closed_s"] < MIN_CLOSED_S:
            raise DrowsyError(f"too few frames: {st['closed_s']:.1f} s of closed eyes with a face in view "
                              f"during 'close your eyes', need {MIN_CLOSED_S:g} s")
        if float(np.median(z[closed_m])) < 1.0:  # the lids, not the model: it may misread this face
            raise DrowsyError("the eyes did not look closed during 'close your eyes' (the lids stayed near "
                              "their open level): calibrate again")
    thr, hyst, note = prof.derive(open_q, closed_med, closures, model_threshold, hysteresis, rule, threshold_rule)
    if w:
        why = (f"the eye model reads these open eyes high (99th percentile {cnn_open_q:.3f})"
               if cnn_open_q + prof.MARGIN >= model_threshold else f"fusion rule {fusion_rule}")
        note = f"{why}: lid geometry weighted {w:g} in the score; " + note
    st.update(ear_open_median=geometry.ear_open, ear_closed_median=geometry.ear_closed,
              cnn_open_q99=round(cnn_open_q, 4), fusion_rule=fusion_rule)
    yaw_c, pitch_c = (round(float(np.median(x[open_m])), 3) for x in (smp.yaw, smp.pitch))
    for key, v in (("yaw_centre_deg", yaw_c), ("pitch_centre_deg", pitch_c)):
        if abs(v) > prof.MAX_CENTRE_DEG[key]:
            raise DrowsyError(f"the head rests {v:+.0f}° {key.split('_')[0]} from facing the camera "
                              f"(at most ±{prof.MAX_CENTRE_DEG[key]:g}°): point the camera at the driver's face")
    return prof.Profile(name=name, closed_threshold=thr, hysteresis=hyst, yaw_centre_deg=yaw_c,
                        pitch_centre_deg=pitch_c, model_sha256=sha256,
                        basis="open_and_closed" if closed_med is not None else "open_only", note=note,
                        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        measured={"source": source, "closures": closures, **st},
                        model_threshold=round(model_threshold, 6), geometry=geometry, spread=spread(smp, open_m))


def spread(smp: Samples, open_m: np.ndarray) -> zone.Spread:
    """How far head and iris wander on the open-eye frames (looking at the road): the run's zone."""
    iris = smp.iris_x if smp.iris_x is not None else np.full(len(smp.t), np.nan)
    return zone.measure(smp.yaw[open_m], smp.pitch[open_m], iris[open_m])


def check_out(out: str, inputs, force: bool) -> Path:
    """The profile path, checked before anything is opened: never an input, never a silent overwrite."""
    p = Path(out)
    if not out.strip():
        raise UsageError("--out must not be empty")
    for i in inputs:
        if i is not None and Path(i).exists() and p.exists() and p.resolve() == Path(i).resolve():
            raise DrowsyError(f"--out {p} is an input of this calibration; choose another file")
    from ..outputs import Output, check

    # A folder, a missing folder, a hard link to an input, a device or FIFO (never replaced), read-only.
    check([Output("--out", p)], {str(i): i for i in inputs if i is not None})
    if p.exists() and not force:
        raise DrowsyError(f"{p} exists; pass --force to replace it")
    return p


def main(args: argparse.Namespace) -> int:
    from ..paths import default_eye_model, resolve_landmarker, sha256_of
    from ..secrets import mask
    from ..settings import MAX_JITTER, SourceConfig
    from .calibrate_collect import calibration_pipeline, collect
    from .classify import EyeClassifier
    from .sources import open_source

    if not 0 <= args.jitter <= MAX_JITTER:
        raise UsageError(f"--jitter must be between 0 and {MAX_JITTER}, got {args.jitter}")
    if args.camera is not None and args.camera < 0:
        raise UsageError(f"--camera must be >= 0, got {args.camera}")
    model = Path(args.model) if args.model else default_eye_model()
    out = check_out(args.out, (args.video, model, args.landmarker), args.force)
    classifier = EyeClassifier(model, device=args.device, threads=1)
    landmarker = resolve_landmarker(args.landmarker)
    live = args.video is None
    source_cfg = SourceConfig(camera=args.camera or 0, video=args.video, url=args.url)
    label = (f"video {Path(args.video).name}" if args.video else
             f"stream {mask(args.url)}" if args.url else f"camera {args.camera}")
    with calibration_pipeline(classifier, landmarker, args.jitter) as pipeline, open_source(source_cfg) as source:
        smp = collect(source, pipeline, live=live, headless=args.headless)
    p = measure(smp, live, classifier.threshold, classifier.hysteresis, args.name or out.stem,
                sha256_of(model), label)
    prof.write(p, out)
    print(f"{PROG}: wrote {out}: {p.describe()}; {p.note}", file=sys.stderr)
    return 0
