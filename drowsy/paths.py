"""Where things are: the bundled eye model, the landmarker model, the shared dev data.

The landmarker is found in this order: --landmarker PATH, $DROWSY_LANDMARKER, the per-user
cache, else a one-time download from its official address (size and sha256 checked).
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
from pathlib import Path

from .errors import DrowsyError

LANDMARKER_URL = ("https://storage.googleapis.com/mediapipe-models/face_landmarker/"
                  "face_landmarker/float16/1/face_landmarker.task")
LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
LANDMARKER_SIZE = 3_758_596
REPO_ROOT = Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    """The shipped assets: inside the wheel as drowsy.assets, else the repo's assets/."""
    try:
        from importlib.resources import files

        p = Path(str(files("drowsy.assets")))
        if (p / "eye_state.onnx").is_file():
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    return REPO_ROOT / "assets"


def default_eye_model() -> Path:
    return assets_dir() / "eye_state.onnx"


def shared_dir() -> Path:
    """Development data (../shared beside the checkout), overridable by $DROWSY_SHARED."""
    return Path(os.environ.get("DROWSY_SHARED", REPO_ROOT.parent / "shared"))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "drowsy"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_landmarker(explicit: str | os.PathLike | None = None) -> tuple[Path | None, str]:
    """(path or None, where it came from) without downloading anything."""
    if explicit:
        return Path(explicit), "--landmarker"
    env = os.environ.get("DROWSY_LANDMARKER")
    if env:
        return Path(env), "$DROWSY_LANDMARKER"
    cached = cache_dir() / "face_landmarker.task"
    if cached.is_file():
        return cached, "user cache"
    return None, "not found"


def download_landmarker(dest: Path, url: str = LANDMARKER_URL, quiet: bool = False) -> Path:
    """One-time download with a progress bar; the file is kept only if its sha256 matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=20) as r, open(tmp, "wb") as f:
            total = int(r.headers.get("Content-Length") or LANDMARKER_SIZE)
            done = 0
            while block := r.read(1 << 16):
                f.write(block)
                h.update(block)
                done += len(block)
                if not quiet:
                    bar = "#" * int(30 * done / max(total, 1))
                    print(f"\rdownloading face landmarker {done / 1e6:4.1f}/{total / 1e6:.1f} MB [{bar:<30}]",
                          end="", file=sys.stderr, flush=True)
        if not quiet:
            print(file=sys.stderr)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise DrowsyError(f"cannot download the face landmarker ({e}); download {url} "
                          f"and put it at {dest} (or pass --landmarker PATH)") from None
    if h.hexdigest() != LANDMARKER_SHA256:
        tmp.unlink(missing_ok=True)
        raise DrowsyError(f"downloaded face landmarker has sha256 {h.hexdigest()}, expected "
                          f"{LANDMARKER_SHA256}; not used")
    tmp.replace(dest)
    return dest


def resolve_landmarker(explicit: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The landmarker model to use, downloading it once into the user cache if needed."""
    path, source = find_landmarker(explicit)
    if path is not None:
        if not path.is_file():
            raise DrowsyError(f"face landmarker not found at {path} (from {source})")
        return path
    dest = cache_dir() / "face_landmarker.task"
    if not download or os.environ.get("DROWSY_OFFLINE"):
        raise DrowsyError(f"no face landmarker model: download {LANDMARKER_URL} to {dest} "
                          "or pass --landmarker PATH")
    return download_landmarker(dest)


def mask_url(url: str) -> str:
    """A stream URL safe for logs and events: the password replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
