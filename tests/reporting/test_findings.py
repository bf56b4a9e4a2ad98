"""The findings page: verdicts from small stage tables built here (planted outcomes each
function must find, and the opposite where it must not), the HTML page and the CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from molprobe.cli import main
from molprobe.reporting import findings as fd
from molprobe.reporting.findings_page import findings_html
from molprobe.reporting.findings_report import FindingsInputs, findings_report
from molprobe.reporting.structures import ascii_label, draw_grid


def comparison(deep: list[float], base: list[float], split: str = "scaffold") -> pd.DataFrame:
    rows = []
    for name, model, vals in (("snn", "snn", deep), ("rf", "rf", base)):
        for seed, v in enumerate(vals):
            rows.append(dict(name=name, model=model, split=split, seed=seed, metric="roc_auc",
                             value=v, ci_low=v - 0.03, ci_high=v + 0.03))  # fmt: skip
    rows.append(dict(name="snn", model="snn", split=split, seed="mean", metric="roc_auc",
                     value=np.mean(deep), ci_low=np.nan, ci_high=np.nan))  # fmt: skip
    return pd.DataFrame(rows)


def test_model_verdict_follows_the_paired_interval():
    win = fd.model_findings(comparison([0.80, 0.81, 0.82], [0.70, 0.71, 0.72]))
    assert [f.flag for f in win] == ["pass"] and "Δroc_auc +0.100" in win[0].number
    assert "paired over 3 seeds" in win[0].number
    lose = fd.model_findings(comparison([0.60, 0.61, 0.62], [0.70, 0.71, 0.72]))
    assert lose[0].flag == "fail" and "loses to" in lose[0].verdict
    tie = fd.model_findings(comparison([0.70, 0.75, 0.66], [0.70, 0.71, 0.72]))
    assert tie[0].flag == "warn"
    one = fd.model_findings(comparison([0.75], [0.74]))  # 1 seed: bootstrap CIs combined
    assert one[0].flag == "warn" and "1 seed" in one[0].number
    no_base = fd.model_findings(comparison([0.8], [0.7]).query("model != 'rf'"))
    assert no_base[0].flag == "info"
    ece = pd.DataFrame(
        {"name": ["snn", "rf", "gine"], "split": "scaffold", "ece": [0.2, 0.03, 0.1]}
    )
    cal = fd.model_findings(comparison([0.8], [0.7]), ece)
    assert [f.flag for f in cal[1:]] == ["fail", "pass"]  # the compared two only, not gine
    assert "ECE 0.200" in cal[1].number


def test_expected_calibration_error():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    calibrated = (rng.uniform(size=p.size) < p).astype(float)
    assert fd.expected_calibration_error(calibrated, p) < 0.02
    assert fd.expected_calibration_error(calibrated, np.clip(p + 0.3, 0, 1)) > 0.2
    assert np.isnan(fd.expected_calibration_error([np.nan], [0.5]))


def test_gradient_verdicts_find_vanishing_and_kept():
    rows = []
    for arch, factor in (("sigmoid", 0.25), ("selu", 1.0), ("relu_bn", 1.6)):
        for seed in range(3):
            for depth in (2, 8):
                for layer in range(1, depth + 1):
                    rows.append(dict(arch=arch, depth=depth, layer=layer, step=5, seed=seed,
                                     error_signal=factor ** (depth - layer) * (1 + 0.01 * seed)))  # fmt: skip
    ratios = fd.gradient_ratios(pd.DataFrame(rows))
    assert set(ratios["arch"]) == {"sigmoid", "selu", "relu_bn"} and len(ratios) == 6
    r = ratios.set_index(["arch", "depth"])["ratio"]
    assert r["sigmoid", 8] == pytest.approx(0.25**7, rel=1e-6) and r["selu", 8] == pytest.approx(1)
    found = {f.question: f for f in fd.dynamics_findings(ratios)}
    assert found["Does the gradient vanish in sigmoid at 8 layers?"].flag == "fail"
    assert found["Does the gradient vanish in selu at 8 layers?"].flag == "pass"
    assert (
        found["Does the gradient vanish in relu_bn at 8 layers?"].flag == "fail"
    )  # 1.6^7 explodes
    remedy = found["Which architectures keep the gradient at depth?"]
    assert remedy.verdict.endswith("selu.") and remedy.number.index("selu") < remedy.number.index(
        "sigmoid"
    )
    table = fd.ratio_table(ratios)
    assert list(table["arch"]) == ["sigmoid", "selu", "relu_bn"] and table.shape == (3, 3)
    # the summary table of the dynamics stage is read as it is
    summary = pd.DataFrame(dict(arch=["tanh"], depth=[16], stage=["init"], n_seeds=[3],
                                error_signal_ratio=[0.05], error_signal_ratio_low=[0.04],
                                error_signal_ratio_high=[0.06]))  # fmt: skip
    only = fd.dynamics_findings(fd.gradient_ratios(summary))
    assert only[0].flag == "fail" and "[0.04, 0.06]" in only[0].number


def test_depth_and_credit_verdicts():
    depth = pd.DataFrame(dict(model=["snn"] * 2 + ["fnn_bn"] * 2, depth=[2, 16, 2, 16],
                              mean=[0.80, 0.80, 0.80, 0.74], std=[0.01] * 4))  # fmt: skip
    got = {f.question: f.flag for f in fd.depth_findings(depth)}
    assert got == {"Does fnn_bn keep its accuracy with depth?": "fail",
                   "Does snn keep its accuracy with depth?": "pass"}  # fmt: skip
    wide = depth.drop(columns="std").assign(ci_low=depth["mean"] - 0.2, ci_high=depth["mean"] + 0.2)
    unsure = {f.question: f for f in fd.depth_findings(wide)}[
        "Does fnn_bn keep its accuracy with depth?"
    ]
    assert unsure.flag == "warn" and "bootstrap CIs combined" in unsure.number
    rng = np.random.default_rng(1)
    credit = pd.DataFrame(dict(arch="lstm", augmented=[False] * 3 + [True] * 3, seed=[0, 1, 2] * 2, group="all",
                               slope=[0.30, 0.31, 0.29] + list(rng.normal(0, 0.01, 3))))  # fmt: skip
    flags = [f.flag for f in fd.credit_findings(credit)]
    assert flags == ["fail", "pass"]
    assert fd.credit_findings(credit.head(1))[0].flag == "warn"  # one seed: no judgement
    groups = pd.concat([credit, credit.assign(group="nitro", slope=5.0)])  # the pooled row is read
    assert [f.flag for f in fd.credit_findings(groups)] == ["fail", "pass"]


VERDICT = """# Probing verdict: snn

snn: the ordering radicals -> centres -> pharmacophores does not hold; the order found is centres <= radicals <= pharmacophores (emergence: radicals at block2 (2.0 [1.0, 3.0]), ...).

Level 1: the net uses the erased concepts (mean drop 0.050 vs 0.001 for random subspaces).

Level 2: the net shows no sign of using the erased concepts (mean drop 0.000 vs 0.001 for random subspaces).
"""


def test_probe_verdicts_from_verdict_md():
    got = fd.probe_findings("snn", VERDICT)
    assert [f.flag for f in got] == ["fail", "pass", "warn"]
    assert "radicals at block2" in got[0].number and "mean drop 0.050" in got[1].number
    held = VERDICT.replace(
        "does not hold; the order found is centres <= radicals <= pharmacophores", "holds"
    )
    assert fd.probe_findings("snn", held)[0].flag == "pass"
    overlap = VERDICT.replace("does not hold; the order found is centres <= radicals <= pharmacophores",
                              "holds in the point estimates only (the intervals overlap)")  # fmt: skip
    assert fd.probe_findings("snn", overlap)[0].flag == "warn"
    probes = pd.DataFrame(dict(layer=["input", "block1"], concept=["acid", "acid"], auc=[0.6, 0.9]))
    # the sentence of main's verdict.md (peaks instead of emergence)
    main = "gine: the ordering radicals -> centres -> pharmacophores holds only weakly (two levels peak at the same layer) (gain peaks at mp1 for radicals, mp1 for interaction centres and pool for pharmacophores)."
    weak = fd.probe_findings("gine", main)[0]
    assert weak.flag == "warn" and weak.verdict.endswith("(two levels peak at the same layer)")
    assert weak.number.startswith("gain peaks at mp1")
    fallback = fd.probe_findings("gine", None, probes)
    assert fallback[0].flag == "info" and "block1" in fallback[0].verdict


def hits(in_domain: list[bool], alerts: list[str]) -> pd.DataFrame:
    n = len(in_domain)
    return pd.DataFrame(dict(id=[f"m{i}" for i in range(n)], smiles=["c1ccccc1O"] * n,
                             score=np.linspace(0.9, 0.5, n), NR_AhR=np.linspace(0.9, 0.5, n),
                             NR_AhR_std=0.1, SR_p53=0.2, SR_p53_std=0.3, in_domain=in_domain,
                             alerts=alerts))  # fmt: skip


def test_screen_and_shortcut_verdicts():
    out = fd.screen_findings(
        "muv", hits([False] * 19 + [True], [""] * 18 + ["nitro", "nitro; azo"]), 300
    )
    assert out[0].verdict.startswith("300 scored, top 20 hits; best score 0.90 +/- 0.10")
    assert out[1].flag == "warn" and out[1].number == "1/20 in domain"
    assert out[2].flag == "warn" and "(azo, nitro)" in out[2].verdict
    good = fd.screen_findings("muv", hits([True] * 4, [""] * 4))
    assert [f.flag for f in good] == ["info", "pass", "pass"]
    flags = pd.DataFrame(dict(check=["analog bias", "randomized labels"], subject=["snn", "rf"],
                              measured=["AUC gap", "AUC"], value=[0.12, 0.58], ci_low=[0.05, np.nan],
                              ci_high=[0.2, np.nan], n=[3, 1],
                              text=["snn looks analog-driven [x]", "rf leaks [y]"]))  # fmt: skip
    got = fd.shortcut_findings("tox21", flags)
    assert [f.flag for f in got] == ["warn", "warn"] and got[
        0
    ].number == "AUC gap 0.120 [0.050, 0.200]"
    assert got[1].number.endswith("(no interval)")
    md = "# Shortcut audit\n\n## Flags\n\n- **snn** looks bad [gap: 0.1]\n\n## Analog bias\n\n- not a flag\n"
    from_md = fd.shortcut_findings("tox21", markdown=md)
    assert len(from_md) == 1 and from_md[0].number == "gap: 0.1"
    clean = fd.shortcut_findings("tox21", flags.iloc[:0])
    assert [f.flag for f in clean] == ["pass"]


def test_findings_page_has_every_stage_and_no_placeholder():
    inputs = FindingsInputs(
        dataset="tox21",
        headlines=[
            {
                "stage": "data",
                "name": "tox21",
                "lines": ["300 input rows -> 290 kept.", "12 tasks."],
            }
        ],
        comparison=comparison([0.80, 0.81, 0.82], [0.70, 0.71, 0.72]),
        probe_verdicts={"snn": VERDICT},
        gradients=pd.DataFrame(
            dict(arch="selu", depth=4, layer=[1, 2, 3, 4], step=1, grad_norm_weight=1.0)
        ),
        hits={"muv": hits([True, False], ["", "nitro"])},
        shortcut_flags=pd.DataFrame(
            columns=["check", "subject", "measured", "value", "ci_low", "ci_high", "n", "text"]
        ),  # fmt: skip
    )
    page, table = findings_report(inputs)
    assert set(table["stage"]) == {"data", "models", "probes", "dynamics", "screen", "shortcuts"}
    for stage in ("models", "probes", "dynamics", "screen", "shortcuts"):
        assert f'<h2 id="{stage}">' in page
        assert f'data-stage="{stage}"' in page
    assert page.count('class="verdict"') == len(table)
    assert "data:image/svg+xml;base64," in page  # the inline hit structures
    assert not re.search(r"\{[a-z_]+\}", page)
    assert "weight gradient norm" in page  # the quantity is named (this table had no error signal)
    with pytest.raises(ValueError):
        fd.Finding("x", "q", "green", "v")
    assert "<h1>t</h1>" in findings_html("t", [])


def test_labels_drawn_in_ascii_outside_rdkit():
    assert ascii_label("score 0.43 ± 0.14 (−) · x … ≥") == "score 0.43 +/- 0.14 (-) , x ... >="
    svg = draw_grid(["CCO", "c1ccccc1O"], ["score 0.43 ± 0.14", "unit 38: 1.45 (−)\nAUC 0.91"],
                    atom_weights=[None, [0, 0, 0, 0, 0, -0.5, 1.0]])  # fmt: skip
    texts = re.findall(r'<text class="legend"[^>]*font-size="(\d+)"[^>]*>([^<]*)</text>', svg)
    assert [t for _, t in texts] == ["score 0.43 +/- 0.14", "unit 38: 1.45 (-)", "AUC 0.91"]
    assert all(int(size) >= 12 for size, _ in texts)  # >= 9 pt
    assert "(+) red" in svg and "(-) blue" in svg  # the colour key of the attributions
    assert all(ord(c) < 128 for c in svg)


def test_cli_writes_findings(tmp_path, capsys):
    comp = tmp_path / "comparison.csv"
    comparison([0.80, 0.81, 0.82], [0.70, 0.71, 0.72]).to_csv(comp, index=False)
    verdict = tmp_path / "verdict.md"
    verdict.write_text(VERDICT)
    head = tmp_path / "headline.json"
    head.write_text(json.dumps({"stage": "data", "name": "tox21", "lines": ["a."]}))
    top = tmp_path / "hits.top.csv"
    hits([True, False], ["", "nitro"]).to_csv(top, index=False)
    md = tmp_path / "findings.md"
    md.write_text("# x\n\n## Flags\n\nNo model or task looks shortcut-driven.\n")
    cmd = ["report", "findings", "--dataset", "tox21",
           "--headlines", str(head), "--comparison", str(comp), "--probe-verdict", f"snn={verdict}",
           "--hits", f"muv={top}", "--shortcuts", str(md), "--html", str(tmp_path / "f.html"),
           "--csv", str(tmp_path / "f.csv")]  # fmt: skip
    assert main(cmd) == 0
    table = pd.read_csv(tmp_path / "f.csv")
    assert list(table["flag"]) == [
        "info",
        "pass",
        "fail",
        "pass",
        "warn",
        "info",
        "pass",
        "warn",
        "pass",
    ]
    # an option given twice (as the rule writes it per model) keeps both
    assert main(cmd + ["--probe-verdict", f"gine={verdict}"]) == 0
    assert set(pd.read_csv(tmp_path / "f.csv")["question"].str.split(":").str[0]) >= {"snn", "gine"}
    assert main(cmd[:-4] + ["--hits", "nonsense", "--html", "x", "--csv", "y"]) != 0
    assert "NAME=PATH" in capsys.readouterr().err


def test_hit_table_puts_triage_columns_first_and_keeps_every_row():
    from molprobe.reporting.hits import hit_table_page, triage_frames

    top = hits([True, False, True], ["", "nitro", ""]).assign(std_smiles="c1ccccc1O", row=[4, 9, 2])
    front, details = triage_frames(top)
    assert list(front.columns) == ["rank", "id", "score", "spread", "top_task", "in_domain",
                                   "alerts", "smiles"]  # fmt: skip
    assert "input_smiles" not in front.columns  # identical to the standardized SMILES here
    assert list(details.columns) == ["NR_AhR", "NR_AhR_std", "SR_p53", "SR_p53_std"]
    assert list(front["top_task"]) == ["NR_AhR"] * 3 and front["spread"].tolist() == [0.1] * 3
    changed = top.assign(smiles=["c1ccccc1[O-].[Na+]", "c1ccccc1O", "c1ccccc1O"])
    assert list(triage_frames(changed)[0]["input_smiles"]) == ["c1ccccc1[O-].[Na+]", "", ""]
    big = pd.concat([top] * 40, ignore_index=True)  # 120 rows: paged, none cut
    page, csv = hit_table_page("muv", big)
    assert page.count('<img class="thumb"') == 120 and page.count("<details>") == 120
    assert "2 of 3 inside" not in page and "80 of 120 inside the applicability domain" in page
    assert len(csv.splitlines()) == 121
