"""Randomized SMILES round trip, token <-> atom mapping, attribution and the credit pipeline."""

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from molprobe.chem.tokens import SmilesTokenizer
from molprobe.dynamics.lstm_credit import (
    CREDIT_COLUMNS,
    GROUPS,
    CreditConfig,
    atom_token_map,
    credit_summary,
    is_atom_token,
    randomized_smiles_with_order,
    run_lstm_credit,
    single_group_match,
    token_credit,
)
from molprobe.dynamics.through_time import SequenceTrainConfig
from molprobe.errors import MolprobeError
from molprobe.models.lstm import SmilesLSTM

MOLECULES = [
    "OC(=O)c1ccccc1[N+](=O)[O-]",
    "CC(C)(O)c1ccc(Cl)cc1Br",
    "O=C(O)C1CC2(CCN2)C1",  # spiro + rings
    "C[C@H](O)C(=O)O",  # stereo
    "c1ccc2c(c1)[nH]c1ccccc12",
]


def _symbol(token: str) -> str:
    """Element symbol written by an atom token: ``[nH]`` -> N, ``Cl`` -> Cl, ``c`` -> C."""
    body = token.strip("[]")
    sym = body[:2] if body[:2] in ("Cl", "Br") else body.lstrip("0123456789")[:1]
    return sym.capitalize()


@pytest.mark.parametrize("smiles", MOLECULES)
def test_randomized_smiles_round_trip_and_atom_order(smiles):
    mol = Chem.MolFromSmiles(smiles)
    canonical = Chem.MolToSmiles(mol)
    variants = randomized_smiles_with_order(mol, 8, seed=5)
    assert variants == randomized_smiles_with_order(mol, 8, seed=5)  # reproducible
    assert len({s for s, _ in variants}) > 1 or mol.GetNumAtoms() < 3
    tok = SmilesTokenizer()
    for s, order in variants:
        assert Chem.MolToSmiles(Chem.MolFromSmiles(s)) == canonical
        assert sorted(order) == list(range(mol.GetNumAtoms()))
        tokens = tok.tokenize(s)
        where = atom_token_map(tokens, order)
        for atom_idx, pos in where.items():
            assert _symbol(tokens[pos]) == mol.GetAtomWithIdx(atom_idx).GetSymbol()


def test_atom_token_map_on_a_known_string():
    # written order of "OC(=O)c1ccccc1[N+](=O)[O-]" with atom indices 0..11 is the identity
    mol = Chem.MolFromSmiles("OC(=O)c1ccccc1[N+](=O)[O-]")
    Chem.MolToSmiles(mol, canonical=False)
    tokens = SmilesTokenizer().tokenize("OC(=O)c1ccccc1[N+](=O)[O-]")
    where = atom_token_map(tokens, list(range(12)))
    assert [tokens[where[a]] for a in (9, 10, 11)] == ["[N+]", "O", "[O-]"]
    assert where[0] == 0 and where[2] == 4
    nitro = single_group_match(mol, Chem.MolFromSmarts(GROUPS["nitro"]))
    assert set(nitro) == {9, 10, 11}
    acid = single_group_match(mol, Chem.MolFromSmarts(GROUPS["carboxylic_acid"]))
    assert set(acid) == {0, 1, 2}
    assert single_group_match(mol, Chem.MolFromSmarts(GROUPS["hydroxyl"])) is None  # acid O only
    assert is_atom_token("Cl") and is_atom_token("[C@@H]") and not is_atom_token("%10")
    with pytest.raises(MolprobeError):
        atom_token_map(tokens, list(range(11)))


def test_integrated_gradients_are_complete():
    """IG credits sum to logit(x) - logit(zero embeddings) (Sundararajan et al. 2017)."""
    torch.manual_seed(0)
    model = SmilesLSTM(15, 2, embed_dim=6, hidden_dim=8, n_layers=1).eval()
    ids = torch.tensor([[2, 5, 6, 7, 8, 3, 0], [2, 9, 10, 3, 0, 0, 0]])
    lengths = torch.tensor([6, 4])
    credit, prob = token_credit(model, ids, lengths, task=1, steps=64)
    with torch.no_grad():
        full = model({"ids": ids, "lengths": lengths})[:, 1]
        zero = model.forward_from_embeddings(torch.zeros(2, 7, 6), lengths)[:, 1]
    torch.testing.assert_close(credit.sum(1), full - zero, rtol=2e-2, atol=2e-3)
    torch.testing.assert_close(prob, torch.sigmoid(full))
    assert (credit[1, 4:] == 0).all()  # padding gets no credit
    gxi, _ = token_credit(model, ids, lengths, task=1, method="gradient_x_input")
    assert gxi.shape == (2, 7)


def test_credit_summary_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    rows = []
    for mol in range(10):
        base = rng.uniform(0.05, 0.2)
        for k in range(8):
            pos = rng.uniform()
            rows.append(
                {
                    "arch": "rnn",
                    "augmented": False,
                    "seed": 0,
                    "molecule": str(mol),
                    "group": "nitro",
                    "position": pos,
                    "credit_share": base + 0.3 * pos,
                    "uniform_share": 0.1,
                    "prediction": 0.5 + 0.01 * k,
                }
            )
    s = credit_summary(pd.DataFrame(rows))
    row = s[s["group"] == "all"].iloc[0]
    assert row["within_slope"] == pytest.approx(0.3, rel=1e-6)
    assert row["within_r"] == pytest.approx(1.0, rel=1e-6)
    assert row["prediction_std"] == pytest.approx(np.std(0.01 * np.arange(8), ddof=1), rel=1e-6)


def test_pipeline_on_a_few_tox21_molecules(tox21_path):
    df = pd.read_csv(tox21_path, nrows=400)
    tasks = [c for c in df.columns if c != "smiles"]
    cfg = CreditConfig(
        task="NR-AhR",
        molecules_per_group=2,
        randomizations=3,
        n_train=150,
        augment_variants=2,
        through_time_molecules=16,
        seeds=(0,),
        ig_steps=2,
        train=SequenceTrainConfig(embed_dim=8, hidden_dim=8, steps=3, batch_size=16),
    )
    res = run_lstm_credit(
        df["smiles"].tolist(), df[tasks].to_numpy(), tasks, SmilesTokenizer(), cfg
    )
    c = res.credit
    assert list(c.columns) == CREDIT_COLUMNS
    assert set(c["arch"]) == {"lstm", "rnn"} and set(c["augmented"]) == {False, True}
    assert c["credit_share"].between(0, 1).all() and c["position"].between(0, 1).all()
    assert c["prediction"].between(0, 1).all()
    assert (c.groupby(["arch", "augmented", "molecule", "group"]).size() == 3).all()
    tt = res.through_time
    assert set(tt["arch"]) == {"rnn", "lstm", "gru"} and set(tt["step"]) == {0, 3}
    assert np.allclose(tt.loc[tt["distance"] == 0, "relative"], 1.0)
    assert set(res.summary["group"]) >= {"all"}
    with pytest.raises(MolprobeError):
        CreditConfig(groups=("sulfonamide",))
