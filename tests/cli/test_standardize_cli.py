"""`molprobe standardize` end to end, on the real Tox21 file and on bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem, RDLogger

from molprobe.cli import main

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def outputs(tmp_path: Path) -> list[str]:
    return [
        "--output",
        str(tmp_path / "data" / "molecules.parquet"),
        "--rejected",
        str(tmp_path / "data" / "rejected.csv"),
        "--summary",
        str(tmp_path / "data" / "standardize.json"),
    ]


def test_tox21_end_to_end(tmp_path, capsys, tox21_path):
    rc = main(["standardize", str(tox21_path), *outputs(tmp_path)])
    assert rc == 0
    molecules = pd.read_parquet(tmp_path / "data" / "molecules.parquet")
    rejected = pd.read_csv(tmp_path / "data" / "rejected.csv", keep_default_na=False)
    summary = json.loads((tmp_path / "data" / "standardize.json").read_text())

    raw = pd.read_csv(tox21_path)
    assert summary["n_in"] == len(raw) == 7831
    assert summary["n_in"] == summary["n_kept"] + summary["n_rejected"] + summary["n_merged"]
    assert len(molecules) == summary["n_kept"] and len(rejected) == summary["n_rejected"]
    assert sum(summary["reasons"].values()) == summary["n_rejected"]
    assert summary["recipe"]["name"] == "rdkit-standardize"

    # every SMILES RDKit cannot parse is in the ledger, at its own row
    RDLogger.DisableLog("rdApp.*")
    unparsable = [i for i, s in enumerate(raw["smiles"]) if Chem.MolFromSmiles(s) is None]
    assert len(unparsable) >= 1
    ledger = rejected.set_index("row")
    for i in unparsable:
        assert ledger.loc[i, "input"] == raw["smiles"][i]
        assert ledger.loc[i, "reason"] in ("valence", "unparsable", "kekulization")
    assert "no organic fragment" in summary["reasons"]  # metal-only entries exist in Tox21

    tasks = list(raw.columns[1:])
    assert list(molecules.columns) == ["mol_id", "input_smiles", "smiles", *tasks]
    assert all(molecules[t].dtype == "float64" for t in tasks)
    assert molecules["mol_id"].is_unique and molecules["smiles"].is_unique
    assert not molecules["smiles"].str.contains(r"\.").any()  # largest fragment only

    out = capsys.readouterr().out
    assert (
        f"n_in=7831 kept={summary['n_kept']} rejected={summary['n_rejected']} "
        f"merged={summary['n_merged']}" in out
    )
    for reason, count in summary["reasons"].items():
        assert f"{reason}: {count}" in out
    assert not list((tmp_path / "data").glob(".*tmp*"))  # no temporary files left behind


def test_flags_change_the_recipe(tmp_path, capsys):
    args = ["standardize", str(BAD / "salts.csv"), *outputs(tmp_path)]
    assert main([*args, "--no-largest-fragment", "--no-neutralize", "--max-heavy-atoms", "9"]) == 0
    summary = json.loads((tmp_path / "data" / "standardize.json").read_text())
    assert summary["recipe"]["largest_fragment"] is False
    assert summary["recipe"]["max_heavy_atoms"] == 9
    molecules = pd.read_parquet(tmp_path / "data" / "molecules.parquet")
    assert "CC(=O)[O-].[Na+]" in molecules["smiles"].tolist()
    assert summary["reasons"] == {"too large": 1}  # benzoic acid + dodecane, 21 heavy atoms


def test_task_columns_and_regression(tmp_path):
    args = ["standardize", str(BAD / "duplicates.csv"), *outputs(tmp_path)]
    assert main([*args, "--task-columns", "y", "--task-type", "regression", "--jobs", "1"]) == 0
    molecules = pd.read_parquet(tmp_path / "data" / "molecules.parquet")
    assert list(molecules.columns) == ["mol_id", "input_smiles", "smiles", "y"]
    assert molecules.set_index("smiles").loc["CCO", "y"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    "name, message",
    [
        ("no_smiles_column.csv", "no SMILES column"),
        ("truncated.csv.gz", "truncated or corrupt gzip"),
        ("missing_file.csv", "file not found"),
    ],
)
def test_errors_are_one_line_and_write_nothing(tmp_path, capsys, name, message):
    rc = main(["standardize", str(BAD / name), *outputs(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("molprobe standardize: error:")
    assert name in err and message in err and "\n" not in err
    assert not (tmp_path / "data" / "molecules.parquet").exists()
    assert not (tmp_path / "data" / "rejected.csv").exists()
