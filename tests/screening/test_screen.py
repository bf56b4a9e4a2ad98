"""Screening with real trained models: output columns, ledger reconciliation, chunk
boundaries, gz/SDF input, parallel workers, resume after an interrupted run, and the
split-library -> per-chunk screen -> gather path the workflow uses."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem

from molprobe.cli import main
from tests.conftest import BIN, REPO
from tests.screening.conftest import LIBRARY, TASKS, run_cli

pytestmark = pytest.mark.slow
_run = run_cli


def _library(path: Path) -> Path:
    lines = "smiles,name\n" + "".join(f'"{s}",cmp{i}\n' for i, s in enumerate(LIBRARY))
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(lines)
    else:
        path.write_text(lines)
    return path


def _screen(models: Path, library: Path, out: Path, *extra: str, ids: bool = True) -> pd.DataFrame:
    id_flag = ["--id-column", "name"] if ids else []
    _run("screen", "--models", str(models), "--input", str(library), "--output", str(out),
         *id_flag, "--no-progress", *extra)  # fmt: skip
    return pd.read_parquet(out)


def test_output_columns_and_ledger_reconcile(models, tmp_path):
    hits = _screen(models, _library(tmp_path / "lib.csv"), tmp_path / "hits.parquet", "--top", "3")
    rejected = pd.read_csv(tmp_path / "hits.rejected.csv", keep_default_na=False)
    assert len(hits) + len(rejected) == len(LIBRARY)
    assert sorted(hits["row"].tolist() + rejected["row"].tolist()) == list(range(len(LIBRARY)))
    expected = ["row", "id", "smiles", "std_smiles", *TASKS, *(f"{t}_std" for t in TASKS)]
    assert list(hits.columns[: len(expected)]) == expected
    assert {"score", "ad_similarity", "in_domain", "alerts"} <= set(hits.columns)
    assert set(rejected["reason"]) >= {"unparsable", "empty", "no organic fragment"}
    assert hits[TASKS].apply(lambda c: c.between(0, 1).all()).all()
    assert (hits[[f"{t}_std" for t in TASKS]] >= 0).all().all()  # 3 members: a real spread
    assert (hits[[f"{t}_std" for t in TASKS]] > 0).any().any()
    nitro = hits.loc[hits["smiles"] == "c1ccccc1[N+](=O)[O-]", "alerts"].iloc[0]
    assert "nitro" in nitro.lower()
    acetate = hits.loc[hits["row"] == 4, "std_smiles"].iloc[0]
    assert acetate == "CC(=O)O"
    top = pd.read_csv(tmp_path / "hits.top.csv")
    assert len(top) == 3 and top["score"].is_monotonic_decreasing
    assert len(Chem.SDMolSupplier(str(tmp_path / "hits.top.sdf"))) == 3


def test_chunk_boundaries_gz_and_workers_do_not_change_results(models, tmp_path):
    ref = _screen(
        models, _library(tmp_path / "a.csv"), tmp_path / "a.parquet", "--chunk-size", "1000"
    )
    small = _screen(
        models, _library(tmp_path / "b.csv.gz"), tmp_path / "b.parquet", "--chunk-size", "5"
    )
    two = _screen(
        models, _library(tmp_path / "c.csv"), tmp_path / "c.parquet",
        "--chunk-size", "3", "--workers", "2",
    )  # fmt: skip
    pd.testing.assert_frame_equal(ref, small)
    pd.testing.assert_frame_equal(ref, two)
    assert len(list((tmp_path / "b.parquet.parts").glob("part-*.parquet"))) == 3


def test_sdf_input(models, tmp_path):
    sdf = tmp_path / "lib.sdf"
    writer = Chem.SDWriter(str(sdf))
    for i, s in enumerate(["CCO", "c1ccccc1O", "CC(=O)O"]):
        mol = Chem.MolFromSmiles(s)
        mol.SetProp("_Name", f"m{i}")
        writer.write(mol)
    writer.close()
    _run("screen", "--models", str(models), "--input", str(sdf), "--output", str(tmp_path / "s.parquet"), "--no-progress")  # fmt: skip
    hits = pd.read_parquet(tmp_path / "s.parquet")
    assert hits["id"].tolist() == ["m0", "m1", "m2"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_resume_after_interrupted_run_gives_identical_output(models, tmp_path, workers):
    """Killed after a few parts (in process, or with featurizing workers), the rerun redoes
    only the missing chunks and gives the uninterrupted run's table. Plumbing: the two ECFP
    SNNs (the fast one with its descriptors), not the slower GINE and forest."""
    big = tmp_path / "big.csv"
    pd.DataFrame({"smiles": (LIBRARY * 40)}).to_csv(big, index=False)
    members = [str(models / "snn"), str(models / "snn_fast")]
    common = ["--models", *members, "--input", str(big), "--chunk-size", "20", "--no-progress"]
    _run("screen", *common, "--output", str(tmp_path / "ref.parquet"))
    ref = pd.read_parquet(tmp_path / "ref.parquet")
    out = tmp_path / "run.parquet"
    cmd = [str(BIN / "molprobe"), "screen", *common, "--output", str(out), "--workers", workers]
    # its own process group: only the screening process is killed, and its fork server and
    # featurizing workers must follow it (else they would wait forever)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    parts = Path(str(out) + ".parts")
    deadline = time.monotonic() + 900  # a loaded machine: the kill waits for 3 parts
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 3:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _group_gone(proc.pid, timeout_s=30), "workers outlived the killed screen"
    done = len(list(parts.glob("part-*.parquet")))
    assert 3 <= done < 24, f"kill landed at {done} of 24 chunks"
    assert not out.exists()  # a killed run leaves no finished-looking output
    _run("screen", *common, "--output", str(out), "--workers", workers)
    pd.testing.assert_frame_equal(ref, pd.read_parquet(out))


def _group_gone(pgid: int, timeout_s: float) -> bool:
    """Whether process group ``pgid`` empties within ``timeout_s`` (what is left is killed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)
    return False


def test_split_library_then_gather_equals_one_run(models, tmp_path):
    """The workflow's path: split, one screen per chunk, gather (by paths, or by the chunks
    manifest as screen_gather does: a short command line for 10^4+ chunks)."""
    lib = _library(tmp_path / "lib.csv")
    ref = _screen(models, lib, tmp_path / "ref.parquet")
    _run("split-library", str(lib), "--chunk-size", "5", "--output-dir", str(tmp_path / "chunks"),
         "--manifest", str(tmp_path / "chunks.json"))  # fmt: skip
    chunks = sorted((tmp_path / "chunks").glob("chunk-*.csv.gz"))
    assert len(chunks) == 3
    outs = []
    for i, chunk in enumerate(chunks):
        out = tmp_path / "hits" / f"hits-{i:05d}.parquet"
        _screen(models, chunk, out, "--row-offset", str(5 * i), "--top", "0")
        outs.append(str(out))
    _run("gather-hits", *outs, "--output", str(tmp_path / "all.parquet"), "--top", "4")
    pd.testing.assert_frame_equal(ref, pd.read_parquet(tmp_path / "all.parquet"))
    rejected = pd.read_csv(tmp_path / "all.rejected.csv", keep_default_na=False)
    assert len(rejected) + len(ref) == len(LIBRARY)
    _run("gather-hits", "--manifest", str(tmp_path / "chunks.json"), "--hits-dir",
         str(tmp_path / "hits"), "--output", str(tmp_path / "m.parquet"), "--top", "4")  # fmt: skip
    pd.testing.assert_frame_equal(ref, pd.read_parquet(tmp_path / "m.parquet"))
    for name in ("rejected.csv", "top.csv"):
        assert (tmp_path / f"m.{name}").read_text() == (tmp_path / f"all.{name}").read_text()


def test_missing_models_is_one_clear_error(tmp_path, capsys):
    assert (
        main(["screen", "--models", str(tmp_path), "--input", "x.csv", "--output", "y.parquet"])
        == 2
    )
    assert "no trained models" in capsys.readouterr().err


BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
# files that cannot be screened as a whole: one clear line naming the file, exit code 2
FATAL = {"no_smiles_column.csv", "truncated.csv.gz", "wrong_delimiter.csv"}


@pytest.mark.parametrize("path", sorted(BAD.iterdir()), ids=lambda p: p.name)
def test_bad_input_corpus_is_screened_or_refused_clearly(models, tmp_path, capsys, path):
    out = tmp_path / "hits.parquet"
    rc = main(["screen", "--models", str(models), "--input", str(path), "--output", str(out), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    if path.name in FATAL:
        assert rc == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and path.name in lines[0] and "Traceback" not in err
        assert not out.exists()
        return
    assert rc == 0, err
    hits = pd.read_parquet(out)
    rejected = pd.read_csv(tmp_path / "hits.rejected.csv", keep_default_na=False)
    rows = sorted(hits["row"].tolist() + rejected["row"].tolist())
    assert rows == list(range(len(rows)))  # every row read is accounted for, once


def test_explain_hits_shades_every_atom_for_the_strongest_task(models, tmp_path):
    import json

    import numpy as np

    _screen(models, _library(tmp_path / "lib.csv"), tmp_path / "hits.parquet", "--top", "5")
    out = tmp_path / "explained.csv"
    _run("explain-hits", str(tmp_path / "hits.top.csv"), "--models", str(models), "--output", str(out))  # fmt: skip
    top = pd.read_csv(tmp_path / "hits.top.csv")
    explained = pd.read_csv(out)
    pd.testing.assert_frame_equal(explained[top.columns], top)  # the hits table is kept as is
    assert explained["explained_task"].tolist() == [
        TASKS[int(np.argmax(r))] for r in top[TASKS].to_numpy()
    ]
    method = explained["explained_by"].iloc[0]
    assert "gine x1 (gradient_x_input)" in method and "snn x1 (integrated_gradients)" in method
    assert "rf" not in method  # a forest has no attribution and is skipped
    for smi, raw in zip(explained["std_smiles"], explained["atom_weights"], strict=True):
        weights = np.array(json.loads(raw))
        assert len(weights) == Chem.MolFromSmiles(smi).GetNumAtoms()
        assert np.all(np.abs(weights) <= 1) and np.any(weights != 0)


def test_explain_hits_needs_an_attributable_model(models, tmp_path):
    import numpy as np

    from molprobe.errors import MolprobeError
    from molprobe.screening.ensemble import load_ensemble
    from molprobe.screening.explain import explain_hits, strongest_task

    assert strongest_task(np.array([[0.1, np.nan, 0.3], [0.9, 0.2, 0.1]]), TASKS) == [
        "SR-p53",
        "NR-AR",
    ]
    forest = load_ensemble([models / "rf"])
    with pytest.raises(MolprobeError, match="no ensemble member supports attribution"):
        explain_hits(forest.members, ["CCO"], forest.tasks, ["NR-AR"])
    with pytest.raises(MolprobeError, match="not tasks of the models"):
        explain_hits(forest.members, ["CCO"], forest.tasks, ["NR-XX"])


def test_ensemble_shares_featurization_without_changing_predictions(models):
    import numpy as np

    from molprobe.inference.inputs import ModelInputs
    from molprobe.inference.predict import predict
    from molprobe.screening.ensemble import load_ensemble

    ensemble = load_ensemble([models])
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    shared = ensemble.predict(smiles)
    for k, member in enumerate(ensemble.members):  # each member featurized on its own
        feats = ModelInputs.from_checkpoint(member).featurize(smiles)
        alone = predict(member.model, feats, None, ensemble.task_type, None)
        np.testing.assert_allclose(shared[k], alone, rtol=1e-6)


def test_score_chunk_reuses_work_without_changing_results(models, tox21_path, tmp_path):
    """score_chunk reuses the standardizer's molecules and one ECFP4 computation for the domain
    and the ECFP members; every number equals the plain path (featurize the canonical SMILES
    per member, domain on re-parsed molecules)."""
    import numpy as np

    from molprobe.chem.io import read_molecules
    from molprobe.inference.inputs import block_key
    from molprobe.screening.ensemble import load_ensemble
    from molprobe.screening.screen import ECFP4_KEY, alert_names, score_chunk

    ensemble = load_ensemble([models])
    snn = next(m for m in ensemble.members if m.meta.model_name == "snn")
    assert block_key(snn.meta.featurizers[0]) == ECFP4_KEY  # the SNN reads the shared bits
    rows = pd.read_csv(tox21_path, usecols=["smiles"], nrows=150, skiprows=range(1, 301))
    lib = rows["smiles"].tolist() + LIBRARY  # unseen Tox21 rows (salts, charges) + odd inputs
    path = tmp_path / "lib.csv"
    pd.DataFrame({"smiles": lib}).to_csv(path, index=False)
    chunk = next(read_molecules(path, chunk_size=len(lib)))
    scored, rejected = score_chunk(chunk, ensemble)
    assert len(scored) + len(rejected) == len(lib)
    std = scored["std_smiles"].tolist()
    mols = [Chem.MolFromSmiles(s) for s in std]
    plain = ensemble.predict(std)
    np.testing.assert_allclose(scored[ensemble.tasks].to_numpy(), plain.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(
        scored["ad_similarity"].to_numpy(), ensemble.domain.similarity(mols)
    )
    assert scored["alerts"].tolist() == alert_names(mols)


def test_progress_bar_counts_every_row(models, tmp_path, capsys):
    """With progress on, tqdm reports every input row on stderr; off, nothing is drawn."""
    from molprobe.screening.ensemble import EnsembleLoader, find_model_dirs
    from molprobe.screening.screen import ScreenSettings, model_fingerprint, screen_library

    lib = tmp_path / "lib.csv"
    pd.DataFrame({"smiles": LIBRARY * 5}).to_csv(lib, index=False)
    dirs = find_model_dirs([models])
    loader = EnsembleLoader(tuple(str(d) for d in dirs))
    n = len(LIBRARY) * 5
    for show in (True, False):
        capsys.readouterr()
        settings = ScreenSettings(chunk_size=20, progress=show)
        out = tmp_path / f"hits-{show}.parquet"
        summary = screen_library(lib, out, loader, model_fingerprint(dirs), settings, n)
        err = capsys.readouterr().err
        assert summary.n_in == n
        assert (f"{n}/{n}" in err) is show, err[-300:]
