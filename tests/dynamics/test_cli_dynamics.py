"""`molprobe gradients` and `molprobe lstm-credit` on a small molecule table."""

import pandas as pd
import pytest
from rdkit import Chem

from molprobe.cli import main


@pytest.fixture
def molecules(tmp_path, tox21_path):
    df = pd.read_csv(tox21_path, nrows=300)
    df = df[[Chem.MolFromSmiles(s) is not None for s in df["smiles"]]].reset_index(drop=True)
    df.insert(0, "mol_id", [f"m{i}" for i in range(len(df))])
    path = tmp_path / "molecules.parquet"
    df.to_parquet(path, index=False)
    return path


@pytest.mark.slow
def test_gradients_command_writes_tables_and_plots(molecules, tmp_path, capsys):
    out = tmp_path / "dyn"
    rc = main(
        [
            "gradients",
            "--molecules",
            str(molecules),
            "--output",
            str(out / "g.parquet"),
            "--jacobian",
            str(out / "j.parquet"),
            "--plots-dir",
            str(out / "plots"),
            "--depths",
            "2",
            "4",
            "--archs",
            "sigmoid",
            "residual",
            "--seeds",
            "0",
            "--max-epochs",
            "2",
            "--width",
            "16",
            "--jacobian-molecules",
            "4",
            "--summary",
            str(out / "s.csv"),
            "--runs",
            str(out / "r.csv"),
            "--plot-depth",
            "4",
        ]
    )
    assert rc == 0
    g = pd.read_parquet(out / "g.parquet")
    assert set(g["arch"]) == {"sigmoid", "residual"} and set(g["depth"]) == {2, 4}
    assert len(pd.read_parquet(out / "j.parquet")) > 0
    for name in ("gradient_profile.png", "gradient_ratio.png", "jacobian.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    assert set(g["stage"]) == {"init", "epoch1", "final"}
    s = pd.read_csv(out / "s.csv")
    assert {"error_signal_ratio", "weight_grad_ratio", "meanfield_ratio"} <= set(s.columns)
    assert len(pd.read_csv(out / "r.csv")) == 2 * 2  # archs x depths x 1 seed
    assert "layer1/layerL error signal" in capsys.readouterr().out
    assert not list(out.glob(".*tmp*"))  # no temp files left behind


@pytest.mark.slow
def test_lstm_credit_command(molecules, tmp_path):
    out = tmp_path / "dyn"
    rc = main(
        [
            "lstm-credit",
            "--molecules",
            str(molecules),
            "--output",
            str(out / "c.parquet"),
            "--through-time",
            str(out / "t.parquet"),
            "--summary",
            str(out / "s.csv"),
            "--plots-dir",
            str(out / "plots"),
            "--steps",
            "3",
            "--hidden",
            "8",
            "--embed",
            "8",
            "--n-train",
            "100",
            "--molecules-per-group",
            "2",
            "--randomizations",
            "3",
            "--augment-variants",
            "2",
            "--ig-steps",
            "2",
            "--through-time-molecules",
            "16",
        ]
    )
    assert rc == 0
    assert len(pd.read_parquet(out / "c.parquet")) > 0
    assert set(pd.read_parquet(out / "t.parquet")["arch"]) == {"rnn", "lstm", "gru"}
    assert "within_slope" in pd.read_csv(out / "s.csv").columns
    for name in ("credit_position.png", "prediction_spread.png", "through_time.png"):
        assert (out / "plots" / name).stat().st_size > 1000


def test_unknown_task_is_a_user_error(molecules, tmp_path, capsys):
    rc = main(
        [
            "lstm-credit",
            "--molecules",
            str(molecules),
            "--output",
            str(tmp_path / "c.parquet"),
            "--task",
            "NOT-A-TASK",
        ]
    )
    assert rc == 2
    assert "NOT-A-TASK" in capsys.readouterr().err


@pytest.mark.slow
def test_planted_credit_command(molecules, tmp_path, capsys):
    out = tmp_path / "pc"
    args = ["planted-credit", "--molecules", str(molecules), "--output", str(out / "c.parquet")]
    args += ["--model-table", str(out / "m.csv"), "--summary", str(out / "s.csv")]
    args += ["--plots-dir", str(out / "plots"), "--archs", "lstm", "gru", "--seeds", "0"]
    args += ["--steps", "20", "--max-positives", "6", "--randomizations", "2", "--ig-steps", "4"]
    args += ["--augment-variants", "2"]
    assert main(args) == 0
    c = pd.read_parquet(out / "c.parquet")
    assert set(c["arch"]) == {"lstm", "gru"} and c["credit_share"].between(0, 1).all()
    s = pd.read_csv(out / "s.csv")
    assert {"roc_auc", "within_slope", "verdict", "ablation_verdict"} <= set(s.columns)
    assert (out / "plots" / "planted_credit.png").stat().st_size > 1000
    assert "ROC-AUC" in capsys.readouterr().out
