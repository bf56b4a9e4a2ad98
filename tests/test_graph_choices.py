"""scripts/graph_choices.py: the arms' training params and the summary's verdicts per reference arm."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import graph_choices  # noqa: E402

COLUMNS = graph_choices.COLUMNS


def _write(path: Path, offsets: dict[str, dict[str, float]]) -> Path:
    """A CSV with arms at 0.82 + offset[arm][split] + a small per-seed wiggle (ROC-AUC)."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for arm, by_split in offsets.items():
            for split, off in by_split.items():
                for seed in range(3):
                    writer.writerow({
                        "model": "attentivefp", "arm": arm, "split": split, "seed": seed,
                        "valid_mean_roc_auc": round(0.82 + off + 0.001 * seed * (arm == "A"), 5),
                        "best_epoch": 18, "epochs_run": 20, "wall_s": 150.0, "cpu_s": 148.0,
                        "started_utc": "2026-12-02 00:00:00",
                    })  # fmt: skip
    return path


def _verdicts(capsys, path: Path, reference: str | None) -> list[str]:
    argv = ["--summarize", str(path)] + (["--reference", reference] if reference else [])
    assert graph_choices.main(argv) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("verdict")]


def _params(arm: str, tmp_path: Path) -> dict:
    """The ``--params`` JSON of the arm's training command (AttentiveFP, scaffold, seed 0)."""
    args = argparse.Namespace(workdir=str(tmp_path), dataset="tox21", model="attentivefp")
    cmd = graph_choices.train_command(args, arm, "scaffold", 0, tmp_path / "out")
    return json.loads(cmd[cmd.index("--params") + 1])


def test_arm_epochs_override_the_family(tmp_path) -> None:
    assert _params("D", tmp_path) == {"epochs": 30, "lr_schedule": "cosine"}
    assert _params("B", tmp_path) == {"epochs": 20, "lr_schedule": "cosine"}
    assert _params("E", tmp_path) == {"epochs": 20, "lr_schedule": "plateau"}


def test_default_reference_is_a(tmp_path, capsys) -> None:
    both = {"scaffold": 0.0, "random": 0.0}
    path = _write(
        tmp_path / "runs.csv",
        {
            "A": both,
            "B": {"scaffold": 0.01, "random": 0.01},
            "C": {"scaffold": -0.004, "random": -0.004},
        },
    )
    assert _verdicts(capsys, path, None) == [
        "verdict B vs A (6 pairs): drop the descriptor side channel (arm B)",
        "verdict C vs A (6 pairs): keep the cosine schedule",
    ]


@pytest.mark.parametrize(
    ("d_offsets", "d_adopted"),
    [
        ({"scaffold": 0.004, "random": 0.004}, True),
        ({"scaffold": 0.001, "random": 0.001}, False),  # below +0.002
        ({"scaffold": 0.010, "random": -0.001}, False),  # one split negative
    ],
)
def test_reference_b_costlier_and_same_cost_rules(tmp_path, capsys, d_offsets, d_adopted) -> None:
    zero = {"scaffold": 0.0, "random": 0.0}
    path = _write(
        tmp_path / "runs.csv",
        {"B": zero, "D": d_offsets, "E": {"scaffold": -0.001, "random": -0.001}},
    )
    d_line = "drop the 20 epochs (arm D)" if d_adopted else "keep the 20 epochs"
    assert _verdicts(capsys, path, "B") == [
        f"verdict D vs B (6 pairs): {d_line}",
        "verdict E vs B (6 pairs): drop the cosine schedule (arm E)",
    ]


def test_arm_f_is_d_with_plateau(tmp_path) -> None:
    assert _params("F", tmp_path) == {"epochs": 30, "lr_schedule": "plateau"}


@pytest.mark.parametrize(("f_offset", "f_adopted"), [(-0.001, True), (-0.003, False)])
def test_reference_d_same_cost_rule(tmp_path, capsys, f_offset, f_adopted) -> None:
    path = _write(
        tmp_path / "runs.csv",
        {"D": {"scaffold": 0.0, "random": 0.0}, "F": {"scaffold": f_offset, "random": f_offset}},
    )
    f_line = "drop the cosine schedule (arm F)" if f_adopted else "keep the cosine schedule"
    assert _verdicts(capsys, path, "D") == [f"verdict F vs D (6 pairs): {f_line}"]
