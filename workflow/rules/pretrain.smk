# Pretraining on unlabeled structures (opt-in: `snakemake results/pretrain/gine/model.pt`):
# a graph net learns the RDKit descriptors of the `pretrain: datasets:` structures (SMILES
# only: `molprobe pretrain` drops every label column as it reads), leaving out the
# structures of every run dataset. Its encoder can start a fine-tuning run
# (`molprobe train --init`); README "Pretraining on unlabeled structures" has the ablation.


rule pretrain:
    input:
        structures=lambda wc: [
            f"data/raw/{d}.csv.gz" for d in config["pretrain"]["datasets"]
        ],
        exclude=[
            f"{RESULTS}/{ds}/data/molecules.parquet" for ds in config["run_datasets"]
        ],
    output:
        model=f"{RESULTS}/pretrain/{{model}}/model.pt",
        meta=f"{RESULTS}/pretrain/{{model}}/meta.json",
        history=f"{RESULTS}/pretrain/{{model}}/history.csv",
    log:
        f"{RESULTS}/logs/pretrain/{{model}}.log",
    wildcard_constraints:
        model=r"gine|attentivefp",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    resources:
        gpu=lambda wc: 1 if config.get("device", "auto") == "cuda" else 0,
    params:
        outdir=subpath(output.model, parent=True),
        params=lambda wc: " ".join(
            f"{k}={v}" for k, v in config["pretrain"]["params"].items()
        ),
        n=lambda wc: config["pretrain"]["max_structures"],
        seed=lambda wc: config["pretrain"]["seed"],
        device=config.get("device", "auto"),
    shell:
        "molprobe pretrain --model {wildcards.model} --structures {input.structures:q}"
        " --exclude {input.exclude:q} --params {params.params} --max-structures {params.n}"
        " --seed {params.seed} --threads {threads} --device {params.device}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"
