"""Eye-state data sets: CEW, MRL, open/closed folders (plain or numbered) and labelled clips → EyeData.

Every loader returns the same thing: uint8 (N, S, S) grayscale crops, labels (1 = closed),
the group each crop belongs to (the unit a split must keep together), and per-crop
conditions (MRL glasses, lighting, sensor...). Crops are brought to S × S the way the model
is judged: CEW patches as they are (they are 24 × 24 already), everything else resized
whole with INTER_AREA. Loading 62k MRL files takes a while, so the array is cached as .npz
keyed by the file listing. Only numpy and cv2 here: `drowsy eval` on an ONNX model needs no torch.
Labelled clips (the `video` format) are cut by the runtime itself: drowsy.training.videodata.
Splits live in drowsy/training/splits.py.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from ..errors import DrowsyError
from ..settings import CROP_SIZE
from .eyedata import EyeData, spaced

FORMATS = ("cew", "mrl", "folders", "numbered", "video")
NUMBERED_BLOCK = 20  # numbered layout: files n // 20 form one split unit (consecutive = often one face)
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}
CEW_DIRS = {"closedLeftEyes": 1, "closedRightEyes": 1, "openLeftEyes": 0, "openRightEyes": 0}
# sSSSS_IIIII_G_GL_E_R_L_SS.png: subject, image id, gender, glasses, eye state (0 closed,
# 1 open), reflections, lighting, sensor.
MRL_NAME = re.compile(r"^(s\d{4})_(\d+)_([01])_([01])_([01])_([012])_([01])_(\d{2})$")
MRL_CONDITIONS = {"gender": 2, "glasses": 3, "reflections": 5, "lighting": 6, "sensor": 7}
CONDITION_NAMES = {
    "glasses": {"0": "no glasses", "1": "glasses"},
    "lighting": {"0": "bad light", "1": "good light"},
    "sensor": {"01": "RealSense", "02": "IDS", "03": "Aptina"},
    "reflections": {"0": "none", "1": "small", "2": "big"},
    "gender": {"0": "man", "1": "woman"},
}


def _numbered(root: Path) -> bool:
    """open/ and closed/ holding only files named by a number (`_12.png`, `12.png`)."""
    files = [p for sub in ("open", "closed") for p in _images_in(root / sub)]
    return bool(files) and all(re.fullmatch(r"_?\d+", p.stem) for p in files)


def detect_format(root: Path) -> str:
    """cew, mrl, numbered, folders or video, from the folder names; DrowsyError when none fits."""
    if not root.is_dir():
        raise DrowsyError(f"data folder not found: {root}")
    names = {p.name for p in root.iterdir() if p.is_dir()}
    if names & set(CEW_DIRS):
        return "cew"
    if any(re.fullmatch(r"s\d{4}", n) for n in names):
        return "mrl"
    if {"open", "closed"} <= names:
        return "numbered" if _numbered(root) else "folders"
    if any(root.rglob("*.eyestate.csv")):
        return "video"
    raise DrowsyError(f"{root}: not a CEW, MRL, open/closed or labelled-video layout (use --format to force one)")


def _images_in(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_EXT and p.is_file())


def _cew_group(name: str) -> str:
    """CEW split unit: the source photo. Closed patches: 'closed_eye_0123.jpg_face_1_L.jpg'
    → 'closed_eye_0123' (several faces may share a photo); open ones are LFW 'Name_0001_L.jpg'
    → the person 'Name', so one person's photos stay together too."""
    if name.startswith("closed_eye_"):
        return name.split(".", 1)[0]
    stem = re.sub(r"_[LR]\.[A-Za-z]+$", "", name)
    return "lfw:" + re.sub(r"_\d{4}$", "", stem)


def _list_cew(root: Path) -> tuple[list[Path], dict]:
    files, closed, group, side = [], [], [], []
    for sub, label in CEW_DIRS.items():
        if not (root / sub).is_dir():
            raise DrowsyError(f"{root}: CEW layout needs {sub}/")
        for p in _images_in(root / sub):
            files.append(p)
            closed.append(label)
            group.append(_cew_group(p.name))
            side.append("left" if "Left" in sub else "right")
    return files, {"closed": closed, "group": group, "conditions": {"side": side}}


def _list_mrl(root: Path) -> tuple[list[Path], dict]:
    files, closed, group = [], [], []
    cond: dict[str, list] = {k: [] for k in MRL_CONDITIONS}
    for p in _images_in(root):
        m = MRL_NAME.match(p.stem)
        if m is None:
            continue  # not an MRL crop (e.g. a stray file); the name carries the label
        parts = m.groups()
        files.append(p)
        closed.append(1 if parts[4] == "0" else 0)  # MRL: eye state 0 = closed
        group.append(parts[0])
        for k, i in MRL_CONDITIONS.items():
            cond[k].append(parts[i])
    return files, {"closed": closed, "group": group, "conditions": cond}


def _list_folders(root: Path) -> tuple[list[Path], dict]:
    """DIR/open/* and DIR/closed/*. A sub-folder (e.g. one recording) is the split unit,
    so near-identical frames of one clip never straddle train and test; loose files are
    their own unit."""
    files, closed, group = [], [], []
    for sub, label in (("closed", 1), ("open", 0)):
        d = root / sub
        if not d.is_dir():
            raise DrowsyError(f"{root}: folder layout needs open/ and closed/")
        for p in _images_in(d):
            rel = p.relative_to(d)
            files.append(p)
            closed.append(label)
            group.append(rel.parts[0] if len(rel.parts) > 1 else f"{sub}/{rel.stem}")
    return files, {"closed": closed, "group": group, "conditions": {}}


def _list_numbered(root: Path) -> tuple[list[Path], dict]:
    """open/ and closed/ with numbered files and no person ids (../shared/data/kaggle_eyes):
    the split unit is a block of NUMBERED_BLOCK consecutive numbers, the same block in both
    classes, since neighbouring numbers are often the two eyes of one face."""
    files, meta = _list_folders(root)
    meta["group"] = [f"block{int(p.stem.lstrip('_')) // NUMBERED_BLOCK}" for p in files]
    return files, meta


_LISTERS = {"cew": _list_cew, "mrl": _list_mrl, "folders": _list_folders, "numbered": _list_numbered}


def read_crop(path: Path, size: int) -> np.ndarray:
    """One file → (size, size) uint8 gray; shrinking with INTER_AREA (how MRL is judged)."""
    import cv2

    buf = np.fromfile(str(path), dtype=np.uint8)  # imdecode: works with any path encoding
    img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if buf.size else None
    if img is None:
        raise DrowsyError(f"cannot read image {path}")
    if img.shape != (size, size):
        interp = cv2.INTER_AREA if min(img.shape) >= size else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
    return img


def _cache_key(root: Path, fmt: str, size: int, files: list[Path]) -> str:
    h = hashlib.sha1(f"{root.resolve()}|{fmt}|{size}|v1".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    from ..paths import cache_dir

    return cache_dir() / "datasets"


def load_dataset(root: str | os.PathLike, fmt: str = "auto", size: int = CROP_SIZE, limit: int | None = None,
                 cache: bool | Path = True) -> EyeData:
    """Load one data folder. `limit` keeps that many files spread evenly over the sorted
    listing (for tiny runs); `cache` True uses the user cache, a Path that folder, False none."""
    root = Path(root)
    fmt = detect_format(root) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise DrowsyError(f"unknown data format {fmt!r}: choose auto, {', '.join(FORMATS)}")
    if not root.is_dir():
        raise DrowsyError(f"data folder not found: {root}")
    if fmt == "video":  # the runtime's own crops of labelled clips (cached per clip)
        from .videodata import load_video_dataset

        if size != 24:
            raise DrowsyError("the video format cuts 24 × 24 crops (the runtime's CropSpec)")
        return load_video_dataset(root, limit=limit, log=print)
    files, meta = _LISTERS[fmt](root)
    if not files:
        raise DrowsyError(f"{root}: no images found for the {fmt} layout")
    keep = spaced(len(files), limit)
    files = [files[i] for i in keep]
    images = None
    cache_file = None
    if cache is not False and limit is None:
        folder = default_cache_dir() if cache is True else Path(cache)
        cache_file = folder / f"{fmt}-{_cache_key(root, fmt, size, files)}.npz"
        if cache_file.is_file():
            try:
                with np.load(cache_file) as z:
                    images = z["images"]
            except (OSError, ValueError, KeyError):
                images = None  # a damaged cache is rebuilt
            if images is not None and images.shape != (len(files), size, size):
                images = None
    if images is None:
        images = np.stack([read_crop(p, size) for p in files])
        if cache_file is not None:
            try:
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_file.with_suffix(".tmp.npz")
                np.savez(tmp, images=images)
                tmp.replace(cache_file)
            except OSError:
                pass  # a read-only cache only costs time
    pick = lambda v: np.asarray(v)[keep]  # noqa: E731
    return EyeData(
        name=fmt, root=str(root), images=images,
        closed=pick(meta["closed"]).astype(np.uint8),
        group=pick(meta["group"]).astype(str),
        files=np.array([str(p.relative_to(root)) for p in files]),
        conditions={k: pick(v).astype(str) for k, v in meta["conditions"].items()},
    )


def load_datasets(roots: list, formats: list[str], size: int = CROP_SIZE, limit: int | None = None) -> list[EyeData]:
    """Load several folders; `formats` is one for all or one per folder. Two folders of one
    layout are named e.g. mrl0, mrl1, so their scores are kept apart."""
    from dataclasses import replace

    from ..errors import UsageError

    if len(formats) == 1:
        formats = formats * len(roots)
    if len(formats) != len(roots):
        raise UsageError(f"--format needs one value or one per --data folder ({len(roots)})")
    datas = [load_dataset(r, f, size=size, limit=limit) for r, f in zip(roots, formats)]
    if len({d.name for d in datas}) != len(datas):
        datas = [replace(d, name=f"{d.name}{k}") for k, d in enumerate(datas)]
    return datas


def condition_label(key: str, value: str) -> str:
    """Readable name of a condition value, e.g. ('sensor', '02') → 'IDS'."""
    return CONDITION_NAMES.get(key, {}).get(value, value)
