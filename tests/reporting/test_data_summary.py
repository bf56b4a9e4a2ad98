"""Data-stage and later-stage summaries for the report, on tiny hand-made tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from molprobe.errors import MolprobeError
from molprobe.reporting import data_summary as ds
from molprobe.reporting.stages import best_run, comparison_summary, hit_legends, prediction_pairs
from molprobe.reporting.tables import html_table

MOLS = pd.DataFrame(
    {
        "mol_id": ["m0", "m1", "m2", "m3", "m4", "m5"],
        "input_smiles": ["c1ccccc1O", "c1ccccc1N", "C1CCCCC1C", "CCO", "c1ccncc1", "CCCC"],
        "smiles": ["Oc1ccccc1", "Nc1ccccc1", "CC1CCCCC1", "CCO", "c1ccncc1", "CCCC"],
        "A": [1.0, 0.0, np.nan, 0.0, 1.0, 0.0],
        "B": [np.nan, np.nan, 1.0, 0.0, 0.0, 0.0],
    }
)
SUMMARY = {"n_in": 9, "n_kept": 6, "n_rejected": 2, "n_merged": 1, "reasons": {"unparsable": 1, "too large": 1},
           "task_columns": ["A", "B"], "task_type": "classification"}  # fmt: skip


def test_task_columns_and_balance():
    assert ds.task_columns(MOLS, SUMMARY) == ["A", "B"]
    assert ds.task_columns(MOLS, {}) == ["A", "B"]  # numeric non-id columns
    bal = ds.task_balance(MOLS, ["A", "B"]).set_index("task")
    assert (
        bal.loc["A", "n_positive"] == 2
        and bal.loc["A", "n_negative"] == 3
        and bal.loc["A", "n_missing"] == 1
    )
    assert bal.loc["B", "n_measured"] == 4 and bal.loc["B", "percent_positive"] == pytest.approx(
        25.0
    )
    reg = ds.task_balance(MOLS.assign(A=[0.5, 1.5, 2.0, np.nan, 3.0, 1.0]), ["A"]).iloc[0]
    assert np.isnan(reg["n_positive"]) and reg["mean"] == pytest.approx(1.6)


def test_ledger_adds_up():
    led = ds.ledger_table(SUMMARY)
    assert list(led["kind"]) == ["input", "kept", "merged", "rejected", "rejected"]
    assert led.loc[led["kind"] != "input", "count"].sum() == SUMMARY["n_in"]
    assert list(led["outcome"][3:]) == [
        "rejected: too large",
        "rejected: unparsable",
    ]  # ties: alphabetical
    with pytest.raises(MolprobeError):
        ds.ledger_table({"n_kept": 3})


def test_split_table_counts_scaffolds_and_leakage():
    splits = [
        {"method": "random", "seed": 0, "train": [0, 2, 3, 5], "valid": [1], "test": [4]},
        {"method": "scaffold", "seed": 0, "train": [0, 1, 3, 5], "valid": [2], "test": [4]},
    ]
    t = ds.split_table(MOLS["smiles"].tolist(), splits).set_index(["method", "part"])
    # benzene (phenol), cyclohexane, acyclic '' (ethanol, butane): 3 scaffolds in random train
    assert t.loc[("random", "train"), "n_scaffolds"] == 3
    assert (
        t.loc[("random", "valid"), "n_scaffolds_in_train"] == 1
    )  # aniline shares benzene with phenol
    assert t.loc[("scaffold", "valid"), "n_scaffolds_in_train"] == 0
    assert t.loc[("random", "train"), "percent"] == pytest.approx(100 * 4 / 6)
    with pytest.raises(MolprobeError, match="holds row"):
        ds.split_table(
            MOLS["smiles"].tolist(),
            [{"method": "random", "seed": 0, "train": [9], "valid": [], "test": []}],
        )


def test_examples_and_rejected_and_headline():
    ex = ds.example_molecules(MOLS, ["A", "B"], n=4, seed=1)
    assert len(ex) == 4 and ex.equals(ds.example_molecules(MOLS, ["A", "B"], n=4, seed=1))
    assert sum("inactive" not in leg for leg in ex["legend"]) == 2  # half active
    rej = pd.DataFrame(
        {"row": [1, 2, 3, 4], "input": ["x", "y", "z", "w"], "reason": ["a", "a", "a", "b"]}
    )
    picked = ds.rejected_examples(rej, n=2)
    assert set(picked["reason"]) == {"a", "b"}  # every reason shown before repeats
    splits = ds.split_table(MOLS["smiles"].tolist(), [{"method": "random", "seed": 3, "train": [0, 1, 2, 3],
                                                       "valid": [4], "test": [5]}])  # fmt: skip
    head = ds.dataset_headline("toy", SUMMARY, ds.task_balance(MOLS, ["A", "B"]), splits)
    assert head.n_labels == 9 and head.percent_positive == pytest.approx(100 * 3 / 9)
    assert head.splits == "random × seeds 3"
    over = ds.overview_table(head)
    assert over.set_index("quantity").loc["molecules kept", "value"] == "6"


def test_comparison_summary_ci_and_best():
    comp = pd.DataFrame(
        {
            "name": ["snn"] * 3 + ["rf"] + ["snn"],
            "model": ["snn"] * 3 + ["rf"] + ["snn"],
            "split": ["scaffold"] * 4 + ["scaffold"],
            "seed": ["0", "1", "2", "0", "mean"],
            "metric": ["roc_auc"] * 5,
            "value": [0.70, 0.72, 0.74, 0.80, 0.72],
            "ci_low": [0.6, 0.6, 0.6, 0.75, np.nan],
            "ci_high": [0.8, 0.8, 0.8, 0.85, np.nan],
        }  # fmt: skip
    )
    s = comparison_summary(comp).set_index("name")
    assert s.loc["snn", "n_seeds"] == 3 and s.loc["snn", "mean"] == pytest.approx(0.72)
    half = 4.302653 * 0.02 / np.sqrt(3)  # t(0.975, 2) × std / sqrt(n)
    assert s.loc["snn", "ci_high"] == pytest.approx(0.72 + half, rel=1e-4)
    assert s.loc["rf", "ci_low"] == 0.75  # one seed: the run's own interval
    assert best_run(comparison_summary(comp))["name"] == "rf"
    rmse = comp.assign(metric="rmse")
    assert best_run(comparison_summary(rmse))["name"] == "snn"
    with pytest.raises(MolprobeError):
        comparison_summary(comp.drop(columns=["seed"]))


def test_prediction_pairs_and_hit_legends():
    pred = pd.DataFrame(
        {"mol_id": ["a", "b"], "smiles": ["C", "CC"], "A": [0.2, 0.9], "A_true": [0.0, 1.0]}
    )
    yt, ys = prediction_pairs(pred)
    assert list(yt) == ["A"] and ys["A"].tolist() == [0.2, 0.9]
    with pytest.raises(MolprobeError):
        prediction_pairs(pred.drop(columns=["A_true"]))
    top = pd.DataFrame({"smiles": ["C", "CC"], "score": [0.9, 0.8], "A_std": [0.05, 0.1],
                        "ad_similarity": [0.7, 0.2], "in_domain": [True, False], "alerts": ["nitro", np.nan]})  # fmt: skip
    legs = hit_legends(top)
    assert (
        legs[0].startswith("#1 score 0.90 ± 0.05")
        and "in domain" in legs[0]
        and "alerts: nitro" in legs[0]
    )
    assert "OUT of domain" in legs[1] and "alerts" not in legs[1]


def test_html_table_escapes_and_formats():
    page = html_table(
        pd.DataFrame({"x": ["<b>", None], "n": [1234, 5], "f": [0.12345, np.nan]}), "T & t", "note"
    )
    assert "&lt;b&gt;" in page and "T &amp; t" in page and "0.123" in page and "–" in page
    assert not re.search(r"<script[^>]+src=", page)  # the sorting script is inline
    assert page.count("<tr>") == 3 and "download CSV (2 rows)" in page  # every row, no cut
