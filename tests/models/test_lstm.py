"""SmilesLSTM: shapes, per-layer hooks, independence from padding, embedding path."""

import pytest
import torch

from molprobe.errors import MolprobeError
from molprobe.models.lstm import SmilesLSTM


def _batch(seed: int = 0, n: int = 5, max_len: int = 12, vocab: int = 20):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, max_len + 1, (n,), generator=g)
    ids = torch.zeros(n, max_len, dtype=torch.int64)
    for i, n_tok in enumerate(lengths.tolist()):
        ids[i, :n_tok] = torch.randint(2, vocab, (n_tok,), generator=g)
    return {"ids": ids, "lengths": lengths}


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_shapes_and_hook_shapes(cell, bidirectional):
    torch.manual_seed(0)
    model = SmilesLSTM(
        20, 3, embed_dim=8, hidden_dim=16, n_layers=2, cell=cell, bidirectional=bidirectional
    ).eval()
    batch = _batch()
    seen = {}
    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o))
        for name, module in model.hidden_layers()
    ]
    logits = model(batch)
    for h in handles:
        h.remove()
    assert logits.shape == (5, 3)
    names = [name for name, _ in model.hidden_layers()]
    assert names == [f"{cell}1", f"{cell}2"]
    width = 16 * (2 if bidirectional else 1)
    for name in names:
        assert seen[name].shape == (5, width)
    # hidden layers own the recurrent weights, so a gradient monitor can see them
    assert all(sum(p.numel() for p in m.parameters()) > 0 for _, m in model.hidden_layers())


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_outputs(pooling, bidirectional):
    torch.manual_seed(1)
    model = SmilesLSTM(
        20, 2, embed_dim=8, hidden_dim=16, pooling=pooling, bidirectional=bidirectional
    ).eval()
    batch = _batch(seed=3)
    padded = {
        "ids": torch.cat([batch["ids"], torch.zeros(5, 9, dtype=torch.int64)], dim=1),
        "lengths": batch["lengths"],
    }
    a = model(batch)
    b = model(padded)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # each molecule alone gives the same result as in the batch
    single = model(
        {"ids": batch["ids"][:1, : batch["lengths"][0]], "lengths": batch["lengths"][:1]}
    )
    torch.testing.assert_close(single, a[:1], rtol=1e-5, atol=1e-6)


def test_embedding_path_matches_forward_and_has_gradients():
    torch.manual_seed(2)
    model = SmilesLSTM(20, 1, embed_dim=8, hidden_dim=16).eval()
    batch = _batch()
    emb = model.embed(batch["ids"]).detach().requires_grad_(True)
    out = model.forward_from_embeddings(emb, batch["lengths"])
    torch.testing.assert_close(out, model(batch))
    out.sum().backward()
    grad = emb.grad
    # no gradient on padded positions (packing ignores them), some on real tokens
    for i, n_tok in enumerate(batch["lengths"].tolist()):
        assert grad[i, n_tok:].abs().sum() == 0
        assert grad[i, :n_tok].abs().sum() > 0


def test_bare_tensor_input_and_bad_arguments():
    model = SmilesLSTM(20, 2, embed_dim=4, hidden_dim=8, n_layers=1).eval()
    batch = _batch()
    torch.testing.assert_close(model(batch["ids"]), model(batch))
    with pytest.raises(MolprobeError):
        SmilesLSTM(20, 2, cell="transformer")
    with pytest.raises(MolprobeError):
        model(torch.zeros(3, dtype=torch.int64))
