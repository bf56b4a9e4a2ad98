"""Splits (random, scaffold) and dataset fetching (mirror, file URL, offline error)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from molprobe.chem.splits import make_split, murcko_scaffold, random_split, scaffold_split
from molprobe.datasets import DatasetSpec, fetch_dataset
from molprobe.errors import MolprobeError

SMILES = [
    "c1ccccc1O",
    "c1ccccc1N",
    "c1ccccc1C(=O)O",
    "C1CCCCC1O",
    "C1CCCCC1N",
    "c1ccc2ccccc2c1",
    "c1ccc2ccccc2c1O",
    "CCO",
    "CCN",
    "CC(=O)O",
    "c1ccncc1",
    "c1ccncc1C",
] * 3


def test_murcko_scaffold():
    assert murcko_scaffold("c1ccccc1CCO") == "c1ccccc1"
    assert murcko_scaffold("CCO") == ""


def test_random_split_is_a_seeded_partition():
    a = random_split(100, (0.8, 0.1, 0.1), seed=3)
    b = random_split(100, (0.8, 0.1, 0.1), seed=3)
    c = random_split(100, (0.8, 0.1, 0.1), seed=4)
    assert (len(a.train), len(a.valid), len(a.test)) == (80, 10, 10)
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)
    assert sorted(np.concatenate([a.train, a.valid, a.test]).tolist()) == list(range(100))


def test_scaffold_split_keeps_scaffolds_together():
    split = scaffold_split(SMILES, (0.6, 0.2, 0.2), seed=0)
    parts = {"train": split.train, "valid": split.valid, "test": split.test}
    owner = {}
    for name, idx in parts.items():
        for i in idx:
            scaf = murcko_scaffold(SMILES[i])
            assert owner.setdefault(scaf, name) == name, f"scaffold {scaf!r} in two parts"
    assert sum(len(p) for p in parts.values()) == len(SMILES)
    again = scaffold_split(SMILES, (0.6, 0.2, 0.2), seed=0)
    assert np.array_equal(split.test, again.test)


def test_split_rejects_bad_fractions_and_methods():
    with pytest.raises(MolprobeError, match="fractions"):
        random_split(10, (0.8, 0.3, 0.1), seed=0)
    with pytest.raises(MolprobeError, match="unknown split method"):
        make_split("temporal", SMILES, (0.8, 0.1, 0.1), 0)


def test_fetch_prefers_the_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with gzip.open(mirror / "toy.csv.gz", "wt") as fh:
        fh.write("smiles,y\nCCO,1\nCCN,0\nCCC,1\n")
    spec = DatasetSpec(name="toy", url="http://127.0.0.1:9/never-used.csv")
    res = fetch_dataset(spec, tmp_path / "raw/toy.csv.gz", mirror=mirror, max_rows=2)
    assert res.source == "mirror" and res.n_rows == 2
    with gzip.open(tmp_path / "raw/toy.csv.gz", "rt") as fh:
        assert fh.read().splitlines() == ["smiles,y", "CCO,1", "CCN,0"]


def test_fetch_downloads_and_renames_columns(tmp_path):
    src = tmp_path / "public.csv"
    src.write_text('"measured, log",smiles\n-1.5,CCO\n0.2,c1ccccc1\n')
    spec = DatasetSpec(name="sol", url=src.as_uri(), rename={"measured, log": "logs"})
    res = fetch_dataset(spec, tmp_path / "sol.csv.gz", mirror=None)
    assert res.source == "url" and res.n_rows == 2
    with gzip.open(tmp_path / "sol.csv.gz", "rt") as fh:
        assert fh.readline().strip() == "logs,smiles"


def test_fetch_offline_names_the_mirror_variable(tmp_path):
    spec = DatasetSpec(name="nowhere", url=(tmp_path / "missing.csv").as_uri())
    with pytest.raises(MolprobeError, match="MOLPROBE_MIRROR"):
        fetch_dataset(spec, tmp_path / "out.csv.gz", mirror=None)
    assert not (tmp_path / "out.csv.gz").exists()
