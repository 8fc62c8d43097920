"""Where things are: the bundled eye model, the landmarker model, the shared dev data.

The landmarker is found in this order: --landmarker PATH, $DROWSY_LANDMARKER, the per-user
cache, else a one-time download from its official address (size and sha256 checked).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DrowsyError

LANDMARKER_URL = ("https://storage.googleapis.com/mediapipe-models/face_landmarker/"
                  "face_landmarker/float16/1/face_landmarker.task")
LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
LANDMARKER_SIZE = 3_758_596
LANDMARKER_NAME = "face_landmarker.task"
REPO_ROOT = Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    """The shipped assets: the checkout's assets/ when running from one (so a second checkout
    on PYTHONPATH uses its own, not the editable install's), else drowsy.assets in the wheel."""
    here = REPO_ROOT / "assets"
    if (REPO_ROOT / "pyproject.toml").is_file() and (here / "eye_state.onnx").is_file():
        return here
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


def cached_landmarker() -> Path:
    """Where the one-time download goes (and where a person may put the file by hand)."""
    return cache_dir() / LANDMARKER_NAME


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
    cached = cached_landmarker()
    if cached.is_file():
        return cached, "user cache"
    return None, "not found"


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _progress(done: int, total: int) -> None:
    bar = "#" * int(30 * min(done, total) / max(total, 1))
    print(f"\rdownloading face landmarker {done / 1e6:4.1f}/{total / 1e6:.1f} MB [{bar:<30}]",
          end="", file=sys.stderr, flush=True)


def download_landmarker(dest: Path, url: str | None = None, sha256: str | None = None,
                        size: int | None = None, quiet: bool = False, timeout_s: float = 20.0) -> Path:
    """One-time download with a progress bar; the file is kept only if size and sha256 match.

    The bytes go to a unique temporary file beside `dest` and are renamed into place only
    after the check, so an interrupted or tampered download never leaves a file that a
    later start would trust. url/sha256/size default to the official file (tests pass a
    local server's).
    """
    url = url or LANDMARKER_URL
    sha256 = sha256 or LANDMARKER_SHA256
    size = size or LANDMARKER_SIZE
    where = f"download {url} and put it at {dest} (or pass --landmarker PATH)"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    except OSError as e:
        raise DrowsyError(f"cannot write the face landmarker to {dest.parent} ({_one_line(e)}); "
                          f"{where}") from None
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    done = 0
    bar = not quiet and sys.stderr.isatty()  # a progress bar in a log file is noise
    try:
        if not quiet and not bar:
            print(f"downloading face landmarker ({size / 1e6:.1f} MB) to {dest}", file=sys.stderr)
        with urllib.request.urlopen(url, timeout=timeout_s) as r, os.fdopen(fd, "wb") as f:
            fd = -1
            # Read at most one byte past the expected size: a wrong or endless answer stops there.
            while done <= size and (block := r.read(min(1 << 16, size + 1 - done))):
                f.write(block)
                h.update(block)
                done += len(block)
                if bar:
                    _progress(done, size)
        if bar:
            print(file=sys.stderr)
    except (OSError, http.client.HTTPException, ValueError) as e:
        if isinstance(e, urllib.error.HTTPError):
            e.close()  # an HTTP error carries the open response: close its socket now
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        if bar:
            print(file=sys.stderr)
        raise DrowsyError(f"cannot download the face landmarker ({_one_line(e)}); {where}") from None
    except BaseException:  # Ctrl-C mid-download: leave nothing half-written behind
        tmp.unlink(missing_ok=True)
        raise
    if done != size:
        tmp.unlink(missing_ok=True)
        got = f"more than {size}" if done > size else str(done)
        raise DrowsyError(f"downloaded face landmarker has {got} bytes, expected {size}; not used; {where}")
    if h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise DrowsyError(f"downloaded face landmarker has sha256 {h.hexdigest()}, expected {sha256}; "
                          f"not used; {where}")
    tmp.replace(dest)
    return dest


def resolve_landmarker(explicit: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The landmarker model to use, downloading it once into the user cache if needed.

    A file named by the user is trusted as it is (it may be another variant); the cached
    copy is ours, so it must still be the official file, else it is fetched again.
    """
    path, source = find_landmarker(explicit)
    if path is not None and source != "user cache":
        if not path.is_file():
            raise DrowsyError(f"face landmarker not found at {path} (from {source})")
        return path
    dest = cached_landmarker()
    damaged = path is not None
    if damaged and path.stat().st_size == LANDMARKER_SIZE and sha256_of(path) == LANDMARKER_SHA256:
        return path
    what = f"the cached face landmarker {dest} is damaged" if damaged else "no face landmarker model"
    if not download or os.environ.get("DROWSY_OFFLINE"):
        raise DrowsyError(f"{what}: download {LANDMARKER_URL} to {dest} or pass --landmarker PATH")
    if damaged:
        print(f"drowsy: {what}; fetching it again", file=sys.stderr)
    return download_landmarker(dest)
