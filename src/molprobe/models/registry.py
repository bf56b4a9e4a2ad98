"""Model registry: config names -> builder, input kind and typed default hyperparameters.

Names (used in config/config.yaml and results/ paths): ``snn``, ``fnn_bn``, ``gine``,
``attentivefp``, ``lstm``, ``rf``, ``logreg``, the screening families ``snn_fast`` and
``fnn_bn_fast`` (the same nets, smaller by default, for ECFP + the fast descriptor set), and
``gine_pretrained`` (GINE shaped like the `pretrain` rule's encoder, which it starts from).

Input kinds: ``vector`` (ECFP and/or descriptors, ndarray (n, F)), ``graph``
(:class:`molprobe.chem.graphs.GraphStore`), ``tokens`` (SMILES token ids + lengths).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from molprobe.errors import MolprobeError

InputKind = Literal["vector", "graph", "tokens"]


@dataclass(frozen=True)
class InputDims:
    """Sizes a model needs from its features: ``n_features`` (vector), ``atom_dim`` /
    ``bond_dim`` (graph), ``mol_dim`` (molecule-level inputs of a graph net, e.g. descriptors),
    ``vocab_size`` (tokens)."""

    n_features: int = 0
    atom_dim: int = 0
    bond_dim: int = 0
    vocab_size: int = 0
    mol_dim: int = 0


# ----------------------------------------------------------------------------- hyperparameters


@dataclass
class SNNParams:
    """SNN: depth, width of the first block, shape (rectangular|conic), alpha-dropout rate."""

    n_layers: int = 8
    width: int = 1024
    shape: str = "rectangular"
    dropout: float = 0.1


@dataclass
class FNNParams:
    """ReLU + BatchNorm net with the SNN's depth/width options; dropout rate."""

    n_layers: int = 8
    width: int = 1024
    shape: str = "rectangular"
    dropout: float = 0.1
    batch_norm: bool = True


@dataclass
class SNNFastParams(SNNParams):
    """Screening SNN: as :class:`SNNParams`, 4 x 512 (0.8 M multiply-adds per molecule
    after the sparse first layer, vs 7.3 M for 8 x 1024)."""

    n_layers: int = 4
    width: int = 512


@dataclass
class FNNFastParams(FNNParams):
    """Screening FNN-BN: as :class:`FNNParams`, 4 x 512."""

    n_layers: int = 4
    width: int = 512


@dataclass
class GINEParams:
    """GINE: message-passing steps, embedding width, pooling (sum|mean), dropout."""

    n_layers: int = 4
    width: int = 192
    pool: str = "sum"
    dropout: float = 0.1


@dataclass
class GINEPretrainedParams(GINEParams):
    """GINE fine-tuned from a descriptor-pretrained encoder (``molprobe train --init``): as
    :class:`GINEParams` with mean pooling, the pooling that pretraining needs (a sum-pooled
    encoder collapses to the mean predictor; README "Pretraining on unlabeled structures");
    depth and width must equal the encoder's."""

    pool: str = "mean"


@dataclass
class AttentiveFPParams:
    """AttentiveFP: atom steps, readout timesteps, embedding width, dropout."""

    n_layers: int = 3
    timesteps: int = 2
    width: int = 128
    dropout: float = 0.1


@dataclass
class LSTMParams:
    """SMILES recurrent net (:class:`molprobe.models.lstm.SmilesLSTM`): token embedding size,
    recurrent state size, stacked layers, dropout, direction, cell (lstm|gru|rnn), pooling
    (last|mean)."""

    embed_dim: int = 64
    hidden_dim: int = 256
    n_layers: int = 2
    dropout: float = 0.1
    bidirectional: bool = False
    cell: str = "lstm"
    pooling: str = "last"


@dataclass
class RFParams:
    """Random forest per task (scikit-learn); ``class_weight``: "balanced" or null."""

    n_estimators: int = 200
    max_features: str = "sqrt"
    min_samples_leaf: int = 1
    class_weight: str | None = "balanced"
    n_jobs: int = 1


@dataclass
class LogRegParams:
    """L2 logistic regression per task (scikit-learn): inverse regularisation C."""

    C: float = 0.1
    class_weight: str | None = "balanced"
    max_iter: int = 2000


# ----------------------------------------------------------------------------- builders


def _build_snn(p: SNNParams, dims: InputDims, n_tasks: int):
    from molprobe.models.snn import SNN

    return SNN(dims.n_features, n_tasks, p.n_layers, p.width, p.shape, p.dropout)


def _build_fnn(p: FNNParams, dims: InputDims, n_tasks: int):
    from molprobe.models.fnn import FNN

    return FNN(dims.n_features, n_tasks, p.n_layers, p.width, p.shape, p.dropout, p.batch_norm)


def _build_gine(p: GINEParams, dims: InputDims, n_tasks: int):
    from molprobe.models.gnn import GINE

    return GINE(dims.atom_dim, dims.bond_dim, n_tasks, p.n_layers, p.width, p.pool, p.dropout,
                dims.mol_dim)  # fmt: skip


def _build_attentivefp(p: AttentiveFPParams, dims: InputDims, n_tasks: int):
    from molprobe.models.gnn import AttentiveFP

    return AttentiveFP(
        dims.atom_dim, dims.bond_dim, n_tasks, p.n_layers, p.timesteps, p.width, p.dropout,
        dims.mol_dim,
    )  # fmt: skip


def _build_lstm(p: LSTMParams, dims: InputDims, n_tasks: int):
    try:
        module = importlib.import_module("molprobe.models.lstm")
    except ImportError as err:
        raise MolprobeError(f"model 'lstm' is not available: {err}") from None
    return module.SmilesLSTM(vocab_size=dims.vocab_size, n_tasks=n_tasks, **dataclasses.asdict(p))


def _build_rf(p: RFParams, dims: InputDims, n_tasks: int):
    from molprobe.models.baselines import TaskwiseSklearn

    return TaskwiseSklearn("rf", dataclasses.asdict(p))


def _build_logreg(p: LogRegParams, dims: InputDims, n_tasks: int):
    from molprobe.models.baselines import TaskwiseSklearn

    return TaskwiseSklearn("logreg", dataclasses.asdict(p))


@dataclass(frozen=True)
class ModelSpec:
    """One registered model family.

    ``framework`` is ``torch`` (state_dict in model.pt) or ``sklearn`` (skops file);
    ``train_defaults`` are TrainConfig fields that suit this family (e.g. its learning rate).
    """

    name: str
    input_kind: InputKind
    framework: Literal["torch", "sklearn"]
    params_cls: type
    build: Callable[[Any, InputDims, int], Any]
    train_defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


MODELS: dict[str, ModelSpec] = {
    "snn": ModelSpec(
        "snn", "vector", "torch", SNNParams, _build_snn,
        {"lr": 1e-4, "batch_size": 128, "weight_decay": 0.0},
        "self-normalizing net (SELU, alpha-dropout)",
    ),
    "fnn_bn": ModelSpec(
        "fnn_bn", "vector", "torch", FNNParams, _build_fnn,
        {"lr": 1e-3, "batch_size": 128, "weight_decay": 1e-5},
        "ReLU + BatchNorm feed-forward net",
    ),
    "snn_fast": ModelSpec(
        "snn_fast", "vector", "torch", SNNFastParams, _build_snn,
        {"lr": 1e-4, "batch_size": 128, "weight_decay": 0.0},
        "screening SNN (4 x 512 SELU)",
    ),
    "fnn_bn_fast": ModelSpec(
        "fnn_bn_fast", "vector", "torch", FNNFastParams, _build_fnn,
        {"lr": 1e-3, "batch_size": 128, "weight_decay": 1e-5},
        "screening FNN-BN (4 x 512 ReLU + BatchNorm)",
    ),
    "gine": ModelSpec(
        "gine", "graph", "torch", GINEParams, _build_gine,
        {"lr": 1e-3, "batch_size": 64, "weight_decay": 0.0},
        "GIN with edge features",
    ),
    "gine_pretrained": ModelSpec(
        "gine_pretrained", "graph", "torch", GINEPretrainedParams, _build_gine,
        {"lr": 1e-3, "batch_size": 64, "weight_decay": 0.0},
        "GIN with edge features, fine-tuned from a descriptor-pretrained encoder",
    ),
    "attentivefp": ModelSpec(
        "attentivefp", "graph", "torch", AttentiveFPParams, _build_attentivefp,
        {"lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5},
        "AttentiveFP graph attention net",
    ),
    "lstm": ModelSpec(
        "lstm", "tokens", "torch", LSTMParams, _build_lstm,
        {"lr": 1e-3, "batch_size": 64},
        "SMILES LSTM",
    ),
    "rf": ModelSpec("rf", "vector", "sklearn", RFParams, _build_rf, {}, "random forest per task"),
    "logreg": ModelSpec(
        "logreg", "vector", "sklearn", LogRegParams, _build_logreg, {}, "logistic regression per task"
    ),
}  # fmt: skip


def get_spec(name: str) -> ModelSpec:
    """The registered model family ``name``; MolprobeError listing the choices otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise MolprobeError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None


def coerce_value(value: Any, annotation: str, key: str, model: str) -> Any:
    """Convert a CLI/config value to the dataclass field's type (annotations are strings)."""
    ann = annotation.replace(" ", "")
    if value is None and "None" in ann:
        return None
    try:
        if ann.startswith("bool"):
            if isinstance(value, str):
                if value.lower() in ("true", "1", "yes"):
                    return True
                if value.lower() in ("false", "0", "no"):
                    return False
                raise ValueError(value)
            return bool(value)
        if ann.startswith("int"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if ann.startswith("float"):
            return float(value)
        if ann.startswith("str"):
            if isinstance(value, str) and value.lower() in ("none", "null") and "None" in ann:
                return None
            return str(value)
    except (TypeError, ValueError):
        raise MolprobeError(
            f"model {model!r}: parameter {key!r} must be {annotation}, got {value!r}"
        ) from None
    return value


def make_params(name: str, overrides: Mapping[str, Any] | None = None):
    """Default hyperparameters of ``name`` updated with ``overrides`` (type-checked).

    Unknown keys raise MolprobeError listing the valid ones.
    """
    spec = get_spec(name)
    fields = {f.name: f for f in dataclasses.fields(spec.params_cls)}
    kwargs = {}
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise MolprobeError(f"model {name!r} has no parameter {key!r}; valid: {sorted(fields)}")
        kwargs[key] = coerce_value(value, str(fields[key].type), key, name)
    return spec.params_cls(**kwargs)


def build_model(name: str, params, dims: InputDims, n_tasks: int):
    """Build an untrained model: a torch ``nn.Module`` or a :class:`TaskwiseSklearn`."""
    spec = get_spec(name)
    if not isinstance(params, spec.params_cls):
        params = make_params(name, params)
    return spec.build(params, dims, n_tasks)
