"""Training augmentations (torchvision.transforms.v2) that mimic what the runtime feeds the model.

Geometry: the runtime's jittered crops are shifted by up to ±12 % of the side, scaled by
0.8–1.25 and the eye line may be a few degrees off level → random affine on an edge-padded
crop (so no black corners appear: the runtime crop always has real pixels around the eye),
plus a horizontal flip so one model serves both eyes. Photometry: gamma, brightness and
contrast, blur and low resolution (small faces are upsampled), sensor noise, dark frames and
infrared-looking low-contrast crops; finally quantisation to 8 bits like the uint8 input.

Hard negatives for narrow and hooded eyes (issue 21): before the pipeline, a share of the OPEN
crops (`p_narrow`, off by default so earlier recipes stay as they were) gets its upper lid
lowered by a row warp (narrow_aperture): the lid and the skin above it are stretched down over
the top of the iris, the rows below the new lid edge stay, so the pupil is partly covered but
still visible. The label stays "open": such eyes are open, and the model read them as closed.

Per-sample Python is the bottleneck on two CPU cores, so the pipeline runs on sub-batches:
each chunk of `chunk` crops shares one draw of the random parameters, and many chunks per
batch keep the variety. Randomness comes from torch's global generator (seed it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from ..settings import CROP_SIZE


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of every augmentation; stored in the checkpoint's config."""

    shift: float = 0.12  # fraction of the crop side
    scale: tuple[float, float] = (0.8, 1.25)
    degrees: float = 12.0
    hflip: float = 0.5
    gamma: tuple[float, float] = (0.6, 1.7)
    brightness: float = 0.35
    contrast: float = 0.45
    p_photometric: float = 0.8
    p_blur: float = 0.2
    p_lowres: float = 0.2
    lowres_side: tuple[int, int] = (9, 18)
    p_noise: float = 0.35
    noise_sigma: float = 0.05  # in [0, 1] units
    p_dark: float = 0.12
    dark_gain: tuple[float, float] = (0.12, 0.4)
    p_infrared: float = 0.12
    infrared_contrast: tuple[float, float] = (0.3, 0.6)
    p_narrow: float = 0.0  # share of open crops whose upper lid is lowered (drowsy train --narrow-open)
    narrow_aperture: tuple[float, float] = (0.12, 0.28)  # centre-to-upper-lid distance, fraction of the side
    narrow_keep: tuple[float, float] = (0.35, 0.75)  # share of that distance left open

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def scaled(self, k: float) -> "AugmentConfig":
        """Every range and probability times k (ranges around their identity): 0 = none, 1 = as is."""
        log_range = lambda r: tuple(math.exp(k * math.log(v)) for v in r)  # noqa: E731
        return AugmentConfig(
            shift=self.shift * k, scale=log_range(self.scale), degrees=self.degrees * k, hflip=self.hflip,
            gamma=log_range(self.gamma), brightness=self.brightness * k, contrast=self.contrast * k,
            p_photometric=min(1.0, self.p_photometric * k), p_blur=min(1.0, self.p_blur * k),
            p_lowres=min(1.0, self.p_lowres * k), lowres_side=self.lowres_side,
            p_noise=min(1.0, self.p_noise * k), noise_sigma=self.noise_sigma * k,
            p_dark=min(1.0, self.p_dark * k), dark_gain=self.dark_gain, p_infrared=min(1.0, self.p_infrared * k),
            infrared_contrast=self.infrared_contrast, p_narrow=min(1.0, self.p_narrow * k),
            narrow_aperture=self.narrow_aperture, narrow_keep=self.narrow_keep)


def _uniform(lo: float, hi: float) -> float:
    return float(torch.empty(1).uniform_(lo, hi))


class RandomGamma(v2.Transform):
    """x ** gamma with log-uniform gamma: mid-tones lighter or darker (camera curves, IR)."""

    def __init__(self, gamma: tuple[float, float]):
        super().__init__()
        self.log_range = (math.log(gamma[0]), math.log(gamma[1]))

    def make_params(self, flat_inputs):
        return {"gamma": math.exp(_uniform(*self.log_range))}

    def transform(self, inpt, params):
        return F.adjust_gamma(inpt, params["gamma"])


class RandomGain(v2.Transform):
    """A dark frame: every pixel scaled down (night, under-exposed webcam)."""

    def __init__(self, gain: tuple[float, float]):
        super().__init__()
        self.gain = gain

    def make_params(self, flat_inputs):
        return {"gain": _uniform(*self.gain)}

    def transform(self, inpt, params):
        return inpt * params["gain"]


class InfraredLook(v2.Transform):
    """An IR-camera look: contrast squeezed around a grey level, slightly lifted blacks."""

    def __init__(self, contrast: tuple[float, float]):
        super().__init__()
        self.contrast = contrast

    def make_params(self, flat_inputs):
        return {"c": _uniform(*self.contrast), "level": _uniform(0.25, 0.55)}

    def transform(self, inpt, params):
        mean = inpt.mean(dim=(-3, -2, -1), keepdim=True)
        return (params["level"] + (inpt - mean) * params["c"]).clamp(0, 1)


class LowResolution(v2.Transform):
    """A small face: the eye seen with few pixels, then upsampled to the crop size."""

    def __init__(self, side: tuple[int, int]):
        super().__init__()
        self.side = side

    def make_params(self, flat_inputs):
        return {"side": int(torch.randint(self.side[0], self.side[1] + 1, (1,)))}

    def transform(self, inpt, params):
        size = list(inpt.shape[-2:])
        small = F.resize(inpt, [params["side"]] * 2, antialias=True)
        return F.resize(small, size, antialias=False)


class RandomNoise(v2.Transform):
    """Sensor noise with a random strength per chunk."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = sigma

    def make_params(self, flat_inputs):
        return {"sigma": _uniform(0.1 * self.sigma, self.sigma)}

    def transform(self, inpt, params):
        return F.gaussian_noise(inpt, sigma=params["sigma"], clip=True)


def build_pipeline(size: int = CROP_SIZE, cfg: AugmentConfig = AugmentConfig()) -> v2.Compose:
    """The whole augmentation for float crops (B, 1, size, size) in [0, 1]."""
    pad = size // 4
    translate = cfg.shift * size / (size + 2 * pad)  # RandomAffine's fraction is of the padded side
    return v2.Compose([
        v2.Pad(pad, padding_mode="edge"),
        v2.RandomAffine(degrees=cfg.degrees, translate=(translate, translate), scale=cfg.scale,
                        interpolation=v2.InterpolationMode.BILINEAR),
        v2.CenterCrop(size),
        v2.RandomHorizontalFlip(cfg.hflip),
        v2.RandomApply([LowResolution(cfg.lowres_side)], p=cfg.p_lowres),
        v2.RandomApply([v2.GaussianBlur(3, sigma=(0.3, 1.0))], p=cfg.p_blur),
        v2.RandomApply([RandomGamma(cfg.gamma),
                        v2.ColorJitter(brightness=cfg.brightness, contrast=cfg.contrast)], p=cfg.p_photometric),
        v2.RandomApply([RandomGain(cfg.dark_gain)], p=cfg.p_dark),
        v2.RandomApply([InfraredLook(cfg.infrared_contrast)], p=cfg.p_infrared),
        v2.RandomApply([RandomNoise(cfg.noise_sigma)], p=cfg.p_noise),
    ])


def narrow_aperture(x: torch.Tensor, centre: torch.Tensor, aperture: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Lower the upper lid of float crops (B, 1, S, S) by a per-crop row warp. Rows are in pixels:
    the lid edge, assumed `aperture` rows above `centre`, moves down to `keep` × aperture above
    it; the rows above the new edge are the old lid and skin stretched down, the rows below it
    stay where they were (the lid covers the top of the iris and pupil, the rest is untouched)."""
    b, _, s, _ = x.shape
    y = torch.arange(s, dtype=torch.float32).expand(b, s)
    lid_src = (centre - aperture).clamp(min=0.0)[:, None]  # where the lid edge is
    lid_dst = (centre - keep * aperture)[:, None]  # where it is moved to
    src = torch.where(y <= lid_dst, y * lid_src / lid_dst.clamp(min=1e-3), y)
    lo = src.floor().long().clamp(0, s - 1)
    hi = (lo + 1).clamp(max=s - 1)
    w = (src - lo)[:, None, :, None]
    rows = lambda i: x.gather(2, i[:, None, :, None].expand(b, x.shape[1], s, x.shape[3]))  # noqa: E731
    return rows(lo) * (1 - w) + rows(hi) * w


def _narrow_open(x: torch.Tensor, open_eyes: torch.Tensor, cfg: AugmentConfig) -> torch.Tensor:
    """narrow_aperture on a random `cfg.p_narrow` share of the open crops, random lid and centre."""
    pick = open_eyes & (torch.rand(len(x)) < cfg.p_narrow)
    n = int(pick.sum())
    if n == 0:
        return x
    s = x.shape[-2]
    centre = s / 2 + torch.empty(n).uniform_(-0.04 * s, 0.04 * s)
    aperture = torch.empty(n).uniform_(*cfg.narrow_aperture) * s
    keep = torch.empty(n).uniform_(*cfg.narrow_keep)
    x = x.clone()
    x[pick] = narrow_aperture(x[pick], centre, aperture, keep)
    return x


def augment_batch(crops: torch.Tensor, pipeline: v2.Compose, chunk: int = 8, open_eyes: torch.Tensor | None = None,
                  cfg: AugmentConfig | None = None) -> torch.Tensor:
    """uint8 (B, 1, S, S) → augmented float (B, 1, S, S) in [0, 1], quantised to 1/255 steps.
    With `open_eyes` (B,) bool and cfg.p_narrow > 0, some open eyes are narrowed first."""
    x = crops.to(torch.float32) / 255.0
    if open_eyes is not None and cfg is not None and cfg.p_narrow > 0:
        x = _narrow_open(x, open_eyes, cfg)
    out = torch.cat([pipeline(part) for part in x.split(chunk)])
    return (out.clamp(0, 1) * 255).round() / 255  # the runtime hands the model uint8
