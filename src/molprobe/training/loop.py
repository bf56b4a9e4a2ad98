"""Training loop for the neural models: masked multi-task loss, early stopping on the
validation metric, learning-rate schedule, gradient clipping, AMP on CUDA, per-epoch history
with per-layer gradient norms. Also the fit path of the scikit-learn baselines.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from molprobe.errors import MolprobeError
from molprobe.models.registry import get_spec
from molprobe.training.data import BatchLoader, Split, make_source, model_outputs
from molprobe.training.device import amp_enabled, autocast, grad_scaler, resolve_device
from molprobe.training.early_stopping import EarlyStopping
from molprobe.training.gradient_monitor import GradientMonitor
from molprobe.training.losses import (
    TargetScaler,
    masked_bce_with_logits,
    masked_mse,
    positive_weights,
)
from molprobe.training.metrics import PRIMARY, primary_metric

log = logging.getLogger(__name__)

TASK_TYPES = ("classification", "regression")
SCHEDULES = ("plateau", "cosine", "none")
OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass
class TrainConfig:
    """Settings of one training run.

    epochs: maximum passes over the train split. batch_size: molecules per step.
    lr / weight_decay: optimiser settings (``optimizer``: adam | adamw | sgd with momentum 0.9).
    patience: epochs without validation improvement before stopping (0 = never stop early).
    clip_norm: max global gradient L2 norm (0 = no clipping).
    pos_weight: weight positives by n_neg/n_pos per task (classification).
    lr_schedule: ``plateau`` (halve on a validation plateau), ``cosine`` or ``none``.
    device: auto | cpu | cuda. amp: mixed precision, used only on CUDA.
    seed: torch / numpy / random seed. num_threads: torch CPU threads (0 = leave as is).
    stop_epoch: stop after this epoch while the schedule still spans ``epochs`` (0 = run
    all; final models replay the split runs' chosen epoch on every labeled molecule).
    """

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    patience: int = 8
    clip_norm: float = 5.0
    pos_weight: bool = False
    lr_schedule: str = "plateau"
    device: str = "auto"
    amp: bool = True
    seed: int = 0
    num_threads: int = 0
    eval_batch_size: int = 512
    stop_epoch: int = 0

    def __post_init__(self):
        if self.lr_schedule not in SCHEDULES:
            raise MolprobeError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise MolprobeError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise MolprobeError("epochs, batch_size and lr must be positive")


TRAIN_KEYS = frozenset(f.name for f in dataclasses.fields(TrainConfig))


def make_train_config(model_name: str, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """TrainConfig defaults, then the model family's ``train_defaults``, then ``overrides``
    (values coerced to the field types; unknown keys raise MolprobeError)."""
    from molprobe.models.registry import coerce_value

    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    values = dict(get_spec(model_name).train_defaults)
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise MolprobeError(f"unknown training setting {key!r}; valid: {sorted(fields)}")
        values[key] = value
    kwargs = {k: coerce_value(v, str(fields[k].type), k, model_name) for k, v in values.items()}
    return TrainConfig(**kwargs)


@dataclass
class TrainResult:
    """What a run produced besides the (best-weights) model.

    history: one dict per epoch (epoch, train_loss, val_loss, val_metric, lr, seconds,
    grad_norm/<layer>...). target_scaler: regression standardisation (None otherwise).
    """

    history: list[dict[str, float]]
    best_epoch: int
    best_val_metric: float
    device: str
    seconds: float
    target_scaler: TargetScaler | None = None
    pos_weight: list[float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(len(self.history), 1)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def _loss_fn(task_type: str, pos_weight: torch.Tensor | None):
    if task_type == "classification":
        return lambda out, y: masked_bce_with_logits(out, y, pos_weight)
    return masked_mse


def train_model(
    model: torch.nn.Module,
    features,
    Y: np.ndarray,
    split: Split,
    task_type: str = "classification",
    config: TrainConfig | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``split.train``, early-stopping on ``split.valid``.

    Args:
        model: a registered neural model (``forward(batch)``, ``hidden_layers()``).
        features: ndarray (n, F), GraphStore or token source, aligned with ``Y`` rows.
        Y: labels (n, T), NaN = missing. split: row positions.
    Returns the run summary; the model ends with the weights of the best validation epoch.
    """
    config = config or TrainConfig()
    if task_type not in TASK_TYPES:
        raise MolprobeError(f"task_type must be one of {TASK_TYPES}, got {task_type!r}")
    device = resolve_device(config.device)
    threads_before = torch.get_num_threads()
    if config.num_threads > 0:
        torch.set_num_threads(config.num_threads)
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return _train(model, features, Y, split, task_type, config, device)
    finally:
        torch.use_deterministic_algorithms(deterministic_before)
        torch.set_num_threads(threads_before)


def _train(model, features, Y, split, task_type, config, device) -> TrainResult:
    Y = np.asarray(Y, dtype=np.float64)
    source = make_source(features, device)
    if hasattr(model, "input_norm") and source.kind == "vector":
        # vector nets standardise their inputs with train-split statistics (saved as buffers)
        model.input_norm.fit(source.X[torch.as_tensor(split.train, device=source.X.device)].cpu())
    model.to(device)
    use_amp = amp_enabled(device, config.amp)
    metric_name, higher_better = PRIMARY[task_type]

    target_scaler = None
    Y_fit = Y
    if task_type == "regression":
        target_scaler = TargetScaler.fit(Y[split.train])
        Y_fit = target_scaler.transform(Y)
    pw = None
    if task_type == "classification" and config.pos_weight:
        pw = positive_weights(Y[split.train])
    loss_fn = _loss_fn(
        task_type, torch.tensor(pw, dtype=torch.float32, device=device) if pw is not None else None
    )

    train_loader = BatchLoader(
        source,
        Y_fit,
        split.train,
        config.batch_size,
        shuffle=True,
        seed=config.seed,
        drop_last_single=True,
    )
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    elif config.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.lr_schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max", factor=0.5, patience=max(1, config.patience // 3)
        )
    elif config.lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    else:
        sched = None
    scaler = grad_scaler(device, use_amp)
    monitor = GradientMonitor(model.hidden_layers())
    y_valid = torch.as_tensor(Y_fit[split.valid], dtype=torch.float32)

    history: list[dict[str, float]] = []
    stopper = EarlyStopping(patience=config.patience, mode="max" if higher_better else "min")
    t_start = time.perf_counter()
    # a bar on a terminal; logs get one INFO line per epoch instead (see below)
    bar = tqdm(range(1, config.epochs + 1), desc="epochs", unit="epoch", leave=False,
               disable=not sys.stderr.isatty(), file=sys.stderr)  # fmt: skip
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for batch, y in train_loader:
            y = y.to(device, non_blocking=True)
            with autocast(device, use_amp):
                out = model(batch)
            loss = loss_fn(out.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            monitor.record()
            if config.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, config.clip_norm)
            scaler.step(opt)
            scaler.update()
            total += float(loss.detach()) * y.shape[0]
            count += y.shape[0]
        train_loss = total / max(count, 1)
        if not math.isfinite(train_loss):
            raise MolprobeError(
                f"training diverged at epoch {epoch} (loss {train_loss}); lower the learning rate"
            )

        val_loss, val_metric = math.nan, math.nan
        if len(split.valid):
            out = model_outputs(model, source, split.valid, config.eval_batch_size, device, use_amp)
            val_loss = float(loss_fn(out.to(device), y_valid.to(device)))
            if task_type == "classification":
                pred = torch.sigmoid(out).double().numpy()
            else:
                pred = target_scaler.inverse(out.double().numpy())
            val_metric = primary_metric(Y[split.valid], pred, task_type)

        lr = opt.param_groups[0]["lr"]
        if sched is not None:
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                # mode "max": higher is better for AUC, so negate RMSE / loss
                score = val_metric if higher_better else -val_metric
                if not math.isfinite(score):
                    score = -val_loss
                if math.isfinite(score):
                    sched.step(score)
            else:
                sched.step()

        if len(split.valid):  # the metric; the loss only while no finite metric was seen
            stopper.update(model, epoch, val_metric, fallback=val_loss)
        else:
            stopper.keep(model, epoch)  # no validation set: keep the last epoch

        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_metric": val_metric,
            "lr": lr,
            "seconds": time.perf_counter() - t0,
        }
        row.update(monitor.epoch_summary())
        history.append(row)
        log.info(
            "epoch %d: train_loss %.4f val_loss %.4f val_%s %.4f (%.1fs)",
            epoch, train_loss, val_loss, metric_name, val_metric, row["seconds"],
        )  # fmt: skip
        bar.set_postfix(train_loss=f"{train_loss:.4f}", val=f"{val_metric:.4f}", refresh=False)
        if stopper.should_stop:
            break
        if 0 < config.stop_epoch <= epoch:
            break
    bar.close()

    stopper.restore(model)
    return TrainResult(
        history=history,
        best_epoch=stopper.best_epoch,
        best_val_metric=stopper.best,
        device=str(device),
        seconds=time.perf_counter() - t_start,
        target_scaler=target_scaler,
        pos_weight=None if pw is None else [float(v) for v in pw],
    )


def train_baseline(
    model, X: np.ndarray, Y: np.ndarray, split: Split, task_type: str, seed: int = 0
) -> TrainResult:
    """Fit a scikit-learn baseline on the train rows; one history row (epoch 1)."""
    t0 = time.perf_counter()
    X = np.asarray(X)
    model.fit(X[split.train], np.asarray(Y)[split.train], task_type=task_type, seed=seed)
    val_metric = math.nan
    if len(split.valid):
        val_metric = primary_metric(
            np.asarray(Y)[split.valid], model.predict(X[split.valid]), task_type
        )
    seconds = time.perf_counter() - t0
    history = [
        {
            "epoch": 1,
            "train_loss": math.nan,
            "val_loss": math.nan,
            "val_metric": val_metric,
            "lr": math.nan,
            "seconds": seconds,
        }
    ]
    return TrainResult(history, 1, val_metric, "cpu", seconds)


def fit(
    model_name: str,
    params,
    features,
    Y: np.ndarray,
    split: Split,
    task_type: str = "classification",
    config: TrainConfig | None = None,
    init_state: Mapping[str, torch.Tensor] | None = None,
):
    """Seed, build the registered model ``model_name`` for ``features`` and train it.

    ``init_state``: starting weights (e.g. a pretrained encoder); each of its tensors must
    match one of the model's by name and shape (MolprobeError otherwise) and replaces it.
    Returns ``(model, TrainResult)``; torch models end on their best validation weights.
    """
    from molprobe.models.registry import build_model

    config = config or make_train_config(model_name)
    spec = get_spec(model_name)
    seed_everything(config.seed)
    n_tasks = np.asarray(Y).reshape(len(Y), -1).shape[1]
    if spec.framework == "sklearn":
        X = np.asarray(features)
        model = build_model(model_name, params, make_source(X).dims, n_tasks)
        return model, train_baseline(model, X, Y, split, task_type, config.seed)
    source = make_source(features, "cpu")
    if source.kind != spec.input_kind:
        raise MolprobeError(
            f"model {model_name!r} needs {spec.input_kind} features, got {source.kind}"
        )
    model = build_model(model_name, params, source.dims, n_tasks)
    if init_state is not None:
        own = model.state_dict()
        misfit = [k for k, v in init_state.items() if k not in own or own[k].shape != v.shape]
        if misfit:
            raise MolprobeError(
                f"{len(misfit)} of the {len(init_state)} starting tensors do not fit "
                f"{model_name!r} by name and shape (e.g. {misfit[0]!r}: a different family, "
                "width or depth?)"
            )
        own.update(init_state)
        model.load_state_dict(own)
    return model, train_model(model, features, Y, split, task_type, config)
