# Shared modules: vanishing gradients through depth, gradients through time and LSTM credit
# assignment, measured on the first configured dataset.


rule dynamics_gradients:
    input:
        molecules=lambda wc: f"results/{dynamics_dataset()}/data/molecules.parquet",
        features=lambda wc: f"results/{dynamics_dataset()}/features/ecfp.npz",
    output:
        gradients="results/dynamics/gradients.parquet",
        summary="results/dynamics/gradient_summary.csv",
        runs="results/dynamics/gradient_runs.csv",
        jacobian="results/dynamics/jacobian.parquet",
        profile="results/dynamics/plots/gradient_profile.png",
        ratio="results/dynamics/plots/gradient_ratio.png",
        jacobian_plot="results/dynamics/plots/jacobian.png",
    log:
        "results/logs/dynamics/gradients.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        plots=subpath(output.profile, parent=True),
        flags=lambda wc: _cli_flags(
            "gradients",
            {
                "depths": "--depths",
                "archs": "--archs",
                "seeds": "--seeds",
                "max_epochs": "--max-epochs",
                "patience": "--patience",
                "width": "--width",
                "n_molecules": "--n-molecules",
                "jacobian_molecules": "--jacobian-molecules",
                "jacobian_depths": "--jacobian-depths",
                "plot_depth": "--plot-depth",
            },
        ),
    shell:
        "molprobe gradients --molecules {input.molecules:q} --features {input.features:q}"
        " {params.flags} --device {params.device} --threads {threads}"
        " --output {output.gradients:q} --jacobian {output.jacobian:q}"
        " --summary {output.summary:q} --runs {output.runs:q} --plots-dir {params.plots:q} > {log:q} 2>&1"


rule lstm_credit:
    input:
        molecules=lambda wc: f"results/{dynamics_dataset()}/data/molecules.parquet",
    output:
        credit="results/dynamics/lstm_credit.parquet",
        through_time="results/dynamics/through_time.parquet",
        summary="results/dynamics/lstm_credit_summary.csv",
        position="results/dynamics/plots/credit_position.png",
        spread="results/dynamics/plots/prediction_spread.png",
        through_time_plot="results/dynamics/plots/through_time.png",
    log:
        "results/logs/dynamics/lstm_credit.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        plots=subpath(output.position, parent=True),
        flags=lambda wc: _cli_flags(
            "lstm_credit",
            {
                "task": "--task",
                "groups": "--groups",
                "seeds": "--seeds",
                "steps": "--steps",
                "hidden": "--hidden",
                "n_train": "--n-train",
                "molecules_per_group": "--molecules-per-group",
                "randomizations": "--randomizations",
                "augment_variants": "--augment-variants",
            },
        ),
    shell:
        "molprobe lstm-credit --molecules {input.molecules:q} {params.flags}"
        " --device {params.device} --threads {threads}"
        " --output {output.credit:q} --through-time {output.through_time:q}"
        " --summary {output.summary:q} --plots-dir {params.plots:q} > {log:q} 2>&1"


rule planted_credit:
    input:
        molecules=lambda wc: f"results/{dynamics_dataset()}/data/molecules.parquet",
    output:
        credit="results/dynamics/planted_credit.parquet",
        models="results/dynamics/planted_credit_models.csv",
        summary="results/dynamics/planted_credit_summary.csv",
        plot="results/dynamics/plots/planted_credit.png",
    log:
        "results/logs/dynamics/planted_credit.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        plots=subpath(output.plot, parent=True),
        flags=lambda wc: _cli_flags(
            "planted_credit",
            {
                "group": "--group",
                "archs": "--archs",
                "seeds": "--seeds",
                "steps": "--steps",
                "max_positives": "--max-positives",
                "randomizations": "--randomizations",
                "augment_variants": "--augment-variants",
                "ig_steps": "--ig-steps",
            },
        ),
    shell:
        "molprobe planted-credit --molecules {input.molecules:q} {params.flags}"
        " --device {params.device} --threads {threads}"
        " --output {output.credit:q} --model-table {output.models:q}"
        " --summary {output.summary:q} --plots-dir {params.plots:q} > {log:q} 2>&1"


rule attention:
    input:
        molecules=lambda wc: f"results/{dynamics_dataset()}/data/molecules.parquet",
    output:
        table="results/dynamics/attention.parquet",
        summary="results/dynamics/attention_summary.csv",
    log:
        "results/logs/dynamics/attention.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        flags=lambda wc: _cli_flags(
            "attention",
            {
                "group": "--group",
                "task": "--task",
                "task_molecules": "--task-molecules",
                "epochs": "--epochs",
                "width": "--width",
                "seeds": "--seeds",
            },
        ),
    shell:
        "molprobe attention --molecules {input.molecules:q} {params.flags}"
        " --device {params.device} --threads {threads}"
        " --output {output.table:q} --summary {output.summary:q} > {log:q} 2>&1"
