# Train every configured model family on every split and seed; compare; depth experiment.


rule train:
    input:
        unpack(train_inputs),
    output:
        meta="results/{dataset}/models/{model}/{split}/seed{seed}/meta.json",
        metrics="results/{dataset}/models/{model}/{split}/seed{seed}/metrics.json",
        predictions="results/{dataset}/models/{model}/{split}/seed{seed}/predictions.parquet",
        history="results/{dataset}/models/{model}/{split}/seed{seed}/history.csv",
        valid_predictions="results/{dataset}/models/{model}/{split}/seed{seed}/valid_predictions.parquet",
    log:
        "results/logs/{dataset}/train/{model}_{split}_seed{seed}.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1  # one torch thread per job, jobs in parallel: faster than 2 threads on 2 cores
    resources:
        gpu=lambda wc: 1 if config.get("device", "auto") == "cuda" else 0,
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.meta, parent=True),
        flags=train_flags,
    shell:
        "molprobe train --name {wildcards.model} --molecules {input.molecules:q}"
        " --split {input.split:q} {params.flags}"
        " --standardize-summary {input.summary:q}"
        " --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


rule train_final:
    # the model for use: every labeled molecule, the median best epoch of the split runs
    input:
        unpack(final_inputs),
    output:
        meta="results/{dataset}/final/{model}/seed_{seed}/meta.json",
        record="results/{dataset}/final/{model}/seed_{seed}/final.json",
        reference="results/{dataset}/final/{model}/seed_{seed}/train_smiles.txt",
    log:
        "results/logs/{dataset}/final/{model}_seed{seed}.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    resources:
        gpu=lambda wc: 1 if config.get("device", "auto") == "cuda" else 0,
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.meta, parent=True),
        flags=train_flags,
    shell:
        "molprobe train-final --molecules {input.molecules:q}"
        " --runs {input.runs:q} {params.flags} --standardize-summary {input.summary:q}"
        " --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


# a family with `teachers` (models: in the config) is distilled instead: the same outputs
ruleorder: train_distilled > train
ruleorder: final_distilled > train_final


rule train_distilled:
    # split run of a student: train labels + the teachers' (same split and seed) mean
    # probabilities on the `distill:` structures (their smiles column only); named as the
    # family, as `molprobe train` names it, so comparison and conformal find it
    input:
        unpack(distill_inputs),
    output:
        meta="results/{dataset}/models/{model}/{split}/seed{seed}/meta.json",
        metrics="results/{dataset}/models/{model}/{split}/seed{seed}/metrics.json",
        predictions="results/{dataset}/models/{model}/{split}/seed{seed}/predictions.parquet",
        history="results/{dataset}/models/{model}/{split}/seed{seed}/history.csv",
        valid_predictions="results/{dataset}/models/{model}/{split}/seed{seed}/valid_predictions.parquet",
    log:
        "results/logs/{dataset}/distill/{model}_{split}_seed{seed}.log",
    wildcard_constraints:
        model=distilled_regex(),
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    resources:
        gpu=lambda wc: 1 if config.get("device", "auto") == "cuda" else 0,
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.meta, parent=True),
        flags=distill_flags,
    shell:
        "molprobe distill --molecules {input.molecules:q} --split {input.split:q}"
        " --unlabeled {input.unlabeled:q} {params.flags} --name {wildcards.model}"
        " --standardize-summary {input.summary:q}"
        " --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


rule final_distilled:
    # final student: every labeled molecule + the soft rows of the teachers' final models
    # (same seed), for the median best epoch of the student's split runs
    input:
        unpack(distill_final_inputs),
    output:
        meta="results/{dataset}/final/{model}/seed_{seed}/meta.json",
        record="results/{dataset}/final/{model}/seed_{seed}/final.json",
        reference="results/{dataset}/final/{model}/seed_{seed}/train_smiles.txt",
    log:
        "results/logs/{dataset}/final/{model}_seed{seed}_distilled.log",
    wildcard_constraints:
        model=distilled_regex(),
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    resources:
        gpu=lambda wc: 1 if config.get("device", "auto") == "cuda" else 0,
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.meta, parent=True),
        flags=distill_flags,
    shell:
        "molprobe distill --molecules {input.molecules:q} --runs {input.runs:q}"
        " --unlabeled {input.unlabeled:q} {params.flags}"
        " --standardize-summary {input.summary:q}"
        " --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


rule calibration:
    # reliability and ECE of the test predictions (raw and Platt-scaled on validation) per
    # task, family and ensemble; ensemble spread vs error
    input:
        predictions=lambda wc: [
            f"{d}/{name}"
            for d in calibration_runs(wc.dataset)
            for name in ("predictions.parquet", "valid_predictions.parquet")
        ],
    output:
        table="results/{dataset}/calibration.csv",
        plot=report(
            "results/{dataset}/calibration.png",
            caption="../report/models_calibration.rst",
            category="2. Models",
            subcategory="{dataset}",
            labels={"figure": "5 calibration (reliability)"},
        ),
    log:
        "results/logs/{dataset}/calibration.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        runs=lambda wc: calibration_runs(wc.dataset),
        # conformal coverage columns at the report's error rate (null: the library default)
        alpha=lambda wc: (
            ""
            if report_settings().get("conformal_alpha") is None
            else f"--alpha {report_settings()['conformal_alpha']}"
        ),
    shell:
        "molprobe calibration {params.runs:q} {params.alpha} --output {output.table:q}"
        " --plot {output.plot:q} > {log:q} 2>&1"


rule train_depth:
    # one cell of the depth experiment: DeepNet on ECFP over the lr grid (no clipping)
    input:
        molecules="results/{dataset}/data/molecules.parquet",
        split="results/{dataset}/splits/{split}/seed{seed}.json",
        features="results/{dataset}/features/ecfp.npz",
    output:
        runs="results/{dataset}/depth/{model}/depth{depth}/{split}/seed{seed}/runs.csv",
    log:
        "results/logs/{dataset}/depth/{model}_d{depth}_{split}_seed{seed}.log",
    wildcard_constraints:
        model=r"snn|fnn_bn|relu_he|residual",
        depth=r"\d+",
    conda:
        "../envs/molprobe.yaml"
    threads: 1  # one torch thread per job, jobs in parallel: faster than 2 threads on 2 cores
    params:
        device=config.get("device", "auto"),
        flags=depth_flags,
    shell:
        "molprobe depth-run --family {wildcards.model} --depth {wildcards.depth}"
        " --molecules {input.molecules:q} --features {input.features:q}"
        " --split {input.split:q} --seed {wildcards.seed} {params.flags}"
        " --threads {threads} --device {params.device}"
        " --output {output.runs:q} > {log:q} 2>&1"


rule compare:
    # the configured runs only (stale seeds of an earlier config are not read); the ensemble
    # reads the predictions beside each metrics.json
    input:
        metrics=lambda wc: model_metrics(wc.dataset),
        predictions=lambda wc: [
            os.path.join(os.path.dirname(m), "predictions.parquet")
            for m in model_metrics(wc.dataset)
        ],
    output:
        table="results/{dataset}/comparison.csv",
        plot="results/{dataset}/comparison.png",
    log:
        "results/logs/{dataset}/compare.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    shell:
        "molprobe compare {input.metrics:q} --output {output.table:q} --plot {output.plot:q}"
        " --ensemble > {log:q} 2>&1"


rule depth_table:
    input:
        lambda wc: depth_metrics(wc.dataset),
    output:
        table="results/{dataset}/depth/depth.csv",
        runs="results/{dataset}/depth/depth_runs.csv",
    log:
        "results/logs/{dataset}/depth_table.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    shell:
        "molprobe depth-table {input:q} --output {output.table:q}"
        " --runs-output {output.runs:q} > {log:q} 2>&1"
