"""Forward-hook collection on an MLP and a small PyG GNN; random-init copies."""

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GINConv, global_add_pool

from molprobe.probing.activations import collect_activations, pool_nodes, random_copy


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(10)
        self.l1 = nn.Sequential(nn.Linear(10, 8), nn.ReLU())
        self.l2 = nn.Sequential(nn.Linear(8, 6), nn.ReLU())
        self.head = nn.Linear(6, 2)
        self.register_buffer("scale", torch.ones(10))

    def forward(self, x):
        return self.head(self.l2(self.l1(self.norm(x * self.scale))))

    def hidden_layers(self):
        return [("block1", self.l1), ("block2", self.l2)]


class Pool(nn.Module):
    def forward(self, x, batch, size):
        return global_add_pool(x, batch, size=size)


class TinyGNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.steps = nn.ModuleList([GINConv(nn.Linear(4, 5)), GINConv(nn.Linear(5, 5))])
        self.pool = Pool()
        self.head = nn.Linear(5, 1)

    def forward(self, b):
        x = b.x
        for s in self.steps:
            x = torch.relu(s(x, b.edge_index))
        return self.head(self.pool(x, b.batch, b.num_graphs))

    def hidden_layers(self):
        return [("mp1", self.steps[0]), ("mp2", self.steps[1]), ("pool", self.pool)]


def _chain(n):
    src = torch.arange(n - 1)
    ei = torch.stack([torch.cat([src, src + 1]), torch.cat([src + 1, src])])
    return Data(x=torch.randn(n, 4), edge_index=ei)


def test_mlp_shapes():
    torch.manual_seed(0)
    model = MLP()
    batches = [torch.randn(7, 10), torch.randn(5, 10)]
    acts = collect_activations(model, batches, device="cpu")
    assert list(acts) == ["input", "block1", "block2"]
    assert acts["input"].shape == (12, 10)
    assert acts["block1"].shape == (12, 8) and acts["block2"].shape == (12, 6)
    assert acts.node_layers == frozenset() and acts.atom_ptr is None
    assert model.training  # mode restored
    expected = model.eval()(batches[0])
    assert expected.shape == (7, 2)


def test_gnn_node_and_pooled_shapes():
    torch.manual_seed(0)
    sizes = [[3, 5, 2], [4, 6]]
    batches = [Batch.from_data_list([_chain(n) for n in s]) for s in sizes]
    acts = collect_activations(TinyGNN(), batches, device="cpu")
    n_atoms = sum(map(sum, sizes))
    assert acts["input"].shape == (n_atoms, 4)
    assert acts["mp1"].shape == (n_atoms, 5) and acts["mp2"].shape == (n_atoms, 5)
    assert acts["pool"].shape == (5, 5)
    assert acts.node_layers == {"input", "mp1", "mp2"}
    assert acts.atom_ptr.tolist() == [0, 3, 8, 10, 14, 20]
    mol = acts.molecule_level("sum")
    assert all(v.shape[0] == 5 for v in mol.values())
    # the pooled hook equals the sum of the last node embeddings (relu applied after the hook)
    np.testing.assert_allclose(
        pool_nodes(np.maximum(acts["mp2"], 0), acts.atom_ptr), acts["pool"], rtol=1e-5, atol=1e-5
    )


def test_random_copy_reinitialises_and_keeps_data_buffers():
    torch.manual_seed(0)
    trained = MLP()
    with torch.no_grad():
        trained.scale.fill_(3.0)
        trained.l1[0].weight.fill_(0.5)
    batches = [torch.randn(32, 10) * 4 + 2 for _ in range(3)]
    rnd = random_copy(trained, seed=1, build=MLP, calibration_batches=batches, device="cpu")
    assert torch.equal(rnd.scale, trained.scale)  # data statistics copied
    assert not torch.equal(rnd.l1[0].weight, trained.l1[0].weight)
    x = torch.cat(batches) * rnd.scale
    assert torch.allclose(rnd.norm.running_mean, x.mean(0), atol=1e-4)  # BN re-estimated
    other = random_copy(trained, seed=2)  # no builder: reset_parameters
    assert not torch.equal(other.l1[0].weight, rnd.l1[0].weight)
