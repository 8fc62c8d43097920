"""The lid-aperture augmentation: hard negatives for narrow and hooded open eyes (issue 21)."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms import v2

from drowsy.training.augment import AugmentConfig, augment_batch, narrow_aperture


def _synthetic_open_eye(s: int = 24) -> np.ndarray:
    """Skin, a white almond of sclera, a dark pupil in its middle: an open eye, centred."""
    yy, xx = np.mgrid[:s, :s].astype(np.float32) - (s / 2 - 0.5)
    img = np.full((s, s), 170, np.uint8)
    img[(xx / 8.5) ** 2 + (yy / 5.0) ** 2 <= 1] = 230
    img[xx ** 2 + yy ** 2 <= 3.5 ** 2] = 20
    return img


def _dark_rows(img: np.ndarray) -> np.ndarray:
    return np.flatnonzero((img < 80).any(axis=1))


def test_lowering_the_upper_lid_shrinks_the_pupil_from_above_but_keeps_it_visible():
    eye = _synthetic_open_eye()
    x = torch.from_numpy(eye).float()[None, None] / 255
    out = (narrow_aperture(x, torch.tensor([12.0]), torch.tensor([5.0]), torch.tensor([0.3]))[0, 0] * 255).numpy()
    before, after = _dark_rows(eye), _dark_rows(out)
    assert len(after) < len(before) - 1  # the dark pupil is shorter ...
    assert after[0] > before[0] and after[-1] == before[-1]  # ... covered from above, the bottom stays
    assert out.min() < 40  # still visible
    assert np.abs(out[:3] - eye[:3]).max() < 1  # skin at the top stays skin
    # No change at all with the lid where it was.
    same = narrow_aperture(x, torch.tensor([12.0]), torch.tensor([5.0]), torch.tensor([1.0]))
    assert torch.allclose(same, x, atol=1e-6)


def test_augment_batch_narrows_open_eyes_only_and_only_when_asked():
    eye = torch.from_numpy(_synthetic_open_eye())[None].repeat(16, 1, 1, 1)
    is_open = torch.tensor([True, False] * 8)
    identity = v2.Compose([v2.Identity()])
    torch.manual_seed(0)
    out = augment_batch(eye, identity, open_eyes=is_open, cfg=AugmentConfig(p_narrow=1.0)) * 255
    base = eye.float()
    changed = (out - base).abs().amax(dim=(1, 2, 3)) > 1
    assert changed[is_open].all() and not changed[~is_open].any()  # closed crops are left as they are
    for k in np.flatnonzero(is_open.numpy()):
        assert len(_dark_rows(out[k, 0].numpy())) <= len(_dark_rows(base[k, 0].numpy()))
    # p_narrow 0 (the default recipe) leaves every crop as it is, and draws no random numbers.
    torch.manual_seed(1)
    state = torch.random.get_rng_state()
    plain = augment_batch(eye, identity, open_eyes=is_open, cfg=AugmentConfig())
    assert torch.equal(plain * 255, base) and torch.equal(torch.random.get_rng_state(), state)
