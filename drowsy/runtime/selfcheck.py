"""The eye model's load-time check on real eye crops bundled with the package.

A contract check on black and white squares passes models that lie on real eyes (one that says
247, or always "closed"). So every model is run on assets/selfcheck_crops.npz: a few dozen
crops of one GRID clip (CC BY 4.0; assets/SELFCHECK.md), half labelled closed, cut by drowsy's
own landmarker and cropper (scripts/make_selfcheck.py regenerates them). The model must give
one finite probability in [0, 1] per crop for several batch sizes (the same value for a crop
whatever batch it is in), and rank the closed crops above the open ones (AUC >= MIN_AUC).

The crops are stored at a wider context than any usual crop (CONTEXT_SCALE × the eye-corner
distance, CONTEXT_SIZE px, the default crop's pixel density); a model gets the centre part
that its own crop scale covers, resized to its own size, mirrored as its metadata says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DrowsyError

CONTEXT_SIZE = 40
CONTEXT_SCALE = 2.75  # 40 / 2.75 = 24 / 1.65: the default crop is the exact centre 24 px
MIN_AUC = 0.9
BATCHES = (1, 2, 17)  # besides the whole set: odd sizes catch fixed-length outputs
CROPS_FILE = "selfcheck_crops.npz"


def crops_path() -> Path:
    from ..paths import assets_dir

    return assets_dir() / CROPS_FILE


def load_crops(spec, path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(crops uint8 [N, 1, S, S] in the model's geometry, closed labels bool [N])."""
    import cv2

    path = path or crops_path()
    try:
        with np.load(path) as z:
            ctx, closed, eye = z["crops"], z["closed"].astype(bool), z["eye"]
    except (OSError, KeyError, ValueError) as e:
        raise DrowsyError(f"the bundled self-check crops {path} are missing or damaged ({e}); "
                          "reinstall drowsy") from None
    # A crop scale beyond the stored context gets the whole context: a zoomed-in view, still eyes.
    side = min(CONTEXT_SIZE, max(2, int(round(CONTEXT_SIZE * spec.scale / CONTEXT_SCALE))))
    lo = (CONTEXT_SIZE - side) // 2
    out = np.empty((len(ctx), 1, spec.size, spec.size), np.uint8)
    for i, c in enumerate(ctx[:, lo:lo + side, lo:lo + side]):
        if side != spec.size:
            shrink = side > spec.size
            c = cv2.resize(c, (spec.size, spec.size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        out[i, 0] = c[:, ::-1] if spec.mirror_left and eye[i] == 1 else c
    return out, closed


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """P(a closed crop scores above an open one), ties counted half."""
    pos, neg = scores[positive], scores[~positive]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def check_model(run: Callable[[np.ndarray], np.ndarray], spec, name: str, discriminate: bool = True) -> float:
    """Run `run` (uint8 [N,1,S,S] → raw first output) on the bundled crops; DrowsyError if the
    model breaks its contract on real eyes. Returns the AUC. discriminate=False does not refuse
    a model below MIN_AUC (the contract still holds): for the commands that measure a model
    (eval, export-onnx report the AUC) and for tests of the contract with non-eye models."""
    x, closed = load_crops(spec)
    s = spec.size
    # Black and white squares too: valid inputs (a dark frame, a glare) that must stay in range.
    flat = np.repeat(np.array([0, 255], np.uint8), 2)[:, None, None, None] * np.ones((1, 1, s, s), np.uint8)

    def scores(batch: np.ndarray) -> np.ndarray:
        try:
            y = np.asarray(run(batch))
        except Exception as e:  # onnxruntime's own exception types
            from ..errors import first_line

            raise DrowsyError(f"eye model {name} fails on a batch of {len(batch)} real eye crops: "
                              f"{first_line(e)}") from None
        if y.dtype != np.float32:
            raise DrowsyError(f"eye model {name}: output must be float32, got {y.dtype}")
        if y.shape not in ((len(batch),), (len(batch), 1)):
            raise DrowsyError(f"eye model {name}: output shape {y.shape} for {len(batch)} crops, "
                              f"expected [{len(batch)}] or [{len(batch)}, 1]")
        y = y.reshape(len(batch)).astype(np.float64)
        if not np.all(np.isfinite(y)) or y.min() < 0.0 or y.max() > 1.0:
            raise DrowsyError(f"eye model {name}: outputs on real eye crops must be probabilities in "
                              f"[0, 1], got {y.min():.4g} to {y.max():.4g} (logits without a sigmoid?)")
        return y

    full = scores(np.concatenate([x, flat]))[: len(x)]
    for n in BATCHES:
        part = scores(x[:n])
        if not np.allclose(part, full[:n], atol=1e-4):
            raise DrowsyError(f"eye model {name}: a crop's score depends on the batch it is in "
                              f"(batch of {n} vs {len(x)})")
    a = auc(full, closed)
    if discriminate and a < MIN_AUC:
        hint = " (inverted: it calls open eyes closed?)" if a <= 1 - MIN_AUC else ""
        raise DrowsyError(f"eye model {name} does not tell closed from open eyes on {len(x)} real eye "
                          f"crops: AUC {a:.2f} < {MIN_AUC}{hint}")
    return a
