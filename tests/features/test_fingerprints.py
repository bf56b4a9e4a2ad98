"""Count fingerprints (molprobe.chem.fingerprints) against RDKit's generators directly."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from molprobe.chem.featurize import (
    featurize_parallel,
    load_features,
    make_featurizer,
    save_features,
)
from molprobe.chem.fingerprints import CountFingerprint, ECFPCounts
from molprobe.errors import MolprobeError

SMILES = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "C" * 300,  # more than 255 of some pairs and torsions
    "O=[N+]([O-])c1ccc(Cl)cc1",
]


@pytest.mark.parametrize(
    ("kind", "factory"),
    [
        ("atompair", rdFingerprintGenerator.GetAtomPairGenerator),
        ("torsion", rdFingerprintGenerator.GetTopologicalTorsionGenerator),
    ],
)
def test_count_fingerprint_equals_rdkit(kind, factory):
    fz = CountFingerprint(kind=kind, n_bits=1024)
    X = fz(SMILES)
    assert X.shape == (len(SMILES), 1024) and X.dtype == np.uint8
    gen = factory(fpSize=1024)
    for row, smi in zip(X, SMILES, strict=True):
        expected = gen.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(smi))
        assert np.array_equal(row, np.minimum(expected, 255))
    assert X.max() > 1  # counts, not bits
    # the long chain has more than 255 of some pairs / torsions: capped, not wrapped
    long_chain = gen.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(SMILES[4]))
    assert long_chain.max() > 255 and X[4].max() == 255


def test_ecfp_counts_equals_rdkit_and_rebuilds_as_ecfp(tmp_path):
    fz = make_featurizer("ecfp_counts")
    assert isinstance(fz, ECFPCounts)
    assert fz.spec == {
        "name": "ecfp",
        "radius": 2,
        "n_bits": 2048,
        "counts": True,
        "chirality": False,
    }
    X = fz(SMILES)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    for row, smi in zip(X, SMILES, strict=True):
        expected = gen.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(smi))
        assert np.array_equal(row, np.minimum(expected, 255))
    rebuilt = make_featurizer(fz.spec)  # what a checkpoint / screening does
    assert np.array_equal(rebuilt(SMILES), X)
    path = tmp_path / "ecfp_counts.npz"
    save_features(path, X, fz.spec)
    loaded, spec = load_features(path, expected_spec=fz.spec)
    assert np.array_equal(loaded, X) and spec == fz.spec


def test_count_fingerprint_spec_roundtrip_parallel_and_errors():
    fz = make_featurizer({"name": "fp_counts", "kind": "torsion", "n_bits": 512})
    assert fz.spec == {"name": "fp_counts", "kind": "torsion", "n_bits": 512}
    serial = fz(SMILES * 3)
    assert np.array_equal(featurize_parallel(fz, SMILES * 3, n_jobs=2, chunk_size=4), serial)
    with pytest.raises(MolprobeError, match="kind"):
        CountFingerprint(kind="maccs")
    with pytest.raises(MolprobeError, match="cannot parse"):
        fz(["C1CC"])
