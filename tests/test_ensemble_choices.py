"""scripts/ensemble_choices.py: the member rule adopts a member that carries a planted signal the
base lacks (positive control) and refuses one that predicts noise (negative control)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import ensemble_choices  # noqa: E402

TASKS = ["t1", "t2"]
N = 400  # molecules per part
SPLIT_ID = {"random": 1, "scaffold": 2}


def _latents(split: str, seed: int, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two latent factors (n, T) each and the labels they decide (n, T), per split/seed/part."""
    rng = np.random.default_rng([SPLIT_ID[split], seed, part == "test"])
    z1, z2 = rng.normal(size=(N, len(TASKS))), rng.normal(size=(N, len(TASKS)))
    y = (z1 + z2 + 0.5 * rng.normal(size=z1.shape) > 0).astype(float)
    return z1, z2, y


def _write_run(run: Path, name: str, split: str, seed: int, sees: str) -> None:
    """metrics.json and both prediction tables of one member that sees latent ``sees``
    (``z1``, ``z2`` or ``none``: pure noise) through member-specific noise."""
    run.mkdir(parents=True)
    member_rng = np.random.default_rng([len(name), seed, SPLIT_ID[split]])
    mean = {"mean": {"roc_auc": 0.5}, "mean_ci_low": {"roc_auc": 0.4}, "mean_ci_high": {"roc_auc": 0.6}}  # fmt: skip
    for part, filename in (("valid", "valid_predictions.parquet"), ("test", "predictions.parquet")):
        z1, z2, y = _latents(split, seed, part)
        signal = {"z1": z1, "z2": z2, "none": np.zeros_like(z1)}[sees]
        score = 1 / (1 + np.exp(-(signal + 0.8 * member_rng.normal(size=z1.shape))))
        table = pd.DataFrame({"mol_id": [f"mol{i:06d}" for i in range(N)], "smiles": "C"})
        for j, task in enumerate(TASKS):
            table[task], table[f"{task}_true"] = score[:, j], y[:, j]
        table.to_parquet(run / filename)
    metrics = {"name": name, "model": "snn", "split": {"name": split}, "seed": seed,
               "task_type": "classification", "valid": mean, "test": mean}  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def models(tmp_path: Path) -> tuple[Path, Path]:
    """Members a, b (both see z1), noise members n, m; planted member c (sees z2) elsewhere."""
    models_dir, elsewhere = tmp_path / "models", tmp_path / "students"
    for split in ("random", "scaffold"):
        for seed in range(3):
            for name, sees in (("a", "z1"), ("b", "z1"), ("n", "none"), ("m", "none")):
                _write_run(models_dir / name / split / f"seed{seed}", name, split, seed, sees)
            _write_run(elsewhere / split / f"seed{seed}", "fnn_bn_fast", split, seed, "z2")
    return models_dir, elsewhere


def test_planted_member_adopted_noise_member_refused(models, capsys) -> None:
    models_dir, elsewhere = models
    argv = ["--models-dir", str(models_dir), "--base", "a", "b", "n", "--runs", f"c={elsewhere}",
            "--arm", "plus_c=+c", "--arm", "drop_noise=-n", "--arm", "drop_b=-b", "--arm", "plus_noise=+m"]  # fmt: skip
    assert ensemble_choices.main(argv) == 0
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if line.startswith("verdict")]
    assert verdicts == [
        "verdict plus_c vs base (6 pairs): adopt plus_c",
        "verdict drop_noise vs base (6 pairs): adopt drop_noise",
        "verdict drop_b vs base (6 pairs): adopt base",
        "verdict plus_noise vs base (6 pairs): adopt base",
    ]
    assert "== test" not in out  # test is printed only when asked for


def test_test_part_printed_on_request_without_verdicts(models, capsys) -> None:
    models_dir, elsewhere = models
    argv = ["--models-dir", str(models_dir), "--base", "a", "b", "--runs", f"c={elsewhere}",
            "--arm", "plus_c=+c", "--test"]  # fmt: skip
    assert ensemble_choices.main(argv) == 0
    test_part = capsys.readouterr().out.split("== test")[1]
    assert "plus_c vs base" in test_part and "verdict" not in test_part


def test_one_member_arms_compare_families(models, capsys) -> None:
    """The rule at family level: a lone run scored from its own predictions; a family that
    sees the signal replaces a noise family, and a noise family never replaces it."""
    models_dir, elsewhere = models
    argv = ["--models-dir", str(models_dir), "--base", "n", "--runs", f"c={elsewhere}",
            "--arm", "signal=+a,-n", "--arm", "noise=+m,-n", "--test"]  # fmt: skip
    assert ensemble_choices.main(argv) == 0
    verdicts = [line for line in capsys.readouterr().out.splitlines() if line.startswith("verdict")]
    assert verdicts == ["verdict signal vs base (6 pairs): adopt signal",
                        "verdict noise vs base (6 pairs): adopt base"]  # fmt: skip
    argv = ["--models-dir", str(models_dir), "--base", "a", "--arm", "noise=+n,-a"]
    assert ensemble_choices.main(argv) == 0
    assert "adopt base" in capsys.readouterr().out


@pytest.mark.parametrize("arm", ["x=+a", "x=-c", "x=a", "=+c", "x=", "x=-a,-b"])
def test_malformed_arm_stops(arm) -> None:
    with pytest.raises(SystemExit):
        ensemble_choices.parse_arm(arm, ["a", "b"])
