"""`molprobe standardize` end to end, on the real Tox21 file and on bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
    assert main([*args, "--task-columns", "y", "--task-type", "regression", "--workers", "1"]) == 0
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


# ------------------------------------------------------- column roles shared with `screen`

ID_LABEL = "id,smiles,label\nA1,CCO,1\nA2,c1ccccc1O,0\nA3,CC(=O)O,\nA4,not_a_smiles,1\n"
NAME_NOTES = (
    "name,smiles,notes\n"
    "aspirin,CC(=O)Oc1ccccc1C(=O)O,painkiller\n"
    'phenol,c1ccccc1O,"toxic, corrosive"\n'
    "benzene,c1ccccc1,\n"
)


def standardize(tmp_path: Path, text: str, *extra: str) -> tuple[pd.DataFrame, dict]:
    src = tmp_path / "input.csv"
    src.write_text(text)
    assert main(["standardize", str(src), *outputs(tmp_path), *extra]) == 0
    molecules = pd.read_parquet(tmp_path / "data" / "molecules.parquet")
    return molecules, json.loads((tmp_path / "data" / "standardize.json").read_text())


def test_id_smiles_label_file(tmp_path, capsys):
    molecules, summary = standardize(tmp_path, ID_LABEL)
    assert list(molecules.columns) == ["mol_id", "input_smiles", "smiles", "label"]
    assert molecules["mol_id"].tolist() == ["A1", "A2", "A3"]
    assert molecules["label"].tolist()[:2] == [1.0, 0.0] and np.isnan(molecules["label"].iloc[2])
    assert summary["task_columns"] == ["label"] and summary["id_column"] == "id"
    assert (summary["n_kept"], summary["n_rejected"]) == (3, 1)
    assert "columns: id=id labels=1 metadata=none" in capsys.readouterr().out


def test_name_smiles_notes_file_keeps_notes_as_metadata(tmp_path, capsys):
    molecules, summary = standardize(tmp_path, NAME_NOTES)
    assert list(molecules.columns) == ["mol_id", "input_smiles", "smiles", "notes"]
    assert molecules["mol_id"].tolist() == ["aspirin", "phenol", "benzene"]
    assert molecules["notes"].tolist() == ["painkiller", "toxic, corrosive", ""]
    assert summary["task_columns"] == [] and summary["metadata_columns"] == ["notes"]
    out = capsys.readouterr().out
    note = [line for line in out.splitlines() if "notes" in line and "--task-columns" in line]
    assert len(note) == 1, out


def test_label_with_a_word_is_refused_in_one_line(tmp_path, capsys):
    src = tmp_path / "input.csv"
    src.write_text("id,smiles,label\nA1,CCO,1\nA2,CCN,active\n")
    assert main(["standardize", str(src), *outputs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "task column 'label' has a non-numeric value 'active'" in err
    assert "--task-columns" in err and "\n" not in err


def test_old_jobs_spelling_still_works_with_a_note(tmp_path, capsys):
    molecules, _ = standardize(tmp_path, ID_LABEL, "--jobs", "1")
    assert len(molecules) == 3
    assert "--jobs is deprecated, use --workers" in capsys.readouterr().err
    molecules, _ = standardize(tmp_path, ID_LABEL, "--workers", "1")
    assert len(molecules) == 3
    assert "deprecated" not in capsys.readouterr().err


def test_fetch_reports_the_registry_columns(tmp_path, capsys, mirror):
    out = tmp_path / "bace.csv.gz"
    argv = ["fetch", "bace", "--url", "http://127.0.0.1:9/x", "--output", str(out)]
    assert main([*argv, "--mirror", str(mirror), "--max-rows", "20"]) == 0
    assert "bace columns: smiles=mol id=None labels=1 metadata=none" in capsys.readouterr().out


@pytest.mark.slow
def test_standardize_and_screen_read_the_same_columns(tmp_path, tox21_path):
    """The same id/name files through both commands: the same identifiers come out."""
    d = tmp_path / "model"
    d.mkdir()
    raw = d / "tox21.csv"
    pd.read_csv(tox21_path, nrows=200)[["smiles", "NR-AhR", "SR-p53"]].to_csv(raw, index=False)
    mols, split, ecfp = d / "molecules.parquet", d / "split.json", d / "ecfp.npz"
    for argv in (
        ["standardize", str(raw), "--output", str(mols), "--rejected", str(d / "rej.csv")],
        ["split", str(mols), "--method", "random", "--seed", "0", "--output", str(split)],
        ["featurize", str(mols), "--featurizer", "ecfp", "--output", str(ecfp)],
        ["train", "--model", "rf", "--molecules", str(mols), "--split", str(split),
         "--features", str(ecfp), "--output-dir", str(d / "rf"), "--params", "n_estimators=10"],
    ):  # fmt: skip
        assert main(argv) == 0
    for i, text in enumerate((ID_LABEL, NAME_NOTES)):
        work = tmp_path / f"file{i}"
        work.mkdir()
        molecules, _ = standardize(work, text)
        hits = work / "hits.parquet"
        argv = ["screen", "--models", str(d / "rf"), "--input", str(work / "input.csv")]
        assert main([*argv, "--output", str(hits), "--no-progress", "--top", "0"]) == 0
        screened = pd.read_parquet(hits)
        assert screened["id"].tolist() == molecules["mol_id"].tolist()
