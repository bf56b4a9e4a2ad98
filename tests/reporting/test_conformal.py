"""Mondrian conformal sets with planted controls: on calibrated scores each class's held-out
coverage reaches 1 - alpha (positive control) and informative scores give mostly single-label
sets; scores independent of the labels keep the coverage but give mostly "both" (negative
control). The hit list and the calibration table carry the sets; the CLI writes them."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from molprobe.cli import main
from molprobe.reporting.calibration import RunPredictions, calibration_table, conformal_thresholds
from molprobe.reporting.conformal import (
    class_threshold,
    fit_mondrian,
    prediction_sets,
    set_coverage,
    thresholds_frame,
    thresholds_from_frame,
)
from molprobe.reporting.hits import triage_frames
from molprobe.reporting.pages import screen_page

ALPHA, TOL = 0.1, 0.02


def _scores(n: int, rng, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels with ~10 % actives and calibrated probabilities p = P(active | score)
    (``strength`` 0: the score says nothing about the label)."""
    logit = rng.normal(-2.5, strength, n) if strength else np.full(n, -2.2)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(float)
    if not strength:  # still spread out, but independent of the labels
        p = rng.uniform(0.01, 0.99, n)
    return y, p


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coverage_per_class_on_held_out_rows(seed):
    rng = np.random.default_rng(seed)
    y_cal, p_cal = _scores(3000, rng, 3.0)
    y_new, p_new = _scores(30000, rng, 3.0)
    t = fit_mondrian(y_cal, p_cal, ALPHA, "T1")
    c = set_coverage(y_new, p_new, t)
    # positive control: each class separately, actives (~10 %) included
    assert c["cov_active"] >= 1 - ALPHA - TOL and c["cov_inactive"] >= 1 - ALPHA - TOL, c
    assert c["cov_active"] <= 1 - ALPHA + 0.05  # not trivially all-"both"
    # informative scores: most molecules get one label only
    assert c["set_active"] + c["set_inactive"] > 0.5, c
    assert math.isclose(sum(c[f"set_{s}"] for s in ("active", "inactive", "both", "empty")), 1)


def test_scores_independent_of_labels_give_mostly_both():
    rng = np.random.default_rng(3)
    y_cal, p_cal = _scores(3000, rng, 0.0)
    y_new, p_new = _scores(30000, rng, 0.0)
    c = set_coverage(y_new, p_new, fit_mondrian(y_cal, p_cal, ALPHA))
    assert c["set_both"] > 0.75 and c["set_empty"] < 0.02, c  # the model cannot tell
    assert c["cov_active"] >= 1 - ALPHA - 0.03 and c["cov_inactive"] >= 1 - ALPHA - TOL


def test_threshold_ranks_and_small_classes():
    s = np.arange(1, 21) / 20  # 20 scores: rank ceil(21 * 0.9) = 19
    assert class_threshold(s, 0.1) == pytest.approx(19 / 20)
    assert class_threshold(s[:8], 0.1) == math.inf  # fewer than 1/alpha - 1: no threshold
    with pytest.raises(Exception, match="alpha"):
        class_threshold(s, 1.5)
    # 5 labeled actives: the active label is in every set; NaN labels are dropped
    y = np.r_[np.ones(5), np.zeros(200), np.full(10, np.nan)]
    t = fit_mondrian(y, np.linspace(0.01, 0.99, len(y)), 0.1)
    assert (t.n_active, t.n_inactive, t.q_active) == (5, 200, math.inf)
    assert set(prediction_sets(np.array([0.001, 0.5, 0.999]), t)) <= {"active", "both"}
    back = thresholds_from_frame(thresholds_frame([t]))[""]
    assert back == t


def _run(name, seed, y, p, y_val, p_val, split="random"):
    def frame(yy, pp, tag):
        return pd.DataFrame({"mol_id": [f"{tag}{i}" for i in range(len(yy))],
                             "T1": pp, "T1_true": yy})  # fmt: skip

    return RunPredictions(name, split, seed, frame(y, p, "t"), frame(y_val, p_val, "v"))


def test_calibration_table_reports_test_coverage_of_sets_fitted_on_valid():
    rng = np.random.default_rng(4)
    runs = []
    for seed in (0, 1, 2):
        (y, p), (yv, pv) = _scores(4000, rng, 3.0), _scores(3000, rng, 3.0)
        runs.append(_run("good", seed, y, p, yv, pv))
        runs.append(_run("noise", seed, y, rng.uniform(0.01, 0.99, y.size), yv,
                         rng.uniform(0.01, 0.99, yv.size)))  # fmt: skip
    res = calibration_table(runs, alpha=ALPHA)
    s = res.summary.set_index("model")
    assert (s[["cov_active", "cov_inactive"]] >= 1 - ALPHA - 0.03).all().all(), s
    assert s.loc["noise", "set_both"] > 0.75 > 0.5 > s.loc["good", "set_both"]


def test_hit_thresholds_read_validation_only_and_the_hit_list_shows_sets():
    rng = np.random.default_rng(5)
    runs = []
    for seed in (0, 1):
        (y, p), (yv, pv) = _scores(50, rng, 3.0), _scores(2000, rng, 3.0)
        for name in ("a", "b"):
            runs.append(_run(name, seed, y, np.full(50, np.nan), yv, pv))  # test: never read
        runs.append(_run("a", seed, y, p, yv, 1 - pv, split="scaffold"))  # other split: left out
    (t,) = conformal_thresholds(runs, ALPHA, split="random", models=["a", "b"])
    assert t.n_active + t.n_inactive == 4000  # two seeds' validation rows pooled
    assert np.isfinite(t.q_active) and np.isfinite(t.q_inactive)
    with pytest.raises(Exception, match="no runs"):
        conformal_thresholds(runs, ALPHA, split="random", models=["c"])

    top = pd.DataFrame({"id": ["m1", "m2", "m3"], "smiles": ["CCO", "c1ccccc1O", "CCN"],
                        "T1": [0.99, 0.5, 0.0005], "T1_std": [0.01, 0.1, 0.0],
                        "score": [0.99, 0.5, 0.0005]})  # fmt: skip
    page = screen_page("lib", np.array([0.99, 0.5, 0.0005]), top, {"T1": t})
    front = triage_frames(top.assign(T1_set=prediction_sets(top["T1"], t)))[0]
    assert front["set"].iloc[0] == "active" and front["set"].iloc[2] == "inactive"
    assert "Mondrian conformal" in page.texts["hits.html"] and ",set" in page.texts["hits.csv"]
    assert sum(page.numbers["top_sets"].values()) == 3


def test_cli_conformal_and_report_screen(tmp_path):
    rng = np.random.default_rng(6)
    dirs = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        y, p = _scores(1500, rng, 3.0)
        pd.DataFrame({"mol_id": range(1500), "T1": p, "T1_true": y}).to_parquet(
            d / "valid_predictions.parquet"
        )
        (d / "metrics.json").write_text(json.dumps({"model": name, "seed": 0,
                                                    "split": {"name": "random"}}))  # fmt: skip
        dirs.append(str(d))  # no predictions.parquet: `conformal` must not need test
    out = tmp_path / "conformal.csv"
    assert main(["conformal", *dirs, "--alpha", "0.2", "--output", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table["task"]) == ["T1"] and table["alpha"].iloc[0] == 0.2
    hits, top = tmp_path / "hits.parquet", tmp_path / "top.csv"
    frame = pd.DataFrame({"row": [0, 1], "smiles": ["CCO", "CCN"], "T1": [0.9, 0.01],
                          "T1_std": [0.01, 0.01], "score": [0.9, 0.01]})  # fmt: skip
    frame.to_parquet(hits)
    frame.to_csv(top, index=False)
    outdir = tmp_path / "report"
    assert main(["report", "screen", "--hits", str(hits), "--top", str(top),
                 "--conformal", str(out), "--output-dir", str(outdir)]) == 0  # fmt: skip
    assert "set" in pd.read_csv(outdir / "hits.csv").columns
    head = json.loads((outdir / "headline.json").read_text())
    assert sum(head["numbers"]["top_sets"].values()) == 2


def test_schema_default_error_rate_is_the_library_default():
    import yaml

    from molprobe.reporting.conformal import ALPHA as LIBRARY_ALPHA
    from tests.conftest import REPO

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    report = schema["properties"]["report"]["properties"]
    assert report["conformal_alpha"]["default"] == LIBRARY_ALPHA
