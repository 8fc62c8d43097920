"""Candidate eye-state CNNs for one 24 × 24 grayscale crop (torch; training side only).

Every candidate is built from a short layer spec, so the selection script can compare them
on equal terms and a checkpoint can rebuild its net from the spec name alone. Inside every
net the crop is standardised (its own mean and std): visible and infrared cameras, bright
and dark frames then look alike to the convolutions. `Deployed` wraps a net into the ONNX
contract: uint8 crops in, P(closed) [N] out, preprocessing and sigmoid inside the graph.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..settings import CROP_SIZE

# Layer specs: ("c", out, stride) 3×3 conv+BN+ReLU; ("dw", out, stride) depthwise 3×3 +
# pointwise 1×1 (each +BN+ReLU); ("m",) 2×2 max-pool; head "gap" (global average) or
# ("flat", hidden) (flatten, one hidden layer: keeps where in the crop a feature is).
ARCHS: dict[str, tuple] = {
    "dw16-32-64": ((("c", 16, 1), ("m",), ("dw", 32, 1), ("m",), ("dw", 64, 1)), "gap"),
    "c8-16-32": ((("c", 8, 1), ("m",), ("c", 16, 1), ("m",), ("c", 32, 1)), "gap"),
    "c8-16-32-flat": ((("c", 8, 1), ("m",), ("c", 16, 1), ("m",), ("c", 32, 1), ("m",)), ("flat", 32)),
    "c8-16-32-flat64": ((("c", 8, 1), ("m",), ("c", 16, 1), ("m",), ("c", 32, 1), ("m",)), ("flat", 64)),
    "c8-16-24-flat6": ((("c", 8, 1), ("m",), ("c", 16, 1), ("m",), ("c", 24, 1)), ("flat", 32)),
    "c8-16-32-64-flat": ((("c", 8, 1), ("m",), ("c", 16, 1), ("m",), ("c", 32, 1), ("m",), ("c", 64, 1)),
                         ("flat", 32)),
    "c16-dw32-64-128": ((("c", 16, 1), ("m",), ("dw", 32, 1), ("m",), ("dw", 64, 1), ("dw", 128, 1)), "gap"),
    "c12-24-48": ((("c", 12, 1), ("m",), ("c", 24, 1), ("m",), ("c", 48, 1)), "gap"),
    "c16-32-64": ((("c", 16, 1), ("m",), ("c", 32, 1), ("m",), ("c", 64, 1)), "gap"),
    # Over the 200 KB budget on purpose: a capacity check (model card, "What limits CEW").
    "c16-32-64-128-flat": ((("c", 16, 1), ("m",), ("c", 32, 1), ("m",), ("c", 64, 1), ("m",), ("c", 128, 1)),
                           ("flat", 64)),
}
DEFAULT_ARCH = "c8-16-32-64-flat"  # chosen by scripts/select_architecture.py (see the model card)
STD_FLOOR = 0.02  # in [0, 1] units (~5 grey levels): a flat crop is not blown up to noise


class Standardize(nn.Module):
    """Per-crop (x - mean) / sqrt(var + floor²): brightness and contrast of the camera removed.
    `unit` is the full scale of x (1 for [0, 1], 255 for raw 8-bit values): the result is the
    same, so the exported graph needs no division by 255."""

    def __init__(self, unit: float = 1.0):
        super().__init__()
        self.unit = unit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x - x.mean(dim=(1, 2, 3), keepdim=True)
        var = (d * d).mean(dim=(1, 2, 3), keepdim=True)
        return d / torch.sqrt(var + (STD_FLOOR * self.unit) ** 2)


def _conv(cin: int, cout: int, stride: int = 1, groups: int = 1, k: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class EyeNet(nn.Module):
    """float crops (N, 1, S, S) in [0, 1] → closed logits (N,)."""

    def __init__(self, arch: str = DEFAULT_ARCH, size: int = CROP_SIZE, dropout: float = 0.1):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
        self.arch, self.size = arch, size
        spec, head = ARCHS[arch]
        layers: list[nn.Module] = [Standardize()]
        c, side = 1, size
        for layer in spec:
            if layer[0] == "m":
                layers.append(nn.MaxPool2d(2))
                side //= 2
            elif layer[0] == "c":
                layers += _conv(c, layer[1], layer[2])
                c, side = layer[1], -(-side // layer[2])
            elif layer[0] == "dw":
                layers += _conv(c, c, layer[2], groups=c) + _conv(c, layer[1], k=1)
                c, side = layer[1], -(-side // layer[2])
        self.features = nn.Sequential(*layers)
        if head == "gap":
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, 1))
        else:
            self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c * side * side, head[1]),
                                      nn.ReLU(inplace=True), nn.Linear(head[1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, S, S) float in [0, 1] (or [0, 255] once Deployed) → (N,) logits."""
        return self.head(self.features(x)).reshape(-1)


class Deployed(nn.Module):
    """The exported graph: uint8 (N, 1, S, S) → Cast → standardise → CNN → Sigmoid → (N,)."""

    def __init__(self, net: EyeNet):
        super().__init__()
        self.net = copy.deepcopy(net)
        self.net.features[0].unit = 255.0  # raw 8-bit values in: Standardize makes /255 moot

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(crops.to(torch.float32)))


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def count_macs(net: EyeNet) -> int:
    """Multiply-accumulates of one crop through the convolutions and linear layers."""
    macs = 0

    def hook(mod, inp, out):
        nonlocal macs
        if isinstance(mod, nn.Conv2d):
            macs += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            macs += mod.in_features * mod.out_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 1, net.size, net.size))
    net.train(was)
    for h in handles:
        h.remove()
    return macs


CHECKPOINT_FORMAT = "drowsy-eye-state/1"


def save_checkpoint(path, state_dict: dict, config: dict) -> None:
    """state_dict + plain-type config: loadable with torch.load(weights_only=True)."""
    from pathlib import Path

    from ..outputs import replacing

    with replacing(Path(path), "checkpoint", make_parents=True) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
                    "config": config}, tmp)


def load_checkpoint(path) -> tuple[EyeNet, dict]:
    """(net in eval mode, its config); DrowsyError for a file that is not one of ours."""
    from pathlib import Path

    from ..errors import DrowsyError, first_line

    path = Path(path)
    if not path.is_file():
        raise DrowsyError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle/zip errors have many types
        raise DrowsyError(f"{path} is not a loadable checkpoint: {first_line(e)}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise DrowsyError(f"{path} is not a drowsy eye-state checkpoint")
    cfg = _checked_config(path, ckpt.get("config"))
    try:
        net = EyeNet(cfg["arch"], cfg.get("size", CROP_SIZE))
        net.load_state_dict(ckpt["state_dict"])
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError) as e:
        raise DrowsyError(f"{path}: checkpoint does not match its architecture: {first_line(e)}") from None
    return net.eval(), cfg


def _checked_config(path, cfg) -> dict:
    """The checkpoint's config, or one line saying what is missing or malformed (a hand-edited
    or foreign file must not reach a traceback, nor a 10^9-pixel network)."""
    from ..errors import DrowsyError

    if not isinstance(cfg, dict):
        raise DrowsyError(f"{path}: checkpoint has no config (found {type(cfg).__name__})")
    if not isinstance(cfg.get("arch"), str) or cfg["arch"] not in ARCHS:
        raise DrowsyError(f"{path}: checkpoint config has no known arch (found {cfg.get('arch')!r:.60})")
    size = cfg.get("size", CROP_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 256:
        raise DrowsyError(f"{path}: checkpoint config size must be a whole number 8..256, found {size!r:.60}")
    thr = cfg.get("threshold")
    if thr is not None and (isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0.0 <= thr <= 1.0):
        raise DrowsyError(f"{path}: checkpoint config threshold must be a number in [0, 1], found {thr!r:.60}")
    return cfg
