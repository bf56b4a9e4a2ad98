"""The screening pipeline (workers featurize, the parent predicts) against the in-process
per-chunk path (`score_chunk`: standardize, featurize while predicting, one process), on real
trained models (SNN on ECFP, GINE with a descriptor readout, a random forest, SNN on ECFP +
the fast descriptors):

- every number equal within float tolerance, in process and with 2 featurizing workers;
- `screen` refuses nothing it accepted before: the bad-input corpus, salts, charges, odd
  valences, empty lines, duplicate ids and gzip give identical accepted rows and identical
  rejected rows, reasons and details; files refused as a whole are refused with the same error;
- the featurizing workers never load a model and never initialize CUDA, and import torch
  only for plans that featurize graphs.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from molprobe.chem.io import identifier_column, read_molecules
from molprobe.errors import MolprobeError
from molprobe.screening.ensemble import EnsembleLoader, find_model_dirs
from molprobe.screening.pipeline import FeaturePlan, featurize_chunk, mp_context, worker_init
from molprobe.screening.screen import (
    ScreenSettings,
    model_fingerprint,
    rejected_path,
    score_chunk,
    score_features,
    screen_library,
)
from tests.screening.conftest import LIBRARY

pytestmark = pytest.mark.slow

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
N_UNSEEN = 180  # Tox21 rows the models never saw (salts, charges, metals), before the odd inputs


def _per_chunk_path(path: Path, ensemble, chunk_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference: each chunk scored in this process by `score_chunk`, concatenated."""
    scored, rejected = [], []
    id_column = identifier_column(path, None)
    for chunk in read_molecules(path, id_column=id_column, chunk_size=chunk_size):
        s, r = score_chunk(chunk, ensemble)
        scored.append(s)
        rejected.append(r)
    return pd.concat(scored, ignore_index=True), pd.concat(rejected, ignore_index=True)


def _pipeline(path: Path, loader, out: Path, chunk_size: int, workers: int):
    settings = ScreenSettings(
        chunk_size=chunk_size,
        workers=workers,
        progress=False,
        id_column=identifier_column(path, None),
    )
    summary = screen_library(path, out, loader, model_fingerprint(loader.paths), settings)
    rejected = pd.read_csv(
        rejected_path(out), dtype={"input": str, "reason": str, "detail": str},
        keep_default_na=False,
    )  # fmt: skip
    return pd.read_parquet(out), rejected, summary


def _as_written(scored: pd.DataFrame, rejected: pd.DataFrame, tmp: Path):
    """The reference through the same files the pipeline writes (same dtypes)."""
    scored.to_parquet(tmp / "ref.parquet", index=False)
    rejected.to_csv(tmp / "ref.csv", index=False)
    back = pd.read_csv(
        tmp / "ref.csv", dtype={"input": str, "reason": str, "detail": str}, keep_default_na=False
    )
    return pd.read_parquet(tmp / "ref.parquet"), back


@pytest.fixture(scope="module")
def loader(models):
    return EnsembleLoader(tuple(str(d) for d in find_model_dirs([models])), "cpu")


@pytest.fixture(scope="module")
def ensemble(loader):
    return loader()


def _library(tmp: Path, tox21_path: Path) -> Path:
    """Unseen Tox21 rows (salts, charges, metals) + odd inputs, with duplicate ids, gzipped."""
    rows = pd.read_csv(tox21_path, usecols=["smiles"], nrows=N_UNSEEN, skiprows=range(1, 301))
    smiles = rows["smiles"].tolist() + LIBRARY
    ids = [f"cmp{i % 50}" for i in range(len(smiles))]  # every id repeated
    path = tmp / "lib.csv.gz"
    with gzip.open(path, "wt") as fh:
        pd.DataFrame({"smiles": smiles, "name": ids}).to_csv(fh, index=False)
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_pipeline_equals_the_per_chunk_path(loader, ensemble, tox21_path, tmp_path, workers):
    lib = _library(tmp_path, tox21_path)
    ref_scored, ref_rejected = _as_written(*_per_chunk_path(lib, ensemble, 37), tmp_path)
    scored, rejected, summary = _pipeline(lib, loader, tmp_path / "hits.parquet", 37, workers)
    assert summary.n_in == len(scored) + len(rejected) == N_UNSEEN + len(LIBRARY)
    assert sorted(scored["row"].tolist() + rejected["row"].tolist()) == list(range(summary.n_in))
    assert scored["id"].duplicated().any()  # duplicate ids are kept as given
    pd.testing.assert_frame_equal(scored, ref_scored, check_exact=False, rtol=1e-5, atol=1e-7)
    pd.testing.assert_frame_equal(rejected, ref_rejected)
    spread = scored[[c for c in scored.columns if c.endswith("_std")]].to_numpy()
    assert np.nanmax(spread) > 0  # three different members: the comparison sees each one


def test_featurize_then_score_equals_score_chunk_on_one_chunk(ensemble, tox21_path, tmp_path):
    """The two halves, in process, on one chunk: identical tables (rtol 1e-6)."""
    lib = _library(tmp_path, tox21_path)
    chunk = next(read_molecules(lib, id_column="name", chunk_size=10_000))
    plan = pickle.loads(pickle.dumps(FeaturePlan.of(ensemble)))  # as a worker receives it
    feats = pickle.loads(pickle.dumps(featurize_chunk(chunk, plan, 0)))  # ... and sends back
    scored, rejected = score_features(feats, ensemble)
    ref_scored, ref_rejected = score_chunk(chunk, ensemble)
    pd.testing.assert_frame_equal(scored, ref_scored, check_exact=False, rtol=1e-6)
    pd.testing.assert_frame_equal(rejected, ref_rejected)
    # each distinct block once: ECFP bits (SNN, RF and the fast SNN), graphs, descriptors,
    # fast descriptors
    sizes = sorted((spec["name"], len(spec.get("names", []))) for spec in plan.specs)
    assert sizes == [("descriptors", 45), ("descriptors", 217), ("ecfp", 0), ("graph", 0)]


def test_a_randomized_spelling_featurizes_and_scores_as_the_canonical_one(ensemble, tox21_path):
    """Other atom orders of the same molecules: the full descriptor set (GINE's readout) is
    computed on the parsed canonical SMILES, bitwise as before; the fast set on the
    standardizer's molecule as it is, equal to float rounding; the scores agree."""
    from tests.screening.test_speedups import randomized

    rows = pd.read_csv(tox21_path, usecols=["smiles"], nrows=120, skiprows=range(1, 301))
    plan = FeaturePlan.of(ensemble)
    canon = featurize_chunk(pd.DataFrame({"row": range(120), "input": rows["smiles"]}), plan)
    std = canon.kept["smiles"].tolist()
    chunk = pd.DataFrame({"row": canon.kept["row"], "input": randomized(std)})
    spelled = featurize_chunk(chunk, plan)
    assert spelled.kept["smiles"].tolist() == std
    full = fast = None
    for key, block in canon.blocks.items():
        got = np.asarray(spelled.blocks[key])
        if '"AvgIpc"' in key:  # the full set
            assert np.array_equal(got, np.asarray(block), equal_nan=True)
            full = key
        elif '"HallKierAlpha"' in key:  # the fast set
            np.testing.assert_allclose(got, np.asarray(block), rtol=0, atol=1e-12)
            fast = key
    assert full and fast
    a, _ = score_features(canon, ensemble)
    b, _ = score_features(spelled, ensemble)
    cols = [c for c in a.columns if c != "smiles"]  # the input spelling
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=False, rtol=1e-6, atol=1e-7)


NOT_SCREENABLE = {"no_smiles_column.csv", "truncated.csv.gz", "wrong_delimiter.csv"}


@pytest.mark.parametrize("path", sorted(BAD.iterdir()), ids=lambda p: p.name)
def test_screen_refuses_nothing_it_accepted_before(loader, ensemble, tmp_path, path):
    """Same accepted rows, same rejected rows with the same reasons, per bad-input file."""
    if path.name in NOT_SCREENABLE:  # refused as a whole: by both, with the same message
        with pytest.raises(MolprobeError) as old:
            _per_chunk_path(path, ensemble, 4)
        with pytest.raises(MolprobeError) as new:
            _pipeline(path, loader, tmp_path / "hits.parquet", 4, 2)
        assert str(new.value) == str(old.value)
        return
    ref_scored, ref_rejected = _as_written(*_per_chunk_path(path, ensemble, 4), tmp_path)
    scored, rejected, _ = _pipeline(path, loader, tmp_path / "hits.parquet", 4, 2)
    assert scored["row"].tolist() == ref_scored["row"].tolist()
    assert scored["std_smiles"].tolist() == ref_scored["std_smiles"].tolist()
    pd.testing.assert_frame_equal(rejected, ref_rejected)


def _probe_worker() -> tuple[bool, list[str]]:
    import sys

    import torch

    loaded = sorted(m for m in sys.modules if m.startswith("molprobe.training.checkpoint"))
    return bool(torch.cuda.is_initialized()), loaded


def test_featurizing_workers_load_no_model_and_no_cuda(ensemble):
    """The workers' plan holds no weights; a worker process has CUDA uninitialized."""
    from concurrent.futures import ProcessPoolExecutor

    plan = FeaturePlan.of(ensemble)
    blob = pickle.dumps(plan)  # the reference fingerprints + meta.json contents, no weights
    assert len(blob) < plan.domain.reference_bits_.nbytes + 200_000
    assert b"state_dict" not in blob and b"estimators_" not in blob
    with ProcessPoolExecutor(1, mp_context=mp_context(), initializer=worker_init,
                             initargs=(plan,)) as pool:  # fmt: skip
        cuda, _ = pool.submit(_probe_worker).result()
    assert cuda is False


WORKER_LIBRARIES = """
import json, os, pickle, sys
from concurrent.futures import ProcessPoolExecutor
import pandas as pd
from molprobe.screening.pipeline import mp_context, worker_featurize, worker_init
plan = pickle.load(open(sys.argv[1], "rb"))
chunk = pd.DataFrame({"row": [0, 1], "input": ["CCO", "c1ccccc1O"]})
with ProcessPoolExecutor(1, mp_context=mp_context(plan), initializer=worker_init,
                         initargs=(plan,)) as pool:
    pickle.loads(pool.submit(worker_featurize, chunk, 0).result())
    pid = pool.submit(os.getpid).result()
    maps = open(f"/proc/{pid}/maps").read()
print(json.dumps({"parent": "torch" in sys.modules, "worker": "libtorch" in maps}))
"""


@pytest.mark.parametrize("with_graphs", [False, True])
def test_workers_import_torch_only_for_graphs(ensemble, tmp_path, with_graphs):
    """A fresh process (its own fork server): workers of a plan without graphs never load
    torch's libraries (~2 CPU-s saved per fork server), and neither does a parent that reads
    their chunks; with graphs both do."""
    import dataclasses
    import json
    import os
    import subprocess
    import sys

    from molprobe.chem.blocks import needs_torch

    plan = FeaturePlan.of(ensemble)
    specs = tuple(s for s in plan.specs if with_graphs or not needs_torch(s))
    plan = dataclasses.replace(plan, specs=specs)
    assert plan.needs_torch is with_graphs
    (tmp_path / "plan.pkl").write_bytes(pickle.dumps(plan))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", WORKER_LIBRARIES, str(tmp_path / "plan.pkl")],
                         capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    # the parent loads torch only to unpickle the graphs' tensors (here it loads no model)
    assert loaded == {"parent": with_graphs, "worker": with_graphs}
