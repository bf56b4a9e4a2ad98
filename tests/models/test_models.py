"""Neural model contract, SNN self-normalisation, registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molprobe.errors import MolprobeError
from molprobe.models.fnn import FNN
from molprobe.models.registry import MODELS, InputDims, build_model, get_spec, make_params
from molprobe.models.snn import SNN, InputStandardizer, layer_widths
from tests.training._data import ecfp_bits, tox21_slice


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: small models run faster without oversubscribing a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _layer_outputs(model, x):
    outs = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: outs.append(o.detach()))
        for _, m in model.hidden_layers()
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return outs


@pytest.fixture(scope="module")
def ecfp200(tox21_path):
    smiles, _, _ = tox21_slice(200, str(tox21_path))
    return ecfp_bits(smiles)


def test_registry_names_and_kinds():
    assert set(MODELS) == {"snn", "fnn_bn", "gine", "attentivefp", "lstm", "rf", "logreg",
                           "snn_fast", "fnn_bn_fast", "gine_pretrained"}  # fmt: skip
    assert get_spec("snn").input_kind == "vector"
    # the fine-tuned GINE is shaped like the pretrain rule's encoder: mean pooling, 4 x 192
    assert get_spec("gine_pretrained").input_kind == "graph"
    tuned = make_params("gine_pretrained")
    assert (tuned.pool, tuned.n_layers, tuned.width) == ("mean", 4, 192)
    assert make_params("gine").pool == "sum"
    assert get_spec("gine").input_kind == "graph"
    assert get_spec("lstm").input_kind == "tokens"
    with pytest.raises(MolprobeError, match="unknown model"):
        get_spec("transformer")


def test_fast_screening_families_are_smaller_snn_and_fnn():
    """snn_fast / fnn_bn_fast build the SNN / FNN classes, 4 x 512 by default, overridable."""
    dims = InputDims(n_features=2048 + 45)
    snn = build_model("snn_fast", make_params("snn_fast"), dims, 12)
    fnn = build_model("fnn_bn_fast", make_params("fnn_bn_fast", {"n_layers": 3}), dims, 12)
    assert type(snn) is SNN and type(fnn) is FNN
    assert len(snn.hidden_layers()) == 4 and len(fnn.hidden_layers()) == 3
    n_params = sum(p.numel() for p in snn.parameters())
    big = build_model("snn", make_params("snn"), dims, 12)
    assert n_params < sum(p.numel() for p in big.parameters()) / 4
    x = torch.randn(5, dims.n_features)
    assert snn.eval()(x).shape == (5, 12) and get_spec("snn_fast").train_defaults["lr"] == 1e-4


def test_make_params_types_and_unknown_keys():
    p = make_params("snn", {"n_layers": "16", "dropout": "0.1", "shape": "conic"})
    assert (p.n_layers, p.dropout, p.shape) == (16, 0.1, "conic")
    assert make_params("rf", {"class_weight": "none"}).class_weight is None
    assert make_params("fnn_bn", {"batch_norm": "false"}).batch_norm is False
    with pytest.raises(MolprobeError, match="no parameter 'depth'"):
        make_params("snn", {"depth": 4})
    with pytest.raises(MolprobeError, match="must be int"):
        make_params("snn", {"n_layers": 2.5})


def test_layer_widths():
    assert layer_widths(3, 64, "rectangular") == [64, 64, 64]
    conic = layer_widths(4, 1024, "conic")
    assert conic[0] == 1024 and conic[-1] == 128 and conic == sorted(conic, reverse=True)
    with pytest.raises(MolprobeError):
        layer_widths(3, 64, "pyramid")


def test_snn_init_is_lecun_normal():
    torch.manual_seed(0)
    model = SNN(2048, 12, n_layers=2, width=512)
    w = model.blocks[0].linear.weight
    assert abs(w.std().item() - 1 / np.sqrt(2048)) < 0.05 / np.sqrt(2048)
    assert torch.all(model.blocks[0].linear.bias == 0)


def test_snn_self_normalises_through_32_layers_on_ecfp(ecfp200):
    """Klambauer et al. 2017: at init, SELU + LeCun-normal keeps every layer's activations
    near mean 0 / variance 1 on real fingerprints (inputs scaled on the data)."""
    torch.manual_seed(0)
    model = SNN(ecfp200.shape[1], 12, n_layers=32, width=512)
    model.input_norm.fit(ecfp200)
    model.eval()
    outs = _layer_outputs(model, torch.from_numpy(ecfp200.astype(np.float32)))
    assert len(outs) == 32
    for i, h in enumerate(outs):
        assert h.shape == (200, 512)
        assert abs(h.mean().item()) < 0.2, f"layer {i + 1} mean {h.mean().item():.3f}"
        assert 0.6 <= h.var().item() <= 1.5, f"layer {i + 1} variance {h.var().item():.3f}"


def test_input_scaling_keeps_bits_binary_and_gives_unit_mean_square():
    rng = np.random.default_rng(0)
    bits = (rng.random((500, 40)) < 0.05).astype(np.float32)
    bits[:, 0] = 0.0  # a bit never set: constant, maps to 0
    bits[0, 1], bits[1:, 1] = 1.0, 0.0  # a bit set once: must not become a huge value
    descriptors = rng.normal(50.0, 10.0, (500, 10)).astype(np.float32)
    x = np.hstack([bits, descriptors])
    norm = InputStandardizer(x.shape[1]).fit(x)
    z = norm(torch.from_numpy(x)).numpy()
    gain = 1.0 / norm.std[1].item()
    assert np.allclose(z[:, 1:40], bits[:, 1:40] * gain, atol=1e-5)  # 0/1 coding, one gain
    assert np.all(z[:, 0] == 0)
    assert np.allclose(z[:, 40:].mean(axis=0), 0, atol=1e-4)
    assert np.allclose(z[:, 40:].std(axis=0), gain, rtol=1e-3)  # standardized, same gain
    assert abs((z**2).mean(axis=0).sum() / x.shape[1] - 1.0) < 1e-3  # unit mean square
    assert z[0, 1] == pytest.approx(gain)  # not 1/sqrt(p(1-p)) ~ 22 as per-bit scaling gives


def test_input_scaling_keeps_counts_sparse_with_one_gain():
    """ECFP counts keep their integer coding (zeros stay zeros, so the sparse first layer
    reads only nonzeros); a count column set once does not become a huge value."""
    rng = np.random.default_rng(1)
    counts = rng.poisson(0.3, (400, 30)).astype(np.float32)
    counts[0, 0], counts[1:, 0] = 3.0, 0.0
    descriptors = rng.normal(-5.0, 2.0, (400, 5)).astype(np.float32)
    x = np.hstack([counts, descriptors])
    assert counts.max() > 1
    norm = InputStandardizer(x.shape[1]).fit(x)
    z = norm(torch.from_numpy(x)).numpy()
    gain = 1.0 / norm.std[0].item()
    assert np.all(norm.mean[:30].numpy() == 0)
    assert np.allclose(z[:, :30], counts * gain, atol=1e-5)  # raw counts, one common gain
    assert np.allclose(z[:, 30:].mean(axis=0), 0, atol=1e-4)  # descriptors standardized
    assert abs((z**2).mean(axis=0).sum() / x.shape[1] - 1.0) < 1e-3
    assert z[0, 0] == pytest.approx(3.0 * gain)
    assert 3.0 * gain < 5.0  # per-column scaling would give 3 / sqrt(9/400 - ...) ~ 20


def test_relu_net_without_batchnorm_drifts(ecfp200):
    """Contrast: the same depth with ReLU (He init, no BatchNorm) does not stay centred."""
    torch.manual_seed(0)
    model = FNN(ecfp200.shape[1], 12, n_layers=32, width=512, batch_norm=False)
    model.input_norm.fit(ecfp200)
    model.eval()
    outs = _layer_outputs(model, torch.from_numpy(ecfp200.astype(np.float32)))
    means = [h.mean().item() for h in outs]
    assert max(abs(m) for m in means) > 0.2


@pytest.mark.parametrize("name", ["snn", "fnn_bn"])
def test_vector_models_contract(name):
    torch.manual_seed(0)
    model = build_model(
        name, {"n_layers": 3, "width": 16, "shape": "conic"}, InputDims(n_features=20), 5
    )
    x = torch.randn(7, 20)
    model.eval()
    assert model(x).shape == (7, 5)
    outs = _layer_outputs(model, x)
    names = [n for n, _ in model.hidden_layers()]
    assert names == ["block1", "block2", "block3"]
    assert [o.shape[0] for o in outs] == [7, 7, 7]


@pytest.fixture(scope="module")
def graphs(tox21_path):
    from molprobe.chem.graphs import MolGraph

    smiles, _, _ = tox21_slice(20, str(tox21_path))
    return MolGraph()(smiles)


@pytest.mark.parametrize("name", ["gine", "attentivefp"])
def test_graph_models_contract(name, graphs):
    torch.manual_seed(0)
    dims = InputDims(atom_dim=graphs.n_atom_features, bond_dim=graphs.n_bond_features)
    model = build_model(name, {"n_layers": 2, "width": 16}, dims, 3)
    model.eval()
    batch = graphs.batch(torch.arange(6))
    assert model(batch).shape == (6, 3)
    outs = _layer_outputs(model, batch)
    names = [n for n, _ in model.hidden_layers()]
    assert names == ["mp1", "mp2", "pool"]
    n_atoms = batch.x.shape[0]
    assert outs[0].shape == (n_atoms, 16) and outs[1].shape == (n_atoms, 16)
    assert outs[2].shape == (6, 16)


def test_attentivefp_atom_attention_sums_to_one(graphs):
    torch.manual_seed(0)
    dims = InputDims(atom_dim=graphs.n_atom_features, bond_dim=graphs.n_bond_features)
    model = build_model("attentivefp", {"n_layers": 2, "width": 16}, dims, 2)
    batch = graphs.batch(torch.arange(5))
    att = model.atom_attention(batch)
    assert att.shape == (batch.x.shape[0],)
    assert torch.all(att >= 0)
    sums = torch.zeros(5).index_add_(0, batch.batch, att)
    assert torch.allclose(sums, torch.ones(5), atol=1e-5)


def test_lstm_is_registered_lazily():
    model = build_model(
        "lstm", {"hidden_dim": 8, "embed_dim": 4, "n_layers": 1}, InputDims(vocab_size=10), 2
    )
    ids = torch.tensor([[2, 3, 4, 0], [5, 6, 0, 0]])
    out = model({"ids": ids, "lengths": torch.tensor([3, 2])})
    assert out.shape == (2, 2)
