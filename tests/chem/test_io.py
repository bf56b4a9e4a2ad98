"""Streaming readers: formats, chunking, bad inputs, atomic writes."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from molprobe.chem.io import (
    ColumnRoles,
    count_rows,
    detect_columns,
    detect_format,
    identifier_column,
    list_columns,
    read_molecules,
)
from molprobe.errors import InputError
from molprobe.fileio import atomic_path

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def read_all(path, **kw) -> pd.DataFrame:
    return pd.concat(list(read_molecules(path, **kw)), ignore_index=True)


def gzip_copy(src: Path, dst: Path) -> Path:
    with open(src, "rb") as fi, gzip.open(dst, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    return dst


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("a.csv", "csv"),
        ("A.CSV.GZ", "csv"),
        ("x.tsv", "tsv"),
        ("lib.smi", "smi"),
        ("lib.smiles.gz", "smi"),
        ("m.sdf.gz", "sdf"),
        ("m.sd", "sdf"),
    ],
)
def test_detect_format(name, fmt):
    assert detect_format(name) == fmt


@pytest.mark.parametrize("name", ["data.xlsx", "noext", "file.gz"])
def test_detect_format_unknown_raises(name):
    with pytest.raises(InputError, match="unknown file format"):
        detect_format(name)


def test_file_not_found(tmp_path):
    with pytest.raises(InputError, match="file not found") as err:
        next(read_molecules(tmp_path / "missing.csv"))
    assert "missing.csv" in str(err.value)


def test_gzip_sniffed_without_gz_extension(tmp_path):
    fake = gzip_copy(BAD / "salts.csv", tmp_path / "salts.csv")  # gzip bytes, .csv name
    assert read_all(fake)["input"].tolist() == read_all(BAD / "salts.csv")["input"].tolist()


def test_gz_and_plain_equal(tmp_path):
    for name in ["quoted.csv", "empty_lines.smi", "broken_middle.sdf", "non_utf8.csv"]:
        kw = {"id_column": "id"} if name == "quoted.csv" else {}
        plain = read_all(BAD / name, **kw)
        packed = read_all(gzip_copy(BAD / name, tmp_path / (name + ".gz")), **kw)
        pd.testing.assert_frame_equal(plain, packed)


@pytest.fixture(scope="module")
def tox_head(tmp_path_factory, tox21_path) -> Path:
    """First 60 rows of Tox21 as plain CSV (small enough for chunk_size=1)."""
    df = pd.read_csv(tox21_path, nrows=60, dtype=str, keep_default_na=False)
    path = tmp_path_factory.mktemp("tox") / "tox_head.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("chunk_size", [1, 7, 10_000])
def test_chunks_contiguous_and_identical(tox_head, chunk_size):
    chunks = list(read_molecules(tox_head, columns=["NR-AR", "SR-p53"], chunk_size=chunk_size))
    assert all(len(c) <= chunk_size for c in chunks)
    whole = pd.concat(chunks, ignore_index=True)
    assert whole["row"].tolist() == list(range(60))
    reference = pd.read_csv(tox_head, dtype=str, keep_default_na=False)
    assert whole["input"].tolist() == reference["smiles"].tolist()
    assert whole["SR-p53"].tolist() == reference["SR-p53"].tolist()
    assert whole["read_error"].isna().all()
    assert list(whole.columns) == ["row", "input", "NR-AR", "SR-p53", "read_error"]


def test_columns_selected_by_name_with_quoted_commas():
    df = read_all(
        BAD / "quoted.csv", id_column="id", columns=["Neoplasms benign, malignant", "eye disorders"]
    )
    assert list(df.columns) == [
        "row",
        "input",
        "id",
        "Neoplasms benign, malignant",
        "eye disorders",
        "read_error",
    ]
    assert df["input"].tolist() == ["CCO", "C(=O)O", "CCN"]
    assert df["id"].tolist() == ["A", "B", "C, quoted"]
    assert df["Neoplasms benign, malignant"].tolist() == ["1", "0", "1"]
    assert df["eye disorders"].tolist() == ["0", "1", ""]


def test_list_columns_real_csv_reader():
    assert list_columns(BAD / "quoted.csv") == [
        "id",
        "Neoplasms benign, malignant",
        "smiles",
        "Eye disorders",
    ]


def test_crlf_and_bom():
    crlf = read_all(BAD / "crlf.csv", columns=["active"])
    assert crlf["input"].tolist() == ["CCO", "CCN", "C1CC"]
    assert crlf["active"].tolist() == ["1", "0", "1"]
    bom = read_all(BAD / "bom.csv")  # the BOM must not hide the 'smiles' header
    assert bom["input"].tolist() == ["CCO", "CCN"]


def test_non_utf8_bytes_replaced_not_fatal():
    df = read_all(BAD / "non_utf8.csv", id_column="name")
    assert len(df) == 3
    assert "\ufffd" in df["input"][1]
    assert df["id"][0] == "ethanol"


def test_whitespace_and_blank_fields():
    assert read_all(BAD / "whitespace.csv")["input"].tolist() == ["CCO", "CCN"]
    assert read_all(BAD / "blank_smiles.csv")["input"].tolist() == ["", "", "", "CCO"]


@pytest.mark.parametrize("name", ["header_only.csv", "empty.csv"])
def test_header_only_or_empty_is_zero_rows(name):
    chunks = list(read_molecules(BAD / name))
    assert sum(len(c) for c in chunks) == 0
    assert count_rows(BAD / name) == 0


def test_missing_smiles_column_lists_columns():
    with pytest.raises(InputError) as err:
        next(read_molecules(BAD / "no_smiles_column.csv"))
    msg = str(err.value)
    assert "no_smiles_column.csv" in msg and "structure, active" in msg
    with pytest.raises(InputError, match="no SMILES column 'smi_x'"):
        next(read_molecules(BAD / "salts.csv", smiles_column="smi_x"))


def test_smiles_column_case_insensitive_and_explicit(tmp_path):
    path = tmp_path / "alt.csv"
    path.write_text("name,Canonical_SMILES,y\nA,CCO,1\n")
    assert read_all(path)["input"].tolist() == ["CCO"]
    path.write_text("name,structure,y\nA,CCO,1\n")
    assert read_all(path, smiles_column="Structure")["input"].tolist() == ["CCO"]


def test_wrong_delimiter_is_fatal(tmp_path):
    with pytest.raises(InputError, match="wrong delimiter") as err:
        next(read_molecules(BAD / "wrong_delimiter.csv"))
    assert "wrong_delimiter.csv" in str(err.value)
    tsv = tmp_path / "commas.tsv"
    tsv.write_text("smiles,active\nCCO,1\n")
    with pytest.raises(InputError, match="wrong delimiter"):
        next(read_molecules(tsv))


def test_tsv(tmp_path):
    tsv = tmp_path / "x.tsv"
    tsv.write_text("id\tsmiles\tlabel\nm1\tCCO\t1\nm2\tc1ccccc1\t0\n")
    df = read_all(tsv, id_column="id", columns=["label"])
    assert df["input"].tolist() == ["CCO", "c1ccccc1"]
    assert df["id"].tolist() == ["m1", "m2"]


def test_truncated_gzip_names_file_and_row():
    with pytest.raises(InputError, match="truncated or corrupt gzip") as err:
        for _ in read_molecules(BAD / "truncated.csv.gz", chunk_size=50):
            pass
    assert "truncated.csv.gz" in str(err.value)
    assert err.value.row is not None and err.value.row > 0
    with pytest.raises(InputError, match="truncated"):
        count_rows(BAD / "truncated.csv.gz")


def test_truncated_gzip_sdf(tmp_path):
    data = gzip.compress((BAD / "broken_middle.sdf").read_bytes() * 30)
    path = tmp_path / "cut.sdf.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt gzip"):
        for _ in read_molecules(path):
            pass


def test_smi_empty_lines_are_rows():
    df = read_all(BAD / "empty_lines.smi")
    assert df["input"].tolist() == ["CCO", "", "CCN", "", "", "CCC"]
    assert df["id"].tolist() == ["ethanol", None, "ethylamine", None, None, "propane"]
    assert count_rows(BAD / "empty_lines.smi") == 6


def test_smi_header_line_detected(tmp_path):
    path = tmp_path / "h.smi"
    path.write_text("SMILES Name\nCCO ethanol with spaces\nCCN\n")
    df = read_all(path)
    assert df["input"].tolist() == ["CCO", "CCN"]
    assert df["id"].tolist() == ["ethanol with spaces", None]
    assert df["row"].tolist() == [0, 1]


def test_sdf_broken_record_in_middle():
    df = read_all(BAD / "broken_middle.sdf", columns=["active"])
    assert df["row"].tolist() == [0, 1, 2, 3]
    assert df["read_error"].tolist() == [None, "unparsable SDF record", None, None]
    assert df["id"].tolist() == ["ethanol", None, "pentavalent", "alanine"]
    assert df["input"][0] == "CCO"
    assert df["input"][3] == "C[C@H](N)C(=O)O"  # stereo from the 2D wedges survives
    assert df["active"].tolist() == ["1", "", "0", "1"]
    assert count_rows(BAD / "broken_middle.sdf") == 4
    assert list_columns(BAD / "broken_middle.sdf") == ["active"]


def test_sdf_id_from_property():
    df = read_all(BAD / "broken_middle.sdf", id_column="active")
    assert df["id"].tolist() == ["1", None, "0", "1"]


def test_very_long_field(tmp_path):
    path = tmp_path / "long.csv"
    long = "C" * 200_000  # over csv's default 128 kB field limit
    path.write_text(f"smiles,y\n{long},1\nCCO,0\n")
    df = read_all(path)
    assert len(df["input"][0]) == 200_000 and df["input"][1] == "CCO"


def test_count_rows_matches_reader():
    for name in ["salts.csv", "quoted.csv", "crlf.csv", "metals.smi", "blank_smiles.csv"]:
        assert count_rows(BAD / name) == len(read_all(BAD / name)), name


def test_atomic_path_success_and_failure(tmp_path):
    target = tmp_path / "sub" / "out.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        assert tmp.name.endswith(".csv")
        tmp.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-writ")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "new"  # untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.csv"]  # no temp left


# --------------------------------------------------------------------------- column roles


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["id", "name", "compound_id", "cid", "mol_id", "Name", "CID"])
def test_every_identifier_name_is_recognized(tmp_path, name):
    path = write(tmp_path / "x.csv", f"{name},smiles,pIC50\nA,CCO,5.1\nB,CCN,6.0\n")
    roles = detect_columns(path)
    assert (roles.smiles, roles.id, roles.labels, roles.metadata) == (
        "smiles",
        name,
        ("pIC50",),
        (),
    )
    assert identifier_column(path) == name
    assert read_all(path, id_column=roles.id)["id"].tolist() == ["A", "B"]


def test_text_columns_become_metadata_and_numbers_labels(tmp_path):
    path = write(
        tmp_path / "assay.csv",
        "compound_id,SMILES,pIC50,active,vendor,cid,empty\n"
        'X1,CCO,5.1,1,"Enamine, Kyiv",17,\n'
        "X2,CCN,,0,ChemDiv,18,\n"
        "X3,CCC,6.5,NA,,19,\n",
    )
    roles = detect_columns(path)
    assert roles.smiles == "SMILES" and roles.id == "compound_id"
    # an all-missing column is a (never measured) label; a second id-named column never is one
    assert roles.labels == ("pIC50", "active", "empty")
    assert roles.metadata == ("vendor", "cid")
    assert roles.line() == "smiles=SMILES id=compound_id labels=3 metadata=vendor,cid"


def test_column_roles_negative_controls(tmp_path):
    # names that merely resemble identifiers are not identifiers; a label with a stray word
    # stays a label (it is refused when read, naming the row), it is not demoted to metadata
    path = write(tmp_path / "x.csv", "identifier,smiles,active\nA,CCO,1\nB,CCN,yes\n")
    roles = detect_columns(path)
    assert roles.id is None and roles.labels == ("active",) and roles.metadata == ("identifier",)
    assert detect_columns(write(tmp_path / "y.smi", "CCO a\nCCN b\n")) == ColumnRoles(
        None, None, (), ()
    )


def test_identifier_preference_and_explicit_choice(tmp_path):
    path = write(tmp_path / "x.csv", "name,smiles,mol_id,y\nasp,CCO,M1,1\n")
    assert detect_columns(path).id == "mol_id"
    assert detect_columns(path).metadata == ("name",)
    chosen = detect_columns(path, id_column="NAME", label_columns=["Y"])
    assert (chosen.id, chosen.labels, chosen.metadata) == ("name", ("y",), ())
    with pytest.raises(InputError, match="no label column 'activity'"):
        detect_columns(path, label_columns=["activity"])
    with pytest.raises(InputError, match="no id column 'cas'"):
        identifier_column(path, "cas")


def test_column_roles_of_sdf_properties(tmp_path):
    from rdkit import Chem

    path = tmp_path / "lib.sdf"
    with Chem.SDWriter(str(path)) as writer:
        for i, smi in enumerate(["CCO", "c1ccccc1O"]):
            mol = Chem.MolFromSmiles(smi)
            mol.SetProp("_Name", f"m{i}")
            mol.SetProp("activity", str(0.5 * i))
            mol.SetProp("supplier", "Sigma")
            writer.write(mol)
    roles = detect_columns(path)
    assert (roles.smiles, roles.id, roles.labels, roles.metadata) == (
        None,
        None,
        ("activity",),
        ("supplier",),
    )
