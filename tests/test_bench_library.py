"""benchmarks/bench_library.py: the library builder and the families it trains."""

from __future__ import annotations

import gzip
import importlib.util
import sys

import pandas as pd
import yaml
from rdkit import Chem

from tests.conftest import REPO

BASE = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "COc1ccc2[nH]cc(CCNC(C)=O)c2c1",
]


def _bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "bench_library", REPO / "benchmarks" / "bench_library.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_library_rows_are_new_strings_of_the_base_molecules(tmp_path):
    bench = _bench()
    base = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in BASE]
    path = bench.build_library(tmp_path / "lib.csv.gz", 40, seed=0, base=base)
    with gzip.open(path, "rt") as fh:
        rows = pd.read_csv(fh, dtype=str)
    assert list(rows.columns) == ["smiles", "id"] and len(rows) == 40
    assert rows["smiles"].head(len(base)).tolist() == base  # the canonical base first
    canonical = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in rows["smiles"]]
    assert canonical == [base[i % len(base)] for i in range(40)]  # round robin, same molecules
    assert rows["smiles"].nunique() > 30  # randomized: almost every row a different string
    again = bench.build_library(tmp_path / "again.csv.gz", 40, seed=0, base=base)
    with gzip.open(again, "rt") as fh:
        assert pd.read_csv(fh, dtype=str).equals(rows)  # reproducible


def test_default_families_are_the_screening_models_of_the_config():
    bench = _bench()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for name in config["screen"]["models"]:
        spec = bench.family_spec(name, config)
        assert spec["features"] == config["models"][name]["features"]
        assert spec["params"] == config["models"][name]["params"]
    assert bench.family_spec("snn_ecfp", config) == {
        "model": "snn",
        "features": ["ecfp"],
        "params": {},
    }
