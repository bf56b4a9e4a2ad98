"""Screening short cuts give exactly the values of the long way (real RDKit, real molecules)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs

from molprobe.chem.featurize import FastDescriptors, RDKitDescriptors
from molprobe.chem.io import read_molecules
from molprobe.chem.standardize import StandardizeRecipe, standardize_frame
from molprobe.screening.domain import (
    CACHE_ENV,
    DomainModel,
    default_cache_dir,
    fingerprints,
)
from molprobe.screening.pipeline import alert_names, canonical_mols


@pytest.fixture(scope="module")
def standardized(tox21_path):
    """Tox21's first 800 rows, standardized as screening does (molecules kept)."""
    chunk = next(iter(read_molecules(tox21_path, chunk_size=800)))
    kept, _ = standardize_frame(chunk, StandardizeRecipe(), keep_mols=True)
    mols = kept.pop("mol").tolist()
    return kept["input_smiles"].tolist(), kept["smiles"].tolist(), mols


def test_descriptors_read_from_canonical_molecules_are_identical(standardized):
    inputs, std, mols = standardized
    fingerprints(mols), alert_names(mols)  # what the pipeline does to them first
    canonical = canonical_mols(mols, inputs, std)
    n_reused = sum(m is not None for m in canonical)
    assert 0.5 * len(std) < n_reused < len(std)  # both paths are exercised
    fast = FastDescriptors()
    assert np.array_equal(fast(std, canonical), fast(std), equal_nan=True)
    full = RDKitDescriptors()
    got = full(std[:150], canonical[:150])
    assert np.array_equal(got, full(std[:150]), equal_nan=True)


def randomized(smiles: list[str]) -> list[str]:
    """One random atom order of each SMILES (RDKit, a seed per row)."""
    return [Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(s), 1, randomSeed=i)[0]
            for i, s in enumerate(smiles)]  # fmt: skip


def test_fast_descriptors_read_the_standardizers_molecule_in_any_atom_order(standardized):
    """The fast set on the standardizer's molecule of a randomized SMILES (its atom order)
    equals the canonical parse's values to float rounding; the full set does not (so
    screening parses the canonical SMILES for it)."""
    _, std, _ = standardized
    spelled = randomized(std)
    chunk = pd.DataFrame({"row": range(len(spelled)), "input": spelled})
    kept, _ = standardize_frame(chunk, StandardizeRecipe(), keep_mols=True)
    assert kept["smiles"].tolist() == std  # the same molecules ...
    mols = kept["mol"].tolist()
    moved = [Chem.MolToSmiles(m, canonical=False) != s for m, s in zip(mols, std, strict=True)]
    assert sum(moved) > 0.8 * len(std)  # ... in other atom orders (edited ones were re-parsed)
    fingerprints(mols), alert_names(mols)  # what the pipeline does to them first
    fast = FastDescriptors()
    assert fast.atom_order_free
    got, canonical = fast(std, mols), fast(std)
    np.testing.assert_allclose(got, canonical, rtol=0, atol=1e-12)
    same_row = ((got == canonical) | (np.isnan(got) & np.isnan(canonical))).all(axis=1)
    assert same_row.mean() > 0.99
    # negative control: a descriptor of the full set that depends on the atom order
    full = RDKitDescriptors()
    assert not full.atom_order_free
    avg_ipc = RDKitDescriptors(["AvgIpc"])
    assert not avg_ipc.atom_order_free
    one = [CAROTENOID_ESTER]
    other = [Chem.MolFromSmiles(CAROTENOID_ESTER_SPELLED)]
    assert abs(avg_ipc(one, other)[0, 0] - avg_ipc(one)[0, 0]) > 1e-5


#: a 76-atom Tox21 molecule whose AvgIpc differs by 4.8e-5 between two spellings (float32)
CAROTENOID_ESTER = (
    "CCCCCCCCCCCCCCCC(=O)O[C@@H]1CC(C)=C(/C=C/C(C)=C/C=C/C(C)=C/C=C\\C=C(C)\\C=C\\C=C(C)"
    "\\C=C\\C2=C(C)C[C@@H](OC(=O)CCCCCCCCCCCCCCC)CC2(C)C)C(C)(C)C1"
)
CAROTENOID_ESTER_SPELLED = (
    "C(CCCCCCCCCCCCC)CC(=O)O[C@H]1CC(C)(C(=C(C1)C)/C=C/C(=C/C=C/C(C)=C/C=C\\C=C(\\C=C\\C=C(C)"
    "\\C=C\\C1=C(C)C[C@H](CC1(C)C)OC(=O)CCCCCCCCCCCCCCC)C)C)C"
)


def test_canonical_mols_only_where_the_input_is_the_canonical_smiles():
    mols = [Chem.MolFromSmiles(s) for s in ("OCC", "CCO")]
    got = canonical_mols(mols, ["OCC", " CCO "], ["CCO", "CCO"])
    assert got[0] is None and got[1] is mols[1]


def rdkit_max_similarity(reference: list[str], queries: list[str]) -> np.ndarray:
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    ref = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in reference]
    return np.array(
        [max(DataStructs.BulkTanimotoSimilarity(gen.GetFingerprint(Chem.MolFromSmiles(q)), ref))
         for q in queries]
    )  # fmt: skip


def test_domain_cache_gives_the_same_reference_and_is_read_back(tmp_path, standardized):
    _, std, mols = standardized
    reference, queries = std[:300] + ["not a smiles"], mols[300:400]
    plain = DomainModel().fit(reference)
    cached = DomainModel().fit(reference, cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("domain-*.npy")
    again = DomainModel().fit(reference, cache_dir=tmp_path)
    for model in (cached, again):
        assert np.array_equal(model.reference_bits_, plain.reference_bits_)
        assert np.array_equal(model.reference_counts_, plain.reference_counts_)
    sim = again.similarity(queries)
    expected = rdkit_max_similarity(std[:300], std[300:400])
    np.testing.assert_allclose(sim, expected, rtol=1e-6)
    # the file is what a later process reads: overwrite it with an empty-fingerprint reference
    np.save(cache_file, np.zeros((5, 256), np.uint8))
    assert np.all(DomainModel().fit(reference, cache_dir=tmp_path).similarity(queries) == 0)
    # another reference set has its own file; an unreadable file is recomputed
    DomainModel().fit(std[:200], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("domain-*.npy"))) == 2
    cache_file.write_bytes(b"garbage")
    redone = DomainModel().fit(reference, cache_dir=tmp_path)
    assert np.array_equal(redone.reference_bits_, plain.reference_bits_)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.setenv(CACHE_ENV, "")
    assert default_cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "molprobe"


def test_domain_similarity_is_exactly_rdkits_max_tanimoto(standardized):
    """The float32 quotient of the bit-major sums equals RDKit's float64 Tanimoto rounded to
    float32, bit for bit (not only to a tolerance), and the bit-major reference unpacked
    from the bytes is the transposed fingerprint matrix."""
    _, std, mols = standardized
    model = DomainModel().fit(std[:500])
    assert np.array_equal(model.reference_bits_, fingerprints(mols[:500]).T)
    assert np.array_equal(model.reference_counts_, fingerprints(mols[:500]).sum(axis=1))
    sim = model.similarity(mols[500:])
    expected = rdkit_max_similarity(std[:500], std[500:]).astype(np.float32)
    assert len(sim) >= 250 and len(np.unique(sim)) > 100
    assert np.array_equal(sim, expected)


def _scored_table_before(kept, preds, similarity, alerts, ensemble, rank_by):
    """scored_table as it was (commit 6c04750): one column insertion at a time."""
    import pandas as pd

    from molprobe.screening.screen import ranking_score

    mean, spread = preds.mean(axis=0), preds.std(axis=0)
    out = pd.DataFrame({"row": kept["row"].astype("int64")})
    if "id" in kept:
        out["id"] = kept["id"].astype("string")
    out["smiles"] = kept["input_smiles"].astype("string")
    out["std_smiles"] = kept["smiles"].astype("string")
    for j, task in enumerate(ensemble.tasks):
        out[task] = mean[:, j]
    for j, task in enumerate(ensemble.tasks):
        out[f"{task}_std"] = spread[:, j]
    out["score"] = ranking_score(mean, ensemble.tasks, rank_by)
    out["ad_similarity"] = similarity
    out["in_domain"] = ensemble.domain.in_domain(similarity)
    out["alerts"] = pd.Series(list(alerts), dtype="string", index=out.index)
    return out.reset_index(drop=True)


@pytest.mark.parametrize("with_id", [True, False])
def test_scored_table_and_top_rows_equal_the_pandas_way(standardized, with_id):
    """The output table built from one dict equals the column-by-column one (values,
    dtypes, order, index); `largest` picks exactly nlargest's rows, ties and NaN included."""
    from types import SimpleNamespace

    import pandas as pd

    from molprobe.screening.screen import largest, scored_table

    inputs, std, mols = standardized
    n = len(std)
    rng = np.random.default_rng(0)
    kept = pd.DataFrame({"row": np.arange(5, 5 + n), "input_smiles": inputs, "smiles": std},
                        index=np.arange(100, 100 + n))  # fmt: skip
    if with_id:
        kept["id"] = [f"m{i}" if i % 7 else None for i in range(n)]
    preds = rng.random((3, n, 4)).astype(np.float32).round(1)  # many tied scores
    preds[:, 3] = np.nan
    ensemble = SimpleNamespace(tasks=["A", "B", "C", "score_like"], domain=DomainModel())
    similarity = rng.random(n).astype(np.float32)
    alerts = alert_names(mols)
    for rank_by in (None, "B"):
        got = scored_table(kept, preds, similarity, alerts, ensemble, rank_by)
        want = _scored_table_before(kept, preds, similarity, alerts, ensemble, rank_by)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert got["score"].isna().sum() == 1 and got["score"].duplicated().sum() > n / 2
        twice = pd.concat([got, got.iloc[::-1]])  # repeated index labels, as gather has
        mostly_nan = got.assign(score=got["score"].where(got.index % 5 == 0))
        for frame in (got, twice, mostly_nan):
            for top in (1, 10, 100, n // 2, n - 1, n, 10 * n):
                pd.testing.assert_frame_equal(
                    largest(frame, top), frame.nlargest(top, "score"), check_exact=True
                )


def test_reading_a_header_only_ledger_part_gives_what_pandas_gives(tmp_path):
    import pandas as pd

    from molprobe.screening.screen import read_rejected

    cols = ["row", "input", "reason", "detail"]
    frames = [pd.DataFrame(columns=cols),
              pd.DataFrame([[3, "C1CC", "unparsable", "SMILES syntax error"]], columns=cols)]  # fmt: skip
    for i, frame in enumerate(frames):
        frame.to_csv(tmp_path / "part.csv", index=False)
        got = read_rejected(tmp_path / "part.csv")
        want = pd.read_csv(tmp_path / "part.csv", dtype={"input": str, "reason": str},
                           keep_default_na=False)  # fmt: skip
        assert list(got.columns) == cols and len(got) == i
        assert got.to_csv(index=False) == want.to_csv(index=False)
        assert got["reason"].value_counts().to_dict() == want["reason"].value_counts().to_dict()
    (tmp_path / "part.csv").write_text("")  # not a part file: refused as before
    with pytest.raises(pd.errors.EmptyDataError):
        read_rejected(tmp_path / "part.csv")
