"""The training loop behind `drowsy train`: balanced batches, augmentation, EMA, early stopping.

Input: the training and validation crops of one or more data sets (uint8 arrays). Every
batch holds the same number of crops from each (data set, class) cell, so the 3.9k CEW
patches weigh as much as the 62k MRL crops and closed as much as open. After each epoch the
exponential moving average of the weights is scored on every validation set; the epoch with
the lowest mean EER over the sets is kept, and training stops after `patience` epochs
without a better one. torch is imported here, never by the runtime.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .augment import AugmentConfig, augment_batch, build_pipeline
from ..evaluation.eyemetrics import summary
from ..settings import CROP_SIZE, FALLBACK_THRESHOLD
from .models import EyeNet


@dataclass(frozen=True)
class FitConfig:
    arch: str
    epochs: int = 40
    steps_per_epoch: int = 250
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1  # before the head's first linear layer
    ema_decay: float = 0.995
    group_power: float = 1.0  # crop weight ∝ (crops of its group and class) ** -power: MRL's
    # 10k-crop subjects would otherwise drown the 400-crop ones (1 = every subject alike)
    patience: int = 8
    distill: float = 0.0  # weight of the teachers' soft labels in the loss (0 = labels only)
    seed: int = 0
    size: int = CROP_SIZE
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["augment"] = self.augment.to_dict()
        return d


@dataclass(frozen=True)
class TrainSet:
    """One data set's crops for the loop: training cells and the validation crops."""

    name: str
    train_images: np.ndarray  # (N, S, S) uint8
    train_closed: np.ndarray  # (N,) uint8
    train_group: np.ndarray  # (N,) str, for group-balanced sampling
    val_images: np.ndarray
    val_closed: np.ndarray
    label_smoothing: float = 0.03  # targets pulled this far towards 0.5: MRL has label noise
    group_power: float | None = None  # this set's sampling power (None: FitConfig.group_power)


@dataclass(frozen=True)
class FitResult:
    state_dict: dict
    best_epoch: int
    history: list[dict]  # one dict per epoch: loss, lr, per-set val EER, seconds
    val_scores: dict[str, np.ndarray]  # the best epoch's P(closed) on each validation set


def _group_cdf(groups: np.ndarray, power: float) -> np.ndarray:
    """Cumulative sampling weights of one cell's crops: ∝ (size of the crop's group) ** -power."""
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return np.cumsum(counts[inverse].astype(np.float64) ** -power)


def _cells(sets: list[TrainSet], cfg: FitConfig) -> list[tuple[TrainSet, np.ndarray, np.ndarray]]:
    """(set, crop indices, sampling cdf) per (set, class): every batch takes the same number of
    crops from each, so the 62k/3.9k imbalance between sets is handled here. Within a cell a
    crop weighs (crops of its group) ** -power, with the set's own power if it has one."""
    return [(s, idx, _group_cdf(s.train_group[idx], cfg.group_power if s.group_power is None else s.group_power))
            for s in sets for c in (0, 1) if len(idx := np.flatnonzero(s.train_closed == c))]


def predict(net: nn.Module, images: np.ndarray, batch: int = 4096) -> np.ndarray:
    """P(closed) of uint8 crops (N, S, S) with the net in eval mode (no augmentation)."""
    net.eval()
    out = []
    with torch.no_grad():
        for k in range(0, len(images), batch):
            x = torch.from_numpy(images[k:k + batch]).unsqueeze(1).to(torch.float32) / 255.0
            out.append(torch.sigmoid(net(x)).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _update_ema(ema: nn.Module, net: nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, p in zip(ema.state_dict().values(), net.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
            else:
                e.copy_(p)


def _teacher_probs(teachers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Mean P(closed) of the teacher ensemble on the very crops the student sees (augmented)."""
    with torch.no_grad():
        return torch.stack([torch.sigmoid(t(x)) for t in teachers]).mean(0)


def _batch(cells, per_cell: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One balanced batch: per_cell crops from every (set, class) cell, drawn by group weight."""
    xs, ys = [], []
    for s, idx, cdf in cells:
        pick = idx[np.minimum(np.searchsorted(cdf, rng.random(per_cell) * cdf[-1], side="right"), len(idx) - 1)]
        xs.append(s.train_images[pick])
        eps = s.label_smoothing  # the targets, pulled towards 0.5 by this set's smoothing
        ys.append(s.train_closed[pick].astype(np.float32) * np.float32(1 - eps) + np.float32(0.5 * eps))
    order = rng.permutation(per_cell * len(cells))  # mixed chunks: augmentation params vary
    return torch.from_numpy(np.concatenate(xs)[order]).unsqueeze(1), torch.from_numpy(np.concatenate(ys)[order])


def _validate(net: nn.Module, sets: list[TrainSet]) -> tuple[dict, dict]:
    """Validation scores per set, and the history columns: EER and AUC per set, mean EER."""
    scores = {s.name: predict(net, s.val_images) for s in sets}
    row, eers = {}, []
    for s in sets:
        m = summary(s.val_closed, scores[s.name], FALLBACK_THRESHOLD)
        row[f"val_eer_{s.name}"] = m["eer"]
        row[f"val_auc_{s.name}"] = m["auc"]
        if m["eer"] is not None:
            eers.append(m["eer"])
    row["val_eer_mean"] = float(np.mean(eers)) if eers else None
    return scores, row


def fit(sets: list[TrainSet], cfg: FitConfig, init_state: dict | None = None, progress: bool = True,
        log=print, keep_last: bool = False, teachers: list[nn.Module] = ()) -> FitResult:
    """Train; keep the epoch with the best mean validation EER, or the last one (`keep_last`,
    for a refit whose validation crops are part of its training data). With `teachers` and
    cfg.distill > 0 the target is a blend of the label and the teachers' mean probability:
    an ensemble's soft opinion on ambiguous and mislabelled crops generalises better than
    the hard label alone (ensemble distillation)."""
    teachers = [t.eval() for t in teachers]
    if cfg.distill > 0 and not teachers:
        raise ValueError("distill > 0 needs teachers")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = EyeNet(cfg.arch, cfg.size, dropout=cfg.dropout)
    if init_state is not None:
        net.load_state_dict(init_state)
    ema = copy.deepcopy(net)
    pipeline = build_pipeline(cfg.size, cfg.augment)
    cells = _cells(sets, cfg)
    if not cells:
        raise ValueError("no training crops")
    per_cell = max(1, cfg.batch_size // len(cells))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    loss_fn = nn.BCEWithLogitsLoss()
    history: list[dict] = []
    best = (np.inf, -1, None, None)
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        losses = []
        steps = range(cfg.steps_per_epoch)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc=f"epoch {epoch}/{cfg.epochs}", leave=False, unit="step")
        for _ in steps:
            x, y = _batch(cells, per_cell, rng)
            x = augment_batch(x, pipeline, open_eyes=y < 0.5, cfg=cfg.augment)
            if cfg.distill > 0:
                y = (1 - cfg.distill) * y + cfg.distill * _teacher_probs(teachers, x)
            loss = loss_fn(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            _update_ema(ema, net, cfg.ema_decay)
            losses.append(float(loss.detach()))
            if progress:
                steps.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        scores, row = _validate(ema, sets)
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "lr": float(sched.get_last_lr()[0]), **row,
               "seconds": time.perf_counter() - t0}
        history.append(row)
        score = row["val_eer_mean"] if row["val_eer_mean"] is not None else row["loss"]
        improved = score < best[0] or keep_last
        if improved:
            best = (score, epoch, copy.deepcopy(ema.state_dict()), scores)
        log(f"epoch {epoch:3d}  loss {row['loss']:.4f}  "
            + "  ".join(f"val EER {s.name} {100 * row[f'val_eer_{s.name}']:.2f}%" for s in sets
                        if row[f"val_eer_{s.name}"] is not None)
            + f"  ({row['seconds']:.0f} s){'  *' if improved else ''}")
        if epoch - best[1] >= cfg.patience and not keep_last:
            log(f"early stop: no better validation EER for {cfg.patience} epochs")
            break
    return FitResult(state_dict=best[2], best_epoch=best[1], history=history, val_scores=best[3])
