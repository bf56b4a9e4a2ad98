# Pretraining on unlabeled structures (built for the families with `init:`, or
# `snakemake results/pretrain/gine/model.pt`; `pretrain: encoders:` names more encoders,
# e.g. one on more structures, each in its own folder):
# a graph net learns the RDKit descriptors of the `pretrain: datasets:` structures (SMILES
# only: `molprobe pretrain` drops every label column as it reads), leaving out the
# structures of every run dataset. Its encoder can start a fine-tuning run
# (`molprobe train --init`); README "Pretraining on unlabeled structures" has the ablation.


rule pretrain:
    input:
        structures=lambda wc: [
            f"data/raw/{d}.csv.gz" for d in encoder_settings(wc.encoder)["datasets"]
        ],
        exclude=[
            f"{RESULTS}/{ds}/data/molecules.parquet" for ds in config["run_datasets"]
        ],
    output:
        model=f"{RESULTS}/pretrain/{{encoder}}/model.pt",
        meta=f"{RESULTS}/pretrain/{{encoder}}/meta.json",
        history=f"{RESULTS}/pretrain/{{encoder}}/history.csv",
    log:
        f"{RESULTS}/logs/pretrain/{{encoder}}.log",
    wildcard_constraints:
        encoder=encoder_regex(),
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    resources:
        gpu=lambda wc: 1 if config.get("device", "auto") == "cuda" else 0,
    params:
        outdir=subpath(output.model, parent=True),
        model=lambda wc: encoder_settings(wc.encoder)["model"],
        params=lambda wc: " ".join(
            f"{k}={v}" for k, v in encoder_settings(wc.encoder)["params"].items()
        ),
        n=lambda wc: encoder_settings(wc.encoder)["max_structures"],
        seed=lambda wc: encoder_settings(wc.encoder)["seed"],
        device=config.get("device", "auto"),
    shell:
        "molprobe pretrain --model {params.model} --structures {input.structures:q}"
        " --exclude {input.exclude:q} --params {params.params} --max-structures {params.n}"
        " --seed {params.seed} --threads {threads} --device {params.device}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"
