"""Render scenario clips from one real labelled clip: `<name>.avi` + `<name>.scenario.json`.

The source clip (a frontal, well-lit one: GRID, or a ZJU FNN clip) is decoded once and each of
its frames gets MediaPipe's 478 landmarks in 3D (the Tasks API in IMAGE mode, run here: the
runtime's Face keeps only 2D). Each synthetic frame is then: the source frame the schedule picks
(scenarios.frame_plan), the head turned (warp.turn_head), the irises shifted (warp.shift_iris),
the picture slid (warp.slide). Motion-JPEG at high quality: every frame decodes back as written,
one for one, so frame i of the clip is label i of the JSON (tests check it).

Generated clips are cached, keyed by the generator and suite versions, the source clip's bytes and
the scenario: the default folder is the user cache (drowsy.paths.cache_dir()/scenarios), never
the data folder. Everything about these clips is synthetic: the JSON says so, and so must every
table made from them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import DrowsyError
from .scenarios import FramePlan, Scenario, SourceClip, frame_plan, source_clip
from .warp import shift_iris, slide, turn_head

GENERATOR_VERSION = 2  # bump when rendering changes: cached clips are made again
LABEL_SUFFIX = ".scenario.json"
CLIP_SUFFIX = ".avi"
JPEG_QUALITY = 95
CODE = ("warp.py", "scenarios.py", "scenario_render.py")  # modules whose change makes clips again


@dataclass(frozen=True)
class Source:
    path: Path
    frames: list  # BGR uint8 images
    points: list  # (478, 3) float pixels per frame (z = MediaPipe z × width)
    fps: float
    clip: SourceClip
    sha256: str


def _landmarks3d(frames: list, landmarker: Path) -> list:
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from ..runtime.landmarks import silence_fd2

    options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_buffer=Path(landmarker).read_bytes()),
                                           running_mode=vision.RunningMode.IMAGE, num_faces=1)
    out = []
    with silence_fd2():
        task = vision.FaceLandmarker.create_from_options(options)
        try:
            for img in frames:
                h, w = img.shape[:2]
                rgb = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
                found = task.detect(rgb).face_landmarks
                out.append(np.array([(p.x * w, p.y * h, p.z * w) for p in found[0]]) if found else None)
        finally:
            task.close()
    have = [i for i, p in enumerate(out) if p is not None]
    if len(have) < 0.9 * len(out):
        raise DrowsyError(f"the landmarker finds a face in only {len(have)} of {len(out)} source frames: "
                          "take a frontal, well-lit clip")
    # A frame without a face borrows the nearest frame's mesh (a scenario needs one on every frame).
    return [p if p is not None else out[min(have, key=lambda j: abs(j - i))] for i, p in enumerate(out)]


def load_source(video: str | Path, landmarker: str | Path, labels: str | Path | None = None) -> Source:
    """Decode the clip, read its `<clip>.eyestate.csv` labels and find its landmarks in 3D."""
    from ..paths import sha256_of
    from ..runtime.capture import VideoSource
    from .clips import LABEL_SUFFIX as EYE_SUFFIX, read_labels

    video = Path(video)
    lab = Path(labels) if labels else video.with_name(video.name + EYE_SUFFIX)
    if not lab.is_file():
        raise DrowsyError(f"scenario source {video} has no frame labels {lab}")
    with VideoSource(video) as src:
        frames = [f.image for f in src]
        fps = src.fps or 25.0
    try:
        clip = source_clip(read_labels(lab, video.name))
    except ValueError as e:
        raise DrowsyError(f"scenario source {video}: {e}") from None
    points = _landmarks3d(frames, Path(landmarker))
    return Source(video, frames, points, fps, held_closure(clip, points), sha256_of(video))


# Upper and lower lid, inner and outer corner of each eye (MediaPipe face mesh).
LIDS = ((159, 145, 33, 133), (386, 374, 362, 263))


def lid_gap(pts: np.ndarray) -> float:
    """Mean over both eyes of the lids' distance, in eye widths."""
    return float(np.mean([np.hypot(*(pts[u, :2] - pts[lo, :2])) / max(np.hypot(*(pts[a, :2] - pts[b, :2])), 1e-6)
                          for u, lo, a, b in LIDS]))


def held_closure(clip: SourceClip, points: list) -> SourceClip:
    """The blink's closed frames narrowed to the most closed ones (lid gap within 0.02 eye widths of
    the least): a label's first and last "closed" frames are often half shut, and a closure held by
    playing them back and forth read half open every few frames (a flicker a held closure lacks)."""
    start, c0, c1, end = clip.blink
    gaps = [lid_gap(points[i]) for i in range(c0, c1 + 1)]
    k = int(np.argmin(gaps))
    lo = hi = k
    while lo > 0 and gaps[lo - 1] <= gaps[k] + 0.02:
        lo -= 1
    while hi < len(gaps) - 1 and gaps[hi + 1] <= gaps[k] + 0.02:
        hi += 1
    return replace(clip, blink=(start, c0 + lo, c0 + hi, end))


def render_frame(src: Source, plan: FramePlan) -> tuple[np.ndarray, bool]:
    """(the synthetic frame, whether at least half of the face box is still inside the picture)."""
    img, pts = turn_head(src.frames[plan.src], src.points[plan.src], plan.yaw, plan.pitch)
    img = shift_iris(img, pts, *plan.iris)
    h, w = img.shape[:2]
    step = {"down": (0, h), "up": (0, -h), "left": (-w, 0), "right": (w, 0)}[plan.slide_dir]
    x0, y0 = pts.min(axis=0) + np.multiply(step, min(plan.slide, 1.0))
    x1, y1 = pts.max(axis=0) + np.multiply(step, min(plan.slide, 1.0))
    inside = max(0.0, min(x1, w) - max(x0, 0)) * max(0.0, min(y1, h) - max(y0, 0))
    return slide(img, plan.slide, plan.slide_dir), bool(inside >= 0.5 * (x1 - x0) * (y1 - y0))


def frame_labels(plans: list[FramePlan], visible: list[bool]) -> list[dict]:
    return [{**asdict(p), "on_road": p.on_road and v, "visible": v} for p, v in zip(plans, visible)]


def cache_key(sc: Scenario, src: Source) -> str:
    from .scenario_suite import SUITE_VERSION

    # The generator's own code is part of the key too: a changed warp never leaves stale clips.
    code = hashlib.sha256(b"".join((Path(__file__).parent / f).read_bytes() for f in CODE)).hexdigest()
    doc = {"generator": GENERATOR_VERSION, "suite": SUITE_VERSION, "source": src.sha256, "fps": src.fps,
           "scenario": asdict(sc), "code": code}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def render(sc: Scenario, src: Source, fps: float | None = None) -> tuple[list[np.ndarray], list[dict]]:
    """Every frame of the scenario at `fps` (default: the source's rate), in memory, with its labels."""
    plans = frame_plan(sc, src.clip, fps or src.fps, src.fps)
    made = [render_frame(src, p) for p in plans]
    return [m[0] for m in made], frame_labels(plans, [m[1] for m in made])


def write_scenario(sc: Scenario, src: Source, folder: Path) -> tuple[Path, Path]:
    """Write `<name>.avi` and `<name>.scenario.json` in folder, unless the cached pair is current."""
    import cv2

    from ..outputs import replacing, write_text
    from .scenario_suite import EXPECTATIONS

    clip, meta = folder / f"{sc.name}{CLIP_SUFFIX}", folder / f"{sc.name}{LABEL_SUFFIX}"
    key = cache_key(sc, src)
    if clip.exists() or meta.exists():
        try:
            doc = json.loads(meta.read_text())
        except (OSError, ValueError):
            doc = None
        if not isinstance(doc, dict) or "generator" not in doc:  # never replace what a user put there
            raise DrowsyError(f"{clip} or {meta} exists and was not written by drowsy's scenario "
                              "generator; not replaced (give --scenarios another folder)")
        if doc.get("key") == key and clip.is_file():
            return clip, meta
    frames, labels = render(sc, src)
    h, w = frames[0].shape[:2]
    with replacing(clip, "scenario clip", make_parents=True) as tmp:
        out = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), src.fps, (w, h))
        if not out.isOpened():
            raise DrowsyError(f"cannot write a Motion-JPEG clip at {clip}")
        out.set(cv2.VIDEOWRITER_PROP_QUALITY, JPEG_QUALITY)
        for f in frames:
            out.write(f)
        out.release()
    doc = {"synthetic": True, "generator": GENERATOR_VERSION, "key": key, "clip": clip.name,
           "source": {"path": str(src.path), "sha256": src.sha256}, "fps": src.fps, "size": [w, h],
           "scenario": asdict(sc), "expect": asdict(EXPECTATIONS[sc.expect]), "frames": labels}
    write_text(meta, json.dumps(doc, indent=0), "scenario labels")
    return clip, meta


def default_folder(src_path: Path) -> Path:
    from ..paths import cache_dir

    return cache_dir() / "scenarios" / src_path.stem


def ensure_suite(scenarios: list[Scenario], source: str | Path, landmarker: str | Path,
                 folder: str | Path | None = None, log=None) -> list[tuple[Scenario, Path, Path]]:
    """(scenario, clip, labels) of each scenario, generated into `folder` (default: the user
    cache) where missing or made by another generator, suite or source."""
    src = load_source(source, landmarker)
    where = Path(folder) if folder else default_folder(src.path)
    out = []
    for sc in scenarios:
        if log:
            log(f"  scenario {sc.name}")
        out.append((sc, *write_scenario(sc, src, where)))
    return out
