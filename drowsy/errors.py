"""Errors the CLI turns into one line on stderr: DrowsyError exits 1, UsageError exits 2."""


class DrowsyError(Exception):
    """A handled failure: bad input, a missing file, a model that breaks its contract."""


class UsageError(DrowsyError):
    """An invalid option value that argparse could not catch by itself (exit code 2)."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none: one-line errors."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
