"""AttentiveFP attention enrichment: the statistic on planted controls, and a small real run."""

import numpy as np
import pandas as pd
import pytest
import torch

from molprobe.dynamics.attention import (
    CONDITIONS,
    AttentionConfig,
    attention_enrichment,
    run_attention,
)


def test_enrichment_finds_planted_attention_and_nothing_in_noise():
    rng = np.random.default_rng(0)
    marked = np.zeros(20, dtype=bool)
    marked[[3, 4, 5]] = True
    focused = rng.random(20) * 0.1
    focused[marked] += 1.0  # attention on the marked atoms
    assert attention_enrichment(focused, marked) == 1.0
    noise = [attention_enrichment(rng.random(20), marked) for _ in range(300)]
    assert abs(np.mean(noise) - 0.5) < 0.03
    assert np.isnan(attention_enrichment(np.ones(4), np.ones(4, dtype=bool)))


@pytest.mark.slow
def test_attention_run_has_every_condition(tox21_path):
    torch.set_num_threads(1)
    df = pd.read_csv(tox21_path)
    config = AttentionConfig(task="SR-ARE", task_molecules=150, seeds=(0,), epochs=1, width=16)
    table, summary = run_attention(df["smiles"].tolist(), df, config)
    assert set(summary["condition"]) == set(CONDITIONS)
    assert set(summary["setting"]) == {"planted_nitro", "SR-ARE"}
    assert table["enrichment"].dropna().between(0, 1).all()
    planted = table[table["setting"] == "planted_nitro"]
    assert (planted["n_marked"] == 3).all() and planted["molecule"].nunique() > 20
    np.testing.assert_allclose(summary["share_ratio"] > 0, True)
