# Report: figures and tables of every stage for `snakemake --report results/report.html`.
#
# Each stage has one rule `report_<stage>` that reads that stage's tables and calls
# `molprobe report <stage>`; its outputs are marked report(...) with a caption in
# workflow/report/. `report_targets()` lists the outputs of the stages that are enabled
# (config `report: stages:`, default [data]); a stage is enabled once its rules exist.
# `rule report_figures` builds all of them: `snakemake report_figures`.


rule report_data:
    input:
        molecules=f"{RESULTS}/{{dataset}}/data/molecules.parquet",
        rejected=f"{RESULTS}/{{dataset}}/data/rejected.csv",
        summary=f"{RESULTS}/{{dataset}}/data/standardize.json",
        splits=report_split_files,
    output:
        overview=_item(
            f"{REPORT}/{{dataset}}/data/overview.html",
            "data_overview",
            "data",
            "{dataset}",
            figure="1 overview",
        ),
        tasks_png=_item(
            f"{REPORT}/{{dataset}}/data/tasks.png",
            "data_tasks",
            "data",
            "{dataset}",
            figure="2 labels per task (plot)",
        ),
        tasks=_item(
            f"{REPORT}/{{dataset}}/data/tasks.html",
            "data_tasks",
            "data",
            "{dataset}",
            figure="2 labels per task (table)",
        ),
        ledger_png=_item(
            f"{REPORT}/{{dataset}}/data/ledger.png",
            "data_ledger",
            "data",
            "{dataset}",
            figure="3 standardization ledger (plot)",
        ),
        ledger=_item(
            f"{REPORT}/{{dataset}}/data/ledger.html",
            "data_ledger",
            "data",
            "{dataset}",
            figure="3 standardization ledger (table)",
        ),
        splits_png=_item(
            f"{REPORT}/{{dataset}}/data/splits.png",
            "data_splits",
            "data",
            "{dataset}",
            figure="4 splits and scaffolds (plot)",
        ),
        splits=_item(
            f"{REPORT}/{{dataset}}/data/splits.html",
            "data_splits",
            "data",
            "{dataset}",
            figure="4 splits and scaffolds (table)",
        ),
        examples=_item(
            f"{REPORT}/{{dataset}}/data/examples.svg",
            "data_examples",
            "data",
            "{dataset}",
            figure="5 example molecules",
        ),
        rejected_svg=_item(
            f"{REPORT}/{{dataset}}/data/rejected.svg",
            "data_rejected",
            "data",
            "{dataset}",
            figure="6 rejected inputs (structures)",
        ),
        rejected=_item(
            f"{REPORT}/{{dataset}}/data/rejected.html",
            "data_rejected",
            "data",
            "{dataset}",
            figure="6 rejected inputs (table)",
        ),
        headline=f"{REPORT}/{{dataset}}/data/headline.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/report_data.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        outdir=lambda wc: f"{REPORT}/{wc.dataset}/data",
        n=lambda wc: report_settings()["n_examples"],
    shell:
        "molprobe report data --dataset {wildcards.dataset:q} --molecules {input.molecules:q}"
        " --rejected {input.rejected:q} --summary {input.summary:q} --splits {input.splits:q}"
        " --n-examples {params.n} --output-dir {params.outdir:q} > {log:q} 2>&1"


# -------------------------------------------------------------------------------- models
# Input: results/{dataset}/comparison.csv (`molprobe compare`); the run folders below
# results/{dataset}/models/ are complete once it exists.


rule report_models:
    # reads the comparison and the configured runs' histories and predictions, nothing else
    input:
        comparison=f"{RESULTS}/{{dataset}}/comparison.csv",
        metrics=lambda wc: model_metrics(wc.dataset),
        histories=lambda wc: [
            os.path.join(os.path.dirname(m), "history.csv")
            for m in model_metrics(wc.dataset)
        ],
        predictions=lambda wc: [
            os.path.join(os.path.dirname(m), "predictions.parquet")
            for m in model_metrics(wc.dataset)
        ],
    output:
        comparison=_item(
            f"{REPORT}/{{dataset}}/models/comparison.html",
            "models_comparison",
            "models",
            "{dataset}",
            figure="1 comparison (table)",
        ),
        comparison_png=_item(
            f"{REPORT}/{{dataset}}/models/comparison.png",
            "models_comparison",
            "models",
            "{dataset}",
            figure="1 comparison (plot)",
        ),
        roc_pr=_item(
            f"{REPORT}/{{dataset}}/models/roc_pr.png",
            "models_roc_pr",
            "models",
            "{dataset}",
            figure="2 ROC and PR curves, best model",
        ),
        training=_item(
            f"{REPORT}/{{dataset}}/models/training.png",
            "models_training",
            "models",
            "{dataset}",
            figure="3 training curves",
        ),
        headline=f"{REPORT}/{{dataset}}/models/headline.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/report_models.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        outdir=lambda wc: f"{REPORT}/{wc.dataset}/models",
        runs=lambda wc, input: [os.path.dirname(m) for m in input.metrics],
    shell:
        "molprobe report models --dataset {wildcards.dataset:q} --comparison {input.comparison:q}"
        " --runs {params.runs:q} --output-dir {params.outdir:q} > {log:q} 2>&1"


rule report_depth:
    # the depth experiment's table (model, depth, mean[, std]); path from `report: depth_table:`
    input:
        lambda wc: report_settings()["depth_table"].format(dataset=wc.dataset),
    output:
        _item(
            f"{REPORT}/{{dataset}}/models/depth.png",
            "models_depth",
            "models",
            "{dataset}",
            figure="4 depth experiment",
        ),
    log:
        f"{RESULTS}/logs/{{dataset}}/report_depth.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    shell:
        "molprobe report depth --table {input:q} --output {output:q} > {log:q} 2>&1"


# -------------------------------------------------------------------------------- probes


rule report_probes:
    input:
        probes=f"{RESULTS}/{{dataset}}/probes/{{model}}/probes.parquet",
        neurons=f"{RESULTS}/{{dataset}}/probes/{{model}}/neurons.parquet",
        examples=f"{RESULTS}/{{dataset}}/probes/{{model}}/examples.parquet",
    output:
        heatmap=_item(
            f"{REPORT}/{{dataset}}/probes/{{model}}/heatmap.png",
            "probes_heatmap",
            "probes",
            "{dataset}: {model}",
            figure="1 layer × concept heatmap",
        ),
        curves=_item(
            f"{REPORT}/{{dataset}}/probes/{{model}}/curves.png",
            "probes_curves",
            "probes",
            "{dataset}: {model}",
            figure="2 emergence curves per level",
        ),
        neurons=_item(
            f"{REPORT}/{{dataset}}/probes/{{model}}/neurons.html",
            "probes_neurons",
            "probes",
            "{dataset}: {model}",
            figure="3 concept neurons (table)",
        ),
        neurons_svg=_item(
            f"{REPORT}/{{dataset}}/probes/{{model}}/neurons.svg",
            "probes_neurons",
            "probes",
            "{dataset}: {model}",
            figure="3 concept neurons (molecules)",
        ),
        headline=f"{REPORT}/{{dataset}}/probes/{{model}}/headline.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/report_probes_{{model}}.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        outdir=lambda wc: f"{REPORT}/{wc.dataset}/probes/{wc.model}",
    shell:
        "molprobe report probes --model {wildcards.model:q} --probes {input.probes:q}"
        " --neurons {input.neurons:q} --examples {input.examples:q} --output-dir {params.outdir:q}"
        " > {log:q} 2>&1"


# ------------------------------------------------------------------------------ dynamics


rule report_dynamics:
    input:
        gradients=f"{RESULTS}/dynamics/gradients.parquet",
        credit=f"{RESULTS}/dynamics/lstm_credit_summary.csv",
        through_time=f"{RESULTS}/dynamics/through_time.parquet",
    output:
        gradients=_item(
            f"{REPORT}/dynamics/gradients.png",
            "dynamics_gradients",
            "dynamics",
            "gradients",
            figure="gradient norms through depth",
        ),
        credit=_item(
            f"{REPORT}/dynamics/lstm_credit.png",
            "dynamics_lstm_credit",
            "dynamics",
            "LSTM credit assignment",
            figure="credit slope (plot)",
        ),
        credit_table=_item(
            f"{REPORT}/dynamics/lstm_credit.html",
            "dynamics_lstm_credit",
            "dynamics",
            "LSTM credit assignment",
            figure="credit slope (table)",
        ),
        through_time=_item(
            f"{REPORT}/dynamics/through_time.png",
            "dynamics_through_time",
            "dynamics",
            "gradients through time",
            figure="gradient norm against distance from the end of the SMILES",
        ),
        headline=f"{REPORT}/dynamics/headline.json",
    log:
        f"{RESULTS}/logs/report_dynamics.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        outdir=lambda wc, output: os.path.dirname(output.gradients),
    shell:
        "molprobe report dynamics --gradients {input.gradients:q} --lstm-credit {input.credit:q}"
        " --through-time {input.through_time:q}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


# ------------------------------------------------------------------------------- screen
# Conformal sets of the hit list: Mondrian thresholds per task from the validation parts of
# the screening families' runs on `screen.split` (all seeds; test is not read), at the error
# rate `report: conformal_alpha:` (null: no sets); helpers in common.smk.


rule conformal:
    input:
        valid=lambda wc: [
            f"{d}/valid_predictions.parquet" for d in conformal_runs(wc.dataset)
        ],
        metrics=lambda wc: [f"{d}/metrics.json" for d in conformal_runs(wc.dataset)],
    output:
        f"{RESULTS}/{{dataset}}/conformal.csv",
    log:
        f"{RESULTS}/logs/{{dataset}}/conformal.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        runs=lambda wc: conformal_runs(wc.dataset),
        alpha=lambda wc: report_settings()["conformal_alpha"],
    shell:
        "molprobe conformal {params.runs:q} --alpha {params.alpha} --output {output:q}"
        " > {log:q} 2>&1"


rule report_screen:
    input:
        unpack(conformal_input),
        hits=f"{RESULTS}/{{dataset}}/screen/{{library}}/hits.parquet",
        top=f"{RESULTS}/{{dataset}}/screen/{{library}}/hits.top.explained.csv",
    output:
        hits_svg=_item(
            f"{REPORT}/{{dataset}}/screen/{{library}}/hits.svg",
            "screen_hits",
            "screen",
            "{dataset}: {library}",
            figure="1 top hits (structures)",
        ),
        hits=_item(
            f"{REPORT}/{{dataset}}/screen/{{library}}/hits.html",
            "screen_hits",
            "screen",
            "{dataset}: {library}",
            figure="1 top hits (table)",
        ),
        scores=_item(
            f"{REPORT}/{{dataset}}/screen/{{library}}/scores.png",
            "screen_scores",
            "screen",
            "{dataset}: {library}",
            figure="2 score distribution",
        ),
        headline=f"{REPORT}/{{dataset}}/screen/{{library}}/headline.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/report_screen_{{library}}.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        outdir=lambda wc: f"{REPORT}/{wc.dataset}/screen/{wc.library}",
        n=lambda wc: report_settings()["n_hits"],
        conformal=lambda wc, input: (
            f"--conformal {input.conformal}" if "conformal" in input.keys() else ""
        ),
    shell:
        "molprobe report screen --library {wildcards.library:q} --hits {input.hits:q}"
        " --top {input.top:q} --n-top {params.n} {params.conformal}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


# ------------------------------------------------------------------------------- summary


rule report_summary:
    input:
        headlines=report_headlines(),
    output:
        rst=f"{REPORT}/summary.rst",
        html=report(
            f"{REPORT}/summary.html",
            caption="../report/summary.rst",
            category=CATEGORY["summary"],
            labels={"figure": "2 headline numbers"},
        ),
    log:
        f"{RESULTS}/logs/report_summary.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    shell:
        "molprobe report summary --headlines {input.headlines:q} --rst {output.rst:q}"
        " --html {output.html:q} > {log:q} 2>&1"


# ------------------------------------------------------------------------------ findings
# One verdict per question (pass/warn/fail) from the stage tables; the first report item.
# Each stage's newest table is taken when its rule declares it (rules.<stage>.output),
# else the older one: probing verdict.md or probes.parquet, gradient_summary.csv or
# gradients.parquet, shortcut findings.csv or findings.md.


rule report_findings:
    input:
        unpack(findings_inputs),
    output:
        html=report(
            f"{REPORT}/{{dataset}}/findings.html",
            caption="../report/findings.rst",
            category=CATEGORY["summary"],
            subcategory="{dataset}",
            labels={"figure": "1 findings: one verdict per question"},
        ),
        csv=f"{REPORT}/{{dataset}}/findings.csv",
    log:
        f"{RESULTS}/logs/{{dataset}}/report_findings.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        args=findings_args,
    shell:
        "molprobe report findings --dataset {wildcards.dataset:q}"
        " --headlines {input.headlines:q} {params.args}"
        " --html {output.html:q} --csv {output.csv:q} > {log:q} 2>&1"


rule report_figures:
    default_target: False
    input:
        report_targets(),
