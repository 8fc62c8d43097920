"""Eye crops cut by the runtime itself from labelled clips: the `video` training format.

Every decoded frame of every labelled clip (`<clip>.eyestate.csv` beside it, as in
../shared/videos) goes through the exact runtime stages: the MediaPipe Landmarker in VIDEO
mode (a fresh one per clip and condition, so tracking starts as it would) and crop_eyes with
the model's CropSpec and the runtime's jitters. So the crops are what `drowsy run` classifies,
including its landmark errors on small, dark or blurred eyes. Each clip is also run degraded
(drowsy.evaluation.degrade's conditions and a JPEG re-encode), frame by frame before the landmarker.

MediaPipe is slow on a 2-core machine, so each (clip, condition) result is cached as .npz
under the user cache, keyed by the video's bytes, the landmarker's bytes, the crop spec, the
jitter count and the condition: retraining never reruns it. Labels are read from the CSVs on
every load (cheap), so a label fix needs no re-extraction. numpy, cv2 and mediapipe only.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DrowsyError
from ..paths import sha256_of
from ..runtime.crop import CropSpec, crop_eyes, eye_aspect_ratio

CONDITIONS = ("clean", "dark", "lowres", "blurgray", "jpeg")
JPEG_QUALITY = 15  # a cheap IP camera's stream: blocky 8×8 artefacts over a 20-px eye
CACHE_VERSION = "v1"  # bump when extraction changes what it stores
LABEL_SUFFIX = ".eyestate.csv"
TAG_SUFFIX = ".tag.csv"


@dataclass(frozen=True)
class EyeLabels:
    """Per decoded frame and eye ([subject's right, left] = runtime order): 1 closed, 0 open,
    -1 no label (frame not annotated, eye not visible). `ambiguous` marks lids in transition
    (inside a labelled blink but not fully closed, or partial_ambiguous)."""

    closed: np.ndarray  # (N, 2) int8
    ambiguous: np.ndarray  # (N, 2) bool
    per_eye: bool  # True when the labels came per eye (ZJU tag.csv)


@dataclass(frozen=True)
class ClipCrops:
    """One runtime pass over a clip under one condition (arrays over decoded frames)."""

    frame: np.ndarray  # (N,) int decode index
    t: np.ndarray  # (N,) float seconds
    face: np.ndarray  # (N,) bool: the landmarker found a face
    crops: np.ndarray  # (N, 2, J+1, S, S) uint8, zeros where no face; eye 0 = subject's right
    blink: np.ndarray  # (N,) float: mean of MediaPipe's eyeBlinkLeft/Right (nan: no face)
    ear: np.ndarray  # (N,) float: mean eye aspect ratio (nan: no face)
    pitch: np.ndarray  # (N,) float degrees (nan: no face)
    centre: np.ndarray  # (N, 2, 2) float: each eye's crop centre in frame pixels (nan: no face)


def jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> np.ndarray:
    """The frame after a JPEG encode/decode round trip at `quality`."""
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DrowsyError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def apply_condition(frame, condition: str):
    """The Frame degraded by `condition` (drowsy.evaluation.degrade's, or jpeg)."""
    from dataclasses import replace

    from ..evaluation.degrade import degrade_frame

    if condition == "jpeg":
        return replace(frame, image=jpeg(frame.image))
    if condition not in CONDITIONS:
        raise DrowsyError(f"unknown condition {condition!r}: choose from {', '.join(CONDITIONS)}")
    return degrade_frame(frame, condition)


def _read_csv(path: Path) -> list[dict]:
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise DrowsyError(f"cannot read {path}: {e}") from None


def eye_labels(video: Path, n_frames: int) -> EyeLabels:
    """Labels of every decoded frame. With a ZJU `<clip>.tag.csv` they are per eye: its
    "imgleft" eye is on the left of the image, which is the subject's right eye, the runtime's
    eye 0 (crop.EYE_CORNERS). Otherwise `<clip>.eyestate.csv` labels both eyes alike."""
    closed = np.full((n_frames, 2), -1, dtype=np.int8)
    ambiguous = np.zeros((n_frames, 2), dtype=bool)
    tag = video.with_name(video.name + TAG_SUFFIX)
    try:
        if tag.is_file():
            for r in _read_csv(tag):
                i = int(r["frame"])  # the mp4 keeps the Indeo repeat frames: tag frame i = decode index i
                if not 0 <= i < n_frames:
                    continue
                in_blink = int(r["blink_id"]) != -1
                for eye, side in enumerate(("imgleft", "imgright")):
                    if r[f"{side}_eye_not_visible"].strip() == "1":
                        continue
                    shut = r[f"{side}_eye_closed"].strip() == "1"
                    closed[i, eye] = int(shut)
                    ambiguous[i, eye] = in_blink and not shut
            return EyeLabels(closed, ambiguous, per_eye=True)
        for r in _read_csv(video.with_name(video.name + LABEL_SUFFIX)):
            i = int(r["frame"])
            if 0 <= i < n_frames:
                closed[i] = int(r["closed"].strip() == "1")
                ambiguous[i] = r.get("partial_ambiguous", "0").strip() == "1"
    except (KeyError, ValueError, AttributeError) as e:
        raise DrowsyError(f"{video}: unreadable label CSV ({e})") from None
    return EyeLabels(closed, ambiguous, per_eye=False)


def clip_info(video: Path, root: Path) -> dict:
    """Person, source folder, glasses and view of a clip. The person is the `subject` column
    of a `clips.csv` beside the clip when there is one (ZJU), else the clip itself (each GRID
    clip is a different speaker)."""
    source = video.parent.name if video.parent != root else root.name
    info = {"source": source, "clip": video.name, "person": f"{source}:{video.stem}",
            "glasses": "unknown", "view": "frontal"}
    table = video.parent / "clips.csv"
    if table.is_file():
        for r in _read_csv(table):
            if r.get("clip") == video.name:
                info["person"] = f"{source}:{r.get('subject', video.stem)}"
                info["glasses"] = r.get("glasses") or "unknown"
                info["view"] = r.get("view") or "frontal"
    return info



def cache_key(video: Path, condition: str, landmarker: Path, spec: CropSpec, jitter: int) -> str:
    """Content key: the same bytes in, the same crops out (paths and dates do not matter)."""
    parts = [CACHE_VERSION, sha256_of(video), sha256_of(landmarker), spec.to_metadata(), str(jitter), condition]
    if condition == "jpeg":
        parts.append(str(JPEG_QUALITY))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def extract_clip(video: Path, condition: str, landmarker: Path, spec: CropSpec = CropSpec(),
                 jitter: int = 8) -> ClipCrops:
    """Run the runtime's landmark and crop stages over every decoded frame of `video`."""
    from ..runtime.capture import VideoSource
    from ..runtime.landmarks import Landmarker

    n_crops = jitter + 1
    rows = []
    with Landmarker(landmarker) as lm, VideoSource(video) as source:
        for frame in source:
            frame = apply_condition(frame, condition)
            face = lm(frame)
            if face is None:
                rows.append((frame.index, frame.t, None, np.nan, np.nan, np.nan, np.full((2, 2), np.nan)))
                continue
            eyes = crop_eyes(frame.image, face.landmarks, spec, jitter)
            b = face.blendshapes
            blink = (b["eyeBlinkLeft"] + b["eyeBlinkRight"]) / 2 if "eyeBlinkLeft" in b else np.nan
            rows.append((frame.index, frame.t, eyes.crops, blink, float(np.mean(eye_aspect_ratio(face.landmarks))),
                         face.pitch_deg, eyes.corners.mean(axis=1)))
    empty = np.zeros((2, n_crops, spec.size, spec.size), np.uint8)
    return ClipCrops(
        frame=np.array([r[0] for r in rows], dtype=int), t=np.array([r[1] for r in rows], dtype=float),
        face=np.array([r[2] is not None for r in rows], dtype=bool),
        crops=np.stack([empty if r[2] is None else r[2] for r in rows]) if rows else empty[None][:0],
        blink=np.array([r[3] for r in rows], dtype=float), ear=np.array([r[4] for r in rows], dtype=float),
        pitch=np.array([r[5] for r in rows], dtype=float),
        centre=np.array([r[6] for r in rows], dtype=float).reshape(-1, 2, 2))


def cached_clip(video: Path, condition: str, landmarker: Path, spec: CropSpec = CropSpec(), jitter: int = 8,
                cache: Path | None = None, log=None) -> ClipCrops:
    """extract_clip, from the cache when this exact input was extracted before."""
    from ..paths import cache_dir

    folder = Path(cache) if cache is not None else cache_dir() / "videocrops"
    path = folder / f"{video.stem}-{condition}-{cache_key(video, condition, landmarker, spec, jitter)}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                return ClipCrops(**{k: z[k] for k in ClipCrops.__dataclass_fields__})
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is rebuilt
    if log is not None:
        log(f"extracting {video.name} ({condition})")
    out = extract_clip(video, condition, landmarker, spec, jitter)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **{k: getattr(out, k) for k in ClipCrops.__dataclass_fields__})
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache only costs time
    return out


def describe_conditions() -> dict:
    """Each condition's description, for the checkpoint's data notes."""
    from ..evaluation.degrade import DESCRIPTIONS

    return {**DESCRIPTIONS, "jpeg": f"JPEG re-encode at quality {JPEG_QUALITY}"}
