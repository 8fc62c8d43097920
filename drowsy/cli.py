"""Command line: build_parser() and main(argv) -> exit code.

Each subcommand lives in the module of its stage, which provides add_arguments(parser) and
main(args) -> int. Those modules keep heavy imports (torch, mediapipe, cv2) inside functions,
so `drowsy --help` is fast and the runtime never imports torch.
Exit codes: 0 success, 1 a handled error (one line on stderr), 2 usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import DrowsyError, UsageError

COMMANDS = (
    ("run", "drowsy.runtime.run", "detect drowsiness live from a camera, a video file or a stream"),
    ("demo", "drowsy.runtime.demo", "drowsy run on a bundled 5.5 s clip with a synthetic microsleep: no camera needed"),
    ("bench", "drowsy.evaluation.bench", "time every stage of the real pipeline and the classifier"),
    ("eval-video", "drowsy.evaluation.eval_video", "frame AUC/EER and blink recall on labelled clips, against baselines"),
    ("train", "drowsy.training.train", "train the eye-state CNN (needs the [train] extra)"),
    ("eval", "drowsy.evaluation.eval_model", "evaluate an eye model on CEW, MRL or a folder of eyes"),
    ("export-onnx", "drowsy.training.export_onnx", "export a checkpoint to ONNX with its contract in the metadata"),
    ("report", "drowsy.evaluation.report", "plot a timeline of one session from its --out JSONL"),
    ("info", "drowsy.runtime.info", "versions, ONNX Runtime providers, and which models would be used"),
    ("calibrate", "drowsy.runtime.calibrate", "measure one driver's eyes and rest pose; write a profile for run --profile"),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like argparse but without the usage dump
        from .secrets import mask

        # argparse quotes the bad value ("invalid int value: 'rtsp://user:pw@...'"): masked.
        self.exit(2, f"{self.prog}: error: {mask(' '.join(message.split()))}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="drowsy", description="Real-time drowsiness detection: eye state from a tiny ONNX CNN on "
                     "MediaPipe face landmarks, PERCLOS and microsleep alerts in seconds.")
    parser.add_argument("--version", action="version", version=f"drowsy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module, helptext in COMMANDS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue  # a command whose module is not part of this build
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks of errors")
        mod.add_arguments(p)
        p.set_defaults(_main=mod.main)
    return parser


def _error(command: str, e) -> None:
    """The one error line: every secret masked, control characters escaped."""
    from .errors import first_line
    from .secrets import escape, mask

    # The first line only (a second one, e.g. from a file name holding a newline, is never shown
    # as if drowsy said it), with ANSI escapes and other control characters escaped.
    text = first_line(e) if isinstance(e, BaseException) else str(e)
    print(f"drowsy {command}: error: {escape(mask(text))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints as \xff, not a traceback
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # closed, or not a text stream of ours
            pass
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help()
        return 2
    try:
        return int(args._main(args) or 0)
    except UsageError as e:
        if args.debug:
            raise
        _error(args.command, e)
        return 2
    except DrowsyError as e:
        if args.debug:
            raise
        _error(args.command, e)
        return 1
    except RecursionError:
        # A hostile input nested beyond Python's stack (a TOML file of 100k nested tables ...).
        if args.debug:
            raise
        _error(args.command, "an input is nested too deeply to read")
        return 1
    except KeyboardInterrupt:
        print(f"drowsy {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `drowsy eval ... | head`: the reader left; not an error worth a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
