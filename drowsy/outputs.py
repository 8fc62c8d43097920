"""Output safety for every command: nothing a user has is lost to a bad or failed run.

- check(outputs, inputs) runs before any output is created or truncated: an output may not be
  a folder (or a file where a folder is wanted), may not be one of the inputs nor another
  output (same resolved path, or the same file by device and inode: hard links, symlinks), and
  its folder must exist (or be creatable). A file or folder with no write bit at all is never
  written, even by root (who may write anything): read-only data like ../shared stays as it is.
  Clashes are usage errors (exit 2), the rest exit 1.
- Files a command produces whole (JSON results, plots, ONNX models, checkpoints) are written
  to a temporary file in the target's folder and renamed over the target only at the end and
  only when the target is a regular file or absent: a failed run leaves the old file as it was,
  and a device node, FIFO or folder named as output is refused, never replaced.
- Logs (`drowsy run --out/--events`) are streams, not documents: they are written in place
  and flushed line by line, so `tail -f` sees events as they happen and a power cut mid-drive
  keeps every line written. What keeps them safe is the order: they are opened only after the
  settings, the source (its first frame) and the models have all been checked, so a mistyped
  --video never truncates yesterday's log. A FIFO or a character device (/dev/stderr) is fine
  for a log; a FIFO with no reader is refused instead of waiting for one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping

from .errors import DrowsyError, UsageError

STDOUT = "-"


@dataclass(frozen=True)
class Output:
    """One thing a command will write: label (the flag), path, and kind.

    kind: "file" (written whole, atomically), "log" (a stream written in place; "-" = stdout),
    "folder" (created if absent; the files inside are outputs of their own).
    """

    label: str
    path: str | os.PathLike | None
    kind: str = "file"


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _stat(p: Path, label: str) -> os.stat_result | None:
    try:
        return p.stat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise DrowsyError(f"cannot write {label} {p}: a part of its folder is a file, not a folder") from None
    except OSError as e:  # a symlink loop (ELOOP), a name too long, permission ...
        raise DrowsyError(f"cannot write {label} {p}: {_why(e)}") from None


def _resolve(p: Path, label: str) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop (Python < 3.13)
        raise DrowsyError(f"cannot use {label} {p}: {getattr(e, 'strerror', None) or e}") from None


def _same(a: tuple[Path, os.stat_result | None], b: tuple[Path, os.stat_result | None]) -> bool:
    if a[0] == b[0]:
        return True
    return a[1] is not None and b[1] is not None and (a[1].st_dev, a[1].st_ino) == (b[1].st_dev, b[1].st_ino)


def _identity(o: Output) -> tuple[Path, os.stat_result | None]:
    if not str(o.path).strip():
        raise UsageError(f"{o.label} needs a file name")
    real = _resolve(Path(o.path), o.label)
    return real, _stat(real, o.label)


def _check_one(o: Output, real: Path, st: os.stat_result | None, make_parents: bool) -> None:
    p = Path(o.path)
    if o.kind == "folder":
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise DrowsyError(f"cannot write {o.label} {p}: it is a file, not a folder")
        parent = real if st is not None else _existing_parent(real)
    else:
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise DrowsyError(f"cannot write {o.label} file {p}: it is a folder")
        streamable = o.kind == "log" and st is not None and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode))
        if st is not None and not stat.S_ISREG(st.st_mode) and not streamable:
            raise DrowsyError(f"cannot write {o.label} {p}: it is not a regular file (a device, FIFO or socket); "
                              "not replaced")
        if st is not None and not streamable and (not os.access(real, os.W_OK) or _read_only(st)):
            raise DrowsyError(f"cannot write {o.label} file {p}: it is read-only; not overwritten")
        parent = real.parent if real.parent.is_dir() or not make_parents else _existing_parent(real.parent)
        if not parent.is_dir():
            raise DrowsyError(f"cannot write {o.label} file {p}: folder {p.parent} does not exist")
    if st is None and (not os.access(parent, os.W_OK | os.X_OK) or _read_only(parent.stat())):
        raise DrowsyError(f"cannot write {o.label} {p}: folder {parent} is read-only")


def _read_only(st: os.stat_result) -> bool:
    """No write bit for anyone: read-only by intent. root may write anyway (os.access says yes),
    but a read-only data folder (../shared) or file is never written by drowsy."""
    return not st.st_mode & 0o222


def _existing_parent(p: Path) -> Path:
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                raise DrowsyError(f"cannot create folder {p}: {q} is a file")
            return q
    return Path("/")


def check(outputs: Iterable[Output], inputs: Mapping[str, str | os.PathLike | None] = {},
          make_parents: bool = False) -> None:
    """Refuse, before anything is written, outputs that would destroy an input or each other."""
    outs = [o for o in outputs if o.path is not None]
    seen: list[tuple[Output, tuple]] = []
    stdout_by = None
    for o in outs:
        if str(o.path) == STDOUT and o.kind == "log":
            if stdout_by:
                raise UsageError(f"{stdout_by} and {o.label} both write to standard output; give one a file")
            stdout_by = o.label
            _check_stdout(o.label)
            continue
        ident = _identity(o)
        for other, other_ident in seen:
            if _same(ident, other_ident):
                raise UsageError(f"{other.label} and {o.label} are the same file ({o.path}); give each its own")
        seen.append((o, ident))
    for label, path in inputs.items():
        if path is None or str(path) in ("", STDOUT):
            continue
        try:
            ident = (Path(path).resolve(), Path(path).stat())
        except (OSError, RuntimeError):
            try:
                ident = (Path(path).resolve(), None)
            except (OSError, RuntimeError):
                continue  # an unusable input fails with its own message when it is opened
        for o, o_ident in seen:
            if _same(ident, o_ident):
                raise UsageError(f"{o.label} {o.path} is the input {label}; writing it would destroy it")
    for o, (real, st) in seen:  # clashes first (usage errors), then whether each can be written
        _check_one(o, real, st, make_parents)


def _check_stdout(label: str) -> None:
    """Standard output must be open: `drowsy run --out - >&-` would otherwise write nothing, exit 0."""
    out = sys.stdout
    closed = out is None or getattr(out, "closed", False)
    if not closed:
        try:
            fd = out.fileno()
        except (OSError, ValueError, AttributeError):
            return  # an in-memory stream (a test's capture): open
        try:
            os.fstat(fd)
        except OSError:
            closed = True
    if closed:
        raise DrowsyError(f"cannot write {label} to standard output: it is closed")


# -- logs: in place, line by line --------------------------------------------------------------

def open_log(path: str | os.PathLike, label: str) -> tuple[IO[str], bool]:
    """(file, owned) for a JSONL log; "-" is standard output (not owned, not closed by us)."""
    if str(path) == STDOUT:
        _check_stdout(label)
        return sys.stdout, False
    p = Path(path)
    try:
        st = p.stat() if p.exists() else None
        if st is not None and stat.S_ISFIFO(st.st_mode):
            # O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of blocking forever.
            fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            return os.fdopen(fd, "w", encoding="utf-8"), True
        return open(p, "w", encoding="utf-8"), True
    except OSError as e:
        import errno

        why = "no process reads this FIFO" if e.errno == errno.ENXIO else _why(e)
        raise DrowsyError(f"cannot write {label} file {p}: {why}") from None


# -- whole files: temporary file, then rename ----------------------------------------------------

def _replaceable(p: Path, label: str) -> None:
    try:
        st = p.lstat()
    except FileNotFoundError:
        return
    except OSError as e:
        raise DrowsyError(f"cannot write {label} {p}: {_why(e)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise DrowsyError(f"cannot write {label} {p}: it is not a regular file; not replaced")
    if _read_only(st):
        raise DrowsyError(f"cannot write {label} {p}: it is read-only; not replaced")


@contextlib.contextmanager
def replacing(path: str | os.PathLike, label: str = "output", make_parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.

    Symlinks are followed (the file they point to is replaced, the link stays). The temporary
    name keeps the suffix, so writers that pick a format by suffix (matplotlib) still work.
    """
    target = _resolve(Path(path), label)
    _replaceable(target, label)
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        if _read_only(target.parent.stat()):
            raise DrowsyError(f"cannot write {label} {path}: folder {target.parent} is read-only")
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
    except OSError as e:
        raise DrowsyError(f"cannot write {label} {path}: {_why(e)}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _replaceable(target, label)  # it may have changed while we worked
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        raise DrowsyError(f"cannot write {label} {path}: {_why(e)}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str, label: str = "output", make_parents: bool = False) -> None:
    """Write a whole text file atomically (see replacing)."""
    with replacing(path, label, make_parents) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
