"""`drowsy export-onnx`: a training checkpoint → the runtime's ONNX eye model.

  drowsy export-onnx --checkpoint export/eye_state.pt --out export/eye_state.onnx

The graph is the whole contract (drowsy.runtime.classify): input `crops` uint8 [N, 1, 24, 24] with
N dynamic → Cast → per-crop standardisation → CNN → Sigmoid → `p_closed` float32 [N].
The file carries its crop geometry, decision threshold, training data and metrics, and the
commit in its metadata. Before --out is replaced, onnx.checker runs, ONNX Runtime is compared
with torch on a fixed batch, and drowsy.runtime.classify.EyeClassifier must load the file
(contract and real eye crops); until then it is a temporary file beside --out, so a failed
export leaves the previous model as it was, and --out may not be the checkpoint, a folder or
a device.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
from pathlib import Path

import numpy as np

from .. import __version__
from ..runtime.crop import CropSpec
from ..errors import DrowsyError, UsageError, first_line
from ..outputs import Output, check, replacing
from ..settings import CROP_SIZE, FALLBACK_THRESHOLD

MAX_DIFF = 1e-4  # ONNX Runtime vs torch on the check batch, in probability
MIN_OPSET = 18  # the dynamo exporter's own opset; older ones need a conversion it does not do well


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="checkpoint written by `drowsy train`")
    p.add_argument("--out", default="export/eye_state.onnx", help="ONNX file to write")
    p.add_argument("--crop-scale", type=float, default=CropSpec().scale,
                   help=f"crop side / eye-corner distance the runtime must cut (default {CropSpec().scale})")
    p.add_argument("--threshold", type=float, default=None,
                   help="decision threshold on P(closed) (default: the checkpoint's, chosen on validation)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset to write (18..the highest torch and onnx "
                   "know; refused otherwise, and checked in the file written)")


def git_commit() -> str:
    """HEAD of the checkout this package runs from, '+dirty' if it has local changes."""
    from ..paths import REPO_ROOT

    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def check_batch(size: int = CROP_SIZE) -> np.ndarray:
    """The fixed comparison batch: black, white, mid-grey, and 61 seeded random crops."""
    rng = np.random.default_rng(1234)
    flat = np.stack([np.full((1, size, size), v, np.uint8) for v in (0, 255, 128)])
    return np.concatenate([flat, rng.integers(0, 256, (61, 1, size, size), dtype=np.uint8)])


def _strip_export_noise(model) -> None:
    """Drop the exporter's per-node provenance (stack traces, names): a third of the file."""
    g = model.graph
    for item in list(g.node) + list(g.input) + list(g.output) + list(g.value_info) + list(g.initializer):
        if hasattr(item, "metadata_props"):
            del item.metadata_props[:]
        if hasattr(item, "doc_string"):
            item.doc_string = ""
    del model.metadata_props[:]


def export_onnx(checkpoint: Path, out: Path, crop_scale: float = CropSpec().scale,
                threshold: float | None = None, opset: int = 18) -> dict:
    """Write the ONNX file; returns what was checked: {max_diff, bytes, threshold, ...}."""
    import onnx
    import onnxruntime as ort
    import torch

    from ..runtime.classify import CONTRACT, META_CONTRACT, META_CROP, META_THRESHOLD, EyeClassifier
    from .models import Deployed, count_params, load_checkpoint

    check([Output("--out", out)], {"--checkpoint": checkpoint}, make_parents=True)
    net, cfg = load_checkpoint(checkpoint)
    size = int(cfg.get("size", CROP_SIZE))
    thr = float(cfg.get("threshold", FALLBACK_THRESHOLD) if threshold is None else threshold)
    if not 0.0 <= thr <= 1.0:
        raise UsageError(f"--threshold must be within [0, 1], got {thr}")
    spec = CropSpec(size=size, scale=crop_scale)
    model = Deployed(net).eval()
    x = torch.from_numpy(check_batch(size))
    # torch 2.x: the dynamo exporter is the default; it folds BatchNorm and gives a clean graph.
    try:
        with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            program = torch.onnx.export(model, (x,), dynamo=True, opset_version=opset, input_names=["crops"],
                                        output_names=["p_closed"], external_data=False,
                                        dynamic_shapes={"crops": {0: torch.export.Dim("N", min=1, max=65536)}})
    except Exception as e:  # the exporter raises many types; the file is not written
        raise DrowsyError(f"export at opset {opset} failed: {first_line(e)}") from None
    proto = program.model_proto
    _strip_export_noise(proto)
    training = {k: cfg.get(k) for k in ("arch", "best_epoch", "refit", "data", "splits", "metrics", "leak_check",
                                        "command", "init")}
    training["params"] = count_params(net)
    meta = {META_CROP: spec.to_metadata(), META_THRESHOLD: repr(thr), META_CONTRACT: CONTRACT,
            "drowsy.training": json.dumps(training, sort_keys=True), "drowsy.commit": git_commit(),
            "drowsy.version": __version__, "drowsy.arch": cfg["arch"]}
    for k, v in meta.items():
        proto.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    proto.producer_name, proto.doc_string = "drowsy export-onnx", "eye-state classifier: P(eye closed) per crop"
    used = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if used != opset:  # the exporter may pick another opset than asked: never report one we did not use
        raise DrowsyError(f"the exporter wrote opset {used}, not the --opset {opset} asked for; nothing written")
    onnx.checker.check_model(proto, full_check=True)
    # Written beside --out and renamed over it only after every check passed: a failed export
    # leaves the previous model as it was (outputs.replacing).
    with replacing(out, "--out", make_parents=True) as tmp:
        onnx.save(proto, str(tmp))
        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(tmp), so, providers=["CPUExecutionProvider"])
        got = sess.run(None, {"crops": check_batch(size)})[0]
        with torch.no_grad():
            want = model(x).numpy()
        diff = float(np.max(np.abs(got.reshape(-1) - want.reshape(-1))))
        if got.shape != (len(x),) or not diff <= MAX_DIFF:
            raise DrowsyError(f"ONNX Runtime disagrees with torch: max difference {diff:.3g}, output shape {got.shape}")
        one = sess.run(None, {"crops": check_batch(size)[:1]})[0]  # the batch really is dynamic
        if one.shape != (1,):
            raise DrowsyError(f"exported graph is not batch-dynamic: batch 1 gave shape {one.shape}")
        del sess
        # The runtime's own contract check; the real-eye AUC is reported, not enforced: export
        # converts faithfully, and drowsy run refuses a model that fails it.
        selfcheck_auc = EyeClassifier(tmp, device="cpu", selfcheck=False).selfcheck_auc
    return {"out": str(out), "bytes": out.stat().st_size, "max_diff": diff, "threshold": thr,
            "crop_scale": crop_scale, "arch": cfg["arch"], "params": training["params"], "opset": opset,
            "selfcheck_auc": selfcheck_auc}


def opset_range() -> tuple[int, int]:
    """Opsets the dynamo exporter writes (18 is its own) up to what torch and onnx both know."""
    import onnx
    from torch.onnx import _constants

    return MIN_OPSET, min(getattr(_constants, "ONNX_MAX_OPSET", MIN_OPSET), onnx.defs.onnx_opset_version())


def main(args: argparse.Namespace) -> int:
    if not 0.5 <= args.crop_scale <= 10.0:
        raise UsageError(f"--crop-scale must be between 0.5 and 10, got {args.crop_scale}")
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        raise DrowsyError(f"export needs the [train] extra ({e.name} missing): "
                          "pip install 'drowsy-eyes[train]'") from None
    lo, hi = opset_range()
    if not lo <= args.opset <= hi:
        raise UsageError(f"--opset must be {lo}..{hi} (what this torch and onnx can write), got {args.opset}")
    r = export_onnx(Path(args.checkpoint), Path(args.out), args.crop_scale, args.threshold, args.opset)
    print(f"wrote {r['out']} ({r['bytes'] / 1024:.1f} KiB, {r['arch']}, {r['params']} parameters, opset {r['opset']})")
    print(f"onnx.checker ok; ONNX Runtime vs torch on {len(check_batch())} crops: max |difference| {r['max_diff']:.2e}")
    print(f"threshold {r['threshold']:.4f}, crop scale {r['crop_scale']}; EyeClassifier loads it")
    from ..runtime.selfcheck import MIN_AUC

    auc = r["selfcheck_auc"]
    print(f"self-check on the bundled real eye crops: AUC {auc:.2f}"
          + ("" if auc >= MIN_AUC else f" (below {MIN_AUC}: drowsy run will refuse this model)"))
    return 0
