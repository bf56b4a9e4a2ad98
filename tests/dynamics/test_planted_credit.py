"""Planted credit: S-token masks, the balanced planted task, and a run that learns it."""

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from molprobe.chem.tokens import SmilesTokenizer, tokenize
from molprobe.dynamics.lstm_credit import randomized_smiles_with_order
from molprobe.dynamics.planted_credit import (
    PLANTED_GROUPS,
    PlantedCreditConfig,
    credit_hypothesis_test,
    planted_molecules,
    run_planted_credit,
    s_token_mask,
    token_attributions,
)
from molprobe.dynamics.sequence_models import build_sequence_model
from molprobe.errors import MolprobeError


def _mask_string(smiles: str, order, s_atoms) -> str:
    tokens = tokenize(smiles)
    mask = s_token_mask(tokens, order, set(s_atoms))
    return "".join(t for t, m in zip(tokens, mask, strict=True) if m)


def test_s_tokens_include_brackets_bonds_and_parentheses():
    mol = Chem.MolFromSmiles("Cc1ccc([N+](=O)[O-])cc1")
    s_atoms = mol.GetSubstructMatch(Chem.MolFromSmarts(PLANTED_GROUPS["nitro"]))
    seen = set()
    for smi, order in randomized_smiles_with_order(mol, 30, seed=0):
        s = _mask_string(smi, order, s_atoms)
        # every writing of S contains its 3 atoms; nothing of the ring
        assert sorted(t for t in tokenize(s) if t.startswith("[") or t == "O") == sorted(
            ["[N+]", "O", "[O-]"]
        ), (smi, s)
        assert "c" not in s and "1" not in s
        seen.add(s)
    assert "[N+](=O)[O-]" in seen and len(seen) > 1  # S is written in several ways
    # ring digits between two S atoms belong to S
    ring = Chem.MolFromSmiles("C1CC1CCO")
    assert _mask_string("C1CC1CCO", list(range(6)), {0, 1, 2}) == "C1CC1"
    assert ring.GetNumAtoms() == 6


def test_planted_task_is_balanced_and_exact(tox21_path):
    smiles = pd.read_csv(tox21_path)["smiles"].tolist()
    mols, y, s_atoms, rows = planted_molecules(smiles, "nitro", max_positives=50, seed=0)
    assert y.sum() == 50 and len(y) == 100
    pattern = Chem.MolFromSmarts(PLANTED_GROUPS["nitro"])
    for mol, label, s in zip(mols, y, s_atoms, strict=True):
        n = len(mol.GetSubstructMatches(pattern))
        assert n == (1 if label else 0) and (len(s) == 3) == bool(label)
    assert len(set(rows)) == 100
    with pytest.raises(MolprobeError):
        PlantedCreditConfig(group="sulfur")


def test_integrated_gradients_are_complete_at_init():
    smis = ["CCOc1ccc([N+](=O)[O-])cc1", "CCCCCCC(=O)O"]
    tok = SmilesTokenizer().fit(smis)
    ids, lengths = (torch.as_tensor(a) for a in tok.encode(smis))
    for arch in ("rnn", "lstm", "gru", "transformer"):
        model = build_sequence_model(arch, tok.vocab_size, 1, seed=0)
        attr, logit, delta = token_attributions(model, ids, lengths, n_steps=32)
        assert attr.shape == ids.shape and (delta < 0.05).all(), (arch, delta)
        assert (attr[:, 0] == 0).all()  # the begin token is in the baseline too


@pytest.mark.slow
def test_planted_credit_run_learns_its_task(tox21_path):
    torch.set_num_threads(1)
    smiles = pd.read_csv(tox21_path)["smiles"].tolist()
    config = PlantedCreditConfig(
        archs=("lstm",),
        seeds=(0,),
        max_positives=40,
        randomizations=3,
        augment_variants=5,
        steps=120,  # learns on seeds 0-2 (held-out AUC 0.97-0.99, ablation share 2.8-3.9x uniform)
        ig_steps=16,
    )
    res = run_planted_credit(smiles, config)
    assert res.models.loc[0, "roc_auc"] >= 0.95  # held-out folds
    c = res.credit
    assert c["molecule"].nunique() >= 35 and (c["n_s_tokens"] >= 3).all()
    assert c["credit_share"].between(0, 1).all() and c["ablation_share"].between(0, 1).all()
    # S carries more than its token share of the credit: the planted signal is found
    assert c["ablation_share"].mean() > 1.5 * c["uniform_share"].mean()
    s = res.summary
    assert bool(s.loc[0, "learned"]) and isinstance(s.loc[0, "verdict"], str)


def test_hypothesis_test_needs_learned_models():
    models = pd.DataFrame(
        {
            "arch": ["rnn"] * 3 + ["lstm"] * 3,
            "seed": [0, 1, 2] * 2,
            "roc_auc": [0.99, 0.98, 0.97, 0.99, 0.99, 0.90],
            "n_molecules": 100,
            "mean_uniform_share": 0.2,
            "completeness_error_median": 0.01,
            "complete_fraction": 1.0,
            "within_slope": [0.30, 0.35, 0.32, 0.0, 0.1, -0.1],
            "early_late_ratio": [0.4, 0.5, 0.45, 1.0, 1.1, 0.9],
            "ablation_within_slope": [0.30, 0.35, 0.32, 0.0, 0.1, -0.1],
            "ablation_early_late_ratio": [0.4, 0.5, 0.45, 1.0, 1.1, 0.9],
        }
    )
    s = credit_hypothesis_test(models).set_index("arch")
    assert s.loc["rnn", "verdict"].startswith("uniform credit rejected")
    assert s.loc["lstm", "verdict"].startswith("no conclusion")
    assert np.isclose(s.loc["rnn", "early_late_ratio"], np.exp(np.log([0.4, 0.5, 0.45]).mean()))
