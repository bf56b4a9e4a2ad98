"""SMILES tokenizer and randomized SMILES."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from molprobe.chem.featurize import make_featurizer
from molprobe.chem.tokens import SmilesTokenizer, randomized_smiles, tokenize
from molprobe.errors import MolprobeError

SMILES = [
    "Clc1ccc(Br)cc1",
    "c1cc[nH]c1",
    "C[C@@H](N)C(=O)O",
    "C1CC2CCC3CCC4CCC5CCC6CCC7CCC8CCC9CCC%10CCC1C2C3C4C5C6C7C8C9%10",
    "O=[N+]([O-])c1ccccc1",
    "C/C=C/C",
    "[Na+].[Cl-]",
]


def test_tokens_keep_multi_character_units():
    assert tokenize("Clc1ccc(Br)cc1") == [
        "Cl",
        "c",
        "1",
        "c",
        "c",
        "c",
        "(",
        "Br",
        ")",
        "c",
        "c",
        "1",
    ]
    assert "[nH]" in tokenize("c1cc[nH]c1")
    assert "[C@@H]" in tokenize("C[C@@H](N)C(=O)O")
    assert "%10" in tokenize(SMILES[3])
    assert tokenize("CC%(123)CC%(123)") == ["C", "C", "%(123)", "C", "C", "%(123)"]
    for s in SMILES:
        assert "".join(tokenize(s)) == s


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_tokenize_round_trip_any_string(s):
    assert "".join(tokenize(s)) == s


def test_fit_encode_decode_round_trip():
    tok = SmilesTokenizer().fit(SMILES)
    ids, lengths = tok.encode(SMILES)
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    assert ids.shape == (len(SMILES), tok.max_len)
    assert (ids[:, 0] == 2).all()  # begin token
    assert lengths.tolist() == [len(tokenize(s)) + 2 for s in SMILES]
    assert ((ids != 0).sum(1) == lengths).all()
    assert tok.decode(ids) == SMILES
    # unknown tokens map to 1
    ids2, _ = tok.encode(["[Se]C"])
    assert ids2[0, 1] == 1
    assert tok.decode(ids2) == ["?C"]
    # truncation keeps the end token
    short, short_len = tok.encode(["CCCCCCCCCC"], max_len=5)
    assert short.shape == (1, 5) and short[0, -1] == 3 and short_len[0] == 5


def test_spec_round_trip_through_registry():
    tok = SmilesTokenizer(max_len=40).fit(SMILES)
    again = make_featurizer(tok.spec)
    assert again.spec == tok.spec and again.vocab_size == tok.vocab_size
    np.testing.assert_array_equal(again(SMILES), tok(SMILES))
    assert again(SMILES).shape == (len(SMILES), 40)
    with pytest.raises(MolprobeError, match="fit"):
        SmilesTokenizer().encode(["CC"])


def test_randomized_smiles_round_trip_and_seed():
    for smi in SMILES[:6]:
        canon = Chem.MolToSmiles(Chem.MolFromSmiles(smi))
        rand = randomized_smiles(smi, 8, seed=3)
        assert len(rand) == 8
        for r in rand:
            assert Chem.MolToSmiles(Chem.MolFromSmiles(r)) == canon
    a = randomized_smiles("CC(=O)Nc1ccc(O)cc1", 10, seed=1)
    assert a == randomized_smiles("CC(=O)Nc1ccc(O)cc1", 10, seed=1)
    assert a != randomized_smiles("CC(=O)Nc1ccc(O)cc1", 10, seed=2)
    assert len(set(a)) > 1
    with pytest.raises(MolprobeError):
        randomized_smiles("C1CC", 2, seed=0)
