"""Does a calibrated on-road zone (issue 19) call a driver looking at the road off the road?

For each ZJU person: calibrate on the frontal no-glasses clip (FNN) as `drowsy calibrate --video` does
(the shipped rule), then run their other clips (FTN, FBN glasses; UNN looking up) through the run's
pipeline and frame loop once and replay the driver monitor (pipeline.judge) without and with the
profile. Prints, per clip: alerts of any kind, off-road frames and the longest off-road stretch.

    python scripts/zone_eval.py [--dir ../shared/videos/zju] [--cache DIR|none] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from drowsy.errors import DrowsyError
from drowsy.evaluation.calibration import CALIBRATE_ON, TEST_ON, calibrate_clip, one_pass, people
from drowsy.evaluation.eval_video import cache_folder
from drowsy.paths import default_eye_model, resolve_landmarker, sha256_of, shared_dir
from drowsy.runtime import profile as prof
from drowsy.runtime.calibrate import FUSION_RULE
from drowsy.runtime.classify import EyeClassifier
from drowsy.runtime.pipeline import judge, monitor_for
from drowsy.runtime.zone import on_road_zone
from drowsy.settings import TemporalConfig


def replay(rows: list, end_t: float, temporal, classifier) -> dict:
    """Alerts, off-road frames and the longest off-road stretch (s) of one pass under `temporal`."""
    monitor, alerts, off, longest, since = monitor_for(temporal, classifier), [], 0, 0.0, None
    for t, _, face, crops, scores, *_ in rows:
        d = judge(monitor, t, face, crops, scores)
        alerts += [e.data.get("reason") for e in d.events if e.kind == "alert_on"]
        is_off = d.attention is not None and d.attention.on_road is False
        off += is_off
        since = (since if since is not None else t) if is_off else None
        longest = max(longest, 0.0 if since is None else t - since)
    alerts += [e.data.get("reason") for e in monitor.finish(end_t) if e.kind == "alert_on"]
    return {"alerts": alerts, "off_frames": off, "frames": len(rows), "longest_off_s": round(longest, 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=shared_dir() / "videos" / "zju", help="labelled clips")
    p.add_argument("--landmarker", default=None, help="face landmarker .task file")
    p.add_argument("--jitter", type=int, default=8)
    p.add_argument("--cache", metavar="DIR", help="landmarker passes, shared with drowsy eval-video")
    p.add_argument("--json", type=Path, help="write every figure as JSON")
    args = p.parse_args()
    shipped = f"{prof.THRESHOLD_RULE}/{prof.HYSTERESIS_RULE}/{FUSION_RULE}"
    try:
        model, cache = default_eye_model(), cache_folder(args.cache)
        classifier, landmarker = EyeClassifier(model, threads=1), resolve_landmarker(args.landmarker)
        out = {}
        for person, clips in people(args.dir).items():
            profiles, refused = calibrate_clip(clips[CALIBRATE_ON], classifier, landmarker, args.jitter,
                                               sha256_of(model), cache)
            if shipped not in profiles:
                out[person] = {"refused": refused[shipped]}
                continue
            pr = profiles[shipped]
            with_p = prof.apply(TemporalConfig(), pr)
            pose_only = replace(with_p, yaw_spread_deg=None, pitch_spread_deg=None, iris_side_spread=None)
            out[person] = {"spread": vars(pr.spread), "zone": vars(on_road_zone(with_p)), "clips": {}}
            for cond in (c for c in TEST_ON if c in clips):
                rows, end_t, _ = one_pass(clips[cond], classifier, landmarker, args.jitter, cache)
                out[person]["clips"][cond] = {name: replay(rows, end_t, t, classifier) for name, t in
                                              (("none", TemporalConfig()), ("pose", pose_only), ("zone", with_p))}
            print(person, json.dumps(out[person]), file=sys.stderr, flush=True)
    except DrowsyError as e:
        print(f"zone_eval: error: {e}", file=sys.stderr)
        return 1
    print("| person | spread yaw / pitch / iris | zone yaw / pitch down / iris | clip | alerts none / pose / zone "
          "| off-road frames none / pose / zone (of) | longest off-road s, zone |")
    print("|---|---|---|---|---|---|---|")
    for person, r in out.items():
        if "refused" in r:
            print(f"| {person} | refused: {r['refused']} | | | | | |")
            continue
        s, z = r["spread"], r["zone"]
        for cond, c in r["clips"].items():
            print(f"| {person} | {s['yaw_deg']:.1f}° / {s['pitch_deg']:.1f}° / {s['iris_side']:.3f} | "
                  f"{z['yaw_deg']:.1f}° / {z['pitch_down_deg']:.1f}° / {z['iris_side']:.3f} | {cond} | "
                  + " / ".join(str(len(c[k]["alerts"])) for k in ("none", "pose", "zone")) + " | "
                  + " / ".join(str(c[k]["off_frames"]) for k in ("none", "pose", "zone"))
                  + f" ({c['zone']['frames']}) | {c['zone']['longest_off_s']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
