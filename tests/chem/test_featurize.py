"""Vector featurizers, registry, parallel map and the feature cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, Descriptors

from molprobe.chem.featurize import (
    ECFP,
    DescriptorScaler,
    RDKitDescriptors,
    featurize_parallel,
    load_features,
    make_featurizer,
    save_features,
    spec_difference,
)
from molprobe.errors import MolprobeError

SMILES = [
    "CC(=O)O",
    "c1ccccc1O",
    "CC(=O)Nc1ccc(O)cc1",
    "C[C@H](N)C(=O)O",
    "Clc1ccc(Br)cc1",
    "CN1CCC[C@H]1c1cccnc1",
    "O=C([O-])c1ccccc1",
    "C/C=C/C",
]


def _rdkit_bits(smiles: str, radius: int, n_bits: int, chirality: bool = False) -> np.ndarray:
    """Reference: RDKit's classic Morgan bit vector converted bit by bit."""
    mol = Chem.MolFromSmiles(smiles)
    fp = AllChem.GetMorganFingerprintAsBitVect(mol, radius, nBits=n_bits, useChirality=chirality)
    arr = np.zeros(n_bits, dtype=np.uint8)
    DataStructs.ConvertToNumpyArray(fp, arr)
    return arr


@pytest.mark.parametrize("radius,n_bits", [(2, 2048), (3, 1024), (1, 512)])
def test_ecfp_matches_rdkit(radius, n_bits):
    X = ECFP(radius=radius, n_bits=n_bits)(SMILES)
    assert X.shape == (len(SMILES), n_bits) and X.dtype == np.uint8
    for i, smi in enumerate(SMILES):
        np.testing.assert_array_equal(X[i], _rdkit_bits(smi, radius, n_bits))
    assert X.sum(1).min() > 0


def test_ecfp_counts_and_chirality():
    counts = ECFP(counts=True)(["CCCCCCCCCC"])
    bits = ECFP()(["CCCCCCCCCC"])
    assert counts.max() > 1  # repeated CH2 environments
    np.testing.assert_array_equal(counts > 0, bits > 0)
    plain = ECFP()(["C[C@H](N)O", "C[C@@H](N)O"])
    chiral = ECFP(chirality=True)(["C[C@H](N)O", "C[C@@H](N)O"])
    np.testing.assert_array_equal(plain[0], plain[1])
    assert (chiral[0] != chiral[1]).any()


def test_unparsable_smiles_is_named():
    with pytest.raises(MolprobeError, match="C1CC"):
        ECFP()(["CCO", "C1CC"])


def test_descriptors_names_and_nan_handling():
    fz = RDKitDescriptors()
    assert fz.spec["names"] == [n for n, _ in Descriptors._descList]
    X = fz(["CCO", "c1ccccc1"])
    assert X.shape == (2, fz.n_features) and X.dtype == np.float32
    i = fz.names.index("MolWt")
    assert X[0, i] == pytest.approx(46.069, abs=1e-2)
    # an absurd magnitude (Ipc of a long chain is ~1e41) becomes NaN, not inf in float32
    sub = RDKitDescriptors(names=["MolWt", "Ipc"])
    big_smiles = "C" * 60 + "c1ccc(cc1)" + "C(C)(C)" * 20
    assert Descriptors.Ipc(Chem.MolFromSmiles(big_smiles)) > 1e10
    big = sub([big_smiles, "CCO"])
    assert np.isfinite(big[0, 0]) and np.isnan(big[0, 1]) and np.isfinite(big[1, 1])
    with pytest.raises(MolprobeError, match="NoSuchDescriptor"):
        RDKitDescriptors(names=["MolWt", "NoSuchDescriptor"])


def test_scaler_uses_train_statistics_only():
    train = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, 2.0], [np.nan, 5.0, 4.0], [5.0, 5.0, np.inf]])
    scaler = DescriptorScaler().fit(train)
    np.testing.assert_allclose(scaler.median_, [3.0, 5.0, 3.0])
    assert scaler.std_[1] == 1.0  # constant column
    test = np.array([[3.0, 7.0, np.nan], [1e6, 5.0, 3.0]])
    Z = scaler.transform(test)
    assert Z.dtype == np.float32 and np.isfinite(Z).all()
    # column 0 after imputation: [1, 3, 3, 5] -> mean 3, std sqrt(2)
    assert Z[0, 0] == pytest.approx(0.0)
    assert Z[1, 0] == pytest.approx(10.0)  # clipped
    assert Z[0, 1] == pytest.approx(2.0)  # (7 - 5) / 1
    # the test row's NaN takes the *train* median, not a statistic of the test rows
    assert Z[0, 2] == pytest.approx(Z[1, 2])
    # fitting on train+test would change the statistics
    other = DescriptorScaler().fit(np.vstack([train, test]))
    assert not np.allclose(other.mean_, scaler.mean_)
    again = DescriptorScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(again.transform(test), Z)


def test_registry_round_trip():
    for spec in [ECFP(radius=3, n_bits=512, counts=True).spec, {"name": "descriptors"}]:
        fz = make_featurizer(spec)
        assert make_featurizer(fz.spec).spec == fz.spec
        json.dumps(fz.spec)
    assert make_featurizer("graph").spec["name"] == "graph"
    assert make_featurizer({"name": "tokens"}).spec["name"] == "tokens"
    with pytest.raises(MolprobeError, match="unknown featurizer"):
        make_featurizer({"name": "maccs"})
    with pytest.raises(MolprobeError, match="bad parameters"):
        make_featurizer({"name": "ecfp", "bits": 12})


def test_parallel_matches_serial_in_order():
    smiles = SMILES * 5
    fz = ECFP(n_bits=256)
    par = featurize_parallel(fz, smiles, n_jobs=2, chunk_size=7)
    np.testing.assert_array_equal(par, fz(smiles))
    g = make_featurizer("graph")
    store = featurize_parallel(g, smiles, n_jobs=2, chunk_size=9)
    ref = g(smiles)
    assert len(store) == len(smiles)
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert getattr(store, name).equal(getattr(ref, name)), name


def test_cache_round_trip_and_spec_refusal(tmp_path):
    fz = ECFP(n_bits=128)
    X = fz(SMILES)
    path = tmp_path / "ecfp.npz"
    save_features(path, X, fz.spec)
    Y, spec = load_features(path, expected_spec=fz.spec)
    np.testing.assert_array_equal(X, Y)
    assert spec == fz.spec
    with pytest.raises(MolprobeError, match="'radius' is 2, expected 3"):
        load_features(path, expected_spec=ECFP(radius=3, n_bits=128).spec)
    with pytest.raises(MolprobeError, match="'name'"):
        load_features(path, expected_spec={"name": "descriptors"})

    g = make_featurizer("graph")
    gpath = tmp_path / "graphs.pt"
    save_features(gpath, g(SMILES), g.spec)
    store, gspec = load_features(gpath, expected_spec=g.spec)
    assert len(store) == len(SMILES) and gspec == g.spec
    with pytest.raises(MolprobeError, match="featurizer mismatch"):
        load_features(gpath, expected_spec=fz.spec)


def test_spec_difference_lists():
    a = {"name": "descriptors", "names": ["A", "B", "C"]}
    assert spec_difference(a, a) is None
    diff = spec_difference(a, {"name": "descriptors", "names": ["A", "B", "D"]})
    assert "'names'" in diff and "'C'" in diff and "'D'" in diff


def test_cli_featurize(tmp_path, capsys):
    import pandas as pd

    from molprobe.cli import main

    table = tmp_path / "molecules.parquet"
    pd.DataFrame({"mol_id": [f"m{i}" for i in range(len(SMILES))], "smiles": SMILES}).to_parquet(
        table
    )
    out = tmp_path / "features" / "ecfp.npz"
    rc = main(
        ["featurize", str(table), "-f", "ecfp", "-p", "radius=3", "-p", "n_bits=256"]
        + ["--output", str(out), "--workers", "2", "--chunk-size", "3"]
    )
    assert rc == 0 and "molecules/s" in capsys.readouterr().out
    X, spec = load_features(out, expected_spec=ECFP(radius=3, n_bits=256).spec)
    np.testing.assert_array_equal(X, ECFP(radius=3, n_bits=256)(SMILES))
    assert [p.name for p in out.parent.iterdir()] == ["ecfp.npz"]  # no temp files left

    tok_out = tmp_path / "features" / "tokens.npz"
    assert main(["featurize", str(table), "-f", "tokens", "-o", str(tok_out)]) == 0
    ids, spec = load_features(tok_out)
    assert ids.shape[0] == len(SMILES) and spec["vocab"] and spec["max_len"] == ids.shape[1]

    assert main(["featurize", str(table), "-f", "ecfp", "-p", "bits=3", "-o", str(out)]) == 2
    pd.DataFrame({"smiles": ["CCO", None]}).to_parquet(tmp_path / "bad.parquet")
    assert main(["featurize", str(tmp_path / "bad.parquet"), "-f", "ecfp", "-o", str(out)]) == 2
    assert "row 1" in capsys.readouterr().err


def test_descriptors_share_estate_indices_without_changing_values():
    """The E-state extremes read the indices computed once per molecule: every value equals
    RDKit's own function, and a molecule carrying another molecule's cache is recomputed."""
    from rdkit.Chem import Descriptors

    fz = RDKitDescriptors()
    plain = dict(Descriptors._descList)
    names = ["MaxEStateIndex", "MinEStateIndex", "MaxAbsEStateIndex", "MinAbsEStateIndex",
             "VSA_EState3", "EState_VSA5", "MolWt"]  # fmt: skip
    cols = [fz.names.index(n) for n in names]
    for smi in ("CC(=O)Oc1ccccc1C(=O)O", "Clc1ccc(Cl)cc1", "CCN(CC)CCOC(=O)c1ccc(N)cc1"):
        got = fz.mol_features(Chem.MolFromSmiles(smi))[cols]
        want = [float(plain[n](Chem.MolFromSmiles(smi))) for n in names]
        np.testing.assert_array_equal(got, want)
    mol = Chem.MolFromSmiles("CCO")
    mol._eStateIndices = np.array([99.0, 99.0, 99.0])  # stale cache from elsewhere
    assert fz.mol_features(mol)[fz.names.index("MaxEStateIndex")] < 99.0


def test_vsa_bins_from_one_call_equal_rdkit_per_bin_functions(tox21_path):
    """PEOE/SMR/SlogP VSA bins come from one rdMolDescriptors call per molecule: each equals
    RDKit's own per-bin function on 40 Tox21 molecules (a wrong bin index would not)."""
    import pandas as pd

    frame = pd.read_csv(tox21_path, nrows=60)
    mols = [m for m in map(Chem.MolFromSmiles, frame["smiles"]) if m is not None][:40]
    plain = dict(Descriptors._descList)
    names = [n for n in plain if n.startswith(("PEOE_VSA", "SMR_VSA", "SlogP_VSA"))]
    assert len(names) == 36
    fz = RDKitDescriptors(names[::-1])  # any order: columns follow the names
    got = np.array([fz.mol_features(Chem.Mol(m)) for m in mols])
    want = np.array([[float(plain[n](Chem.Mol(m))) for n in fz.names] for m in mols])
    np.testing.assert_array_equal(got, want)
    assert (got != 0).sum() > 200  # the bins are not all empty


def test_descriptors_fast_is_a_descriptor_subset_rebuilt_from_its_spec():
    from molprobe.chem.featurize import FAST_DESCRIPTORS

    fast = make_featurizer("descriptors_fast")
    assert fast.spec == {"name": "descriptors", "names": list(FAST_DESCRIPTORS)}
    assert len(set(FAST_DESCRIPTORS)) == len(FAST_DESCRIPTORS) == fast.n_features == 45
    full = RDKitDescriptors()
    assert set(FAST_DESCRIPTORS) < set(full.names)
    for slow in ("qed", "MolLogP", "BCUT2D_MWHI", "BertzCT", "Ipc", "MaxEStateIndex"):
        assert slow not in FAST_DESCRIPTORS
    rebuilt = make_featurizer(json.loads(json.dumps(fast.spec)))  # as a checkpoint does
    assert type(rebuilt) is RDKitDescriptors and spec_difference(fast.spec, rebuilt.spec) is None
    X = fast(SMILES)
    np.testing.assert_array_equal(X, rebuilt(SMILES))
    cols = [full.names.index(n) for n in FAST_DESCRIPTORS]
    np.testing.assert_array_equal(X, full(SMILES)[:, cols])
