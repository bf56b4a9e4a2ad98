# Probing: concept labels once per dataset; probe-clean twins of every probed neural family
# (ECFP bits only for vector nets, atom/bond features only for graph nets; same architecture
# and training settings as the accuracy models); every layer of every seed probed against the
# concepts with random-init copies, matched control tasks, LEACE erasure and held-out neuron
# detectors; planted positive/negative controls of the instrument once per dataset.


rule concepts:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        meta="results/{dataset}/concepts/meta.parquet",
        molecules="results/{dataset}/concepts/molecules.parquet",
    log:
        "results/logs/{dataset}/concepts.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        outdir=subpath(output.meta, parent=True),
    shell:
        "molprobe concepts {input:q} --output-dir {params.outdir:q} --workers {threads}"
        " > {log:q} 2>&1"


rule train_clean:
    input:
        molecules="results/{dataset}/data/molecules.parquet",
        split="results/{dataset}/splits/{split}/seed{seed}.json",
        features=lambda wc: [
            f"results/{wc.dataset}/features/{FEATURE_FILES[f]}"
            for f in clean_features(wc.model)
        ],
        summary="results/{dataset}/data/standardize.json",
    output:
        meta="results/{dataset}/models_clean/{model}/{split}/seed{seed}/meta.json",
        metrics="results/{dataset}/models_clean/{model}/{split}/seed{seed}/metrics.json",
        predictions="results/{dataset}/models_clean/{model}/{split}/seed{seed}/predictions.parquet",
        history="results/{dataset}/models_clean/{model}/{split}/seed{seed}/history.csv",
    log:
        "results/logs/{dataset}/train_clean/{model}_{split}_seed{seed}.log",
    benchmark:
        "results/benchmarks/{dataset}/train_clean/{model}_{split}_seed{seed}.tsv"
    wildcard_constraints:
        model=r"snn|fnn_bn|gine|attentivefp",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    resources:
        gpu=lambda wc: 1 if config.get("device", "auto") == "cuda" else 0,
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.meta, parent=True),
        flags=clean_train_flags,
    shell:
        "molprobe train --model {wildcards.model} --molecules {input.molecules:q}"
        " --split {input.split:q} {params.flags}"
        " --standardize-summary {input.summary:q}"
        " --seed {wildcards.seed} --threads {threads} --device {params.device}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


rule planted:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        "results/{dataset}/probes/planted.csv",
    log:
        "results/logs/{dataset}/planted.log",
    benchmark:
        "results/benchmarks/{dataset}/planted.tsv"
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        settings=lambda wc: probe_planted_flags(),
    shell:
        "molprobe planted {input:q} --output {output:q} {params.settings}"
        " --threads {threads} > {log:q} 2>&1"


rule probe:
    input:
        metas=probe_model_dirs,
        splits=probe_splits,
        compare=probe_compare_dirs,
        molecules="results/{dataset}/data/molecules.parquet",
        concepts="results/{dataset}/concepts/meta.parquet",
        planted="results/{dataset}/probes/planted.csv",
        features=lambda wc: [
            f"results/{wc.dataset}/features/{FEATURE_FILES[f]}"
            for f in probe_features(wc.model)
        ],
    output:
        probes="results/{dataset}/probes/{model}/probes.parquet",
        neurons="results/{dataset}/probes/{model}/neurons.parquet",
        examples="results/{dataset}/probes/{model}/examples.parquet",
        emergence="results/{dataset}/probes/{model}/emergence.csv",
        levels="results/{dataset}/probes/{model}/levels.csv",
        controls="results/{dataset}/probes/{model}/controls.csv",
        erasure="results/{dataset}/probes/{model}/erasure.csv",
        planted="results/{dataset}/probes/{model}/planted.csv",
        heatmap="results/{dataset}/probes/{model}/heatmap.png",
        curves="results/{dataset}/probes/{model}/curves.png",
        verdict="results/{dataset}/probes/{model}/verdict.md",
    log:
        "results/logs/{dataset}/probe_{model}.log",
    benchmark:
        "results/benchmarks/{dataset}/probe_{model}.tsv"
    wildcard_constraints:
        model=r"snn|fnn_bn|gine|attentivefp",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.probes, parent=True),
        dirs=lambda wc, input: " ".join(os.path.dirname(m) for m in input.metas),
        compare=lambda wc, input: " ".join(os.path.dirname(m) for m in input.compare),
        features=lambda wc, input: " ".join(f"--features {f}" for f in input.features),
        concepts=subpath(input.concepts, parent=True),
        settings=lambda wc: probe_flags(),
    shell:
        "molprobe probe --models {params.dirs} --molecules {input.molecules:q}"
        " {params.features} --concepts {params.concepts:q} --splits {input.splits}"
        " --compare-dirs {params.compare} --planted {input.planted:q}"
        " {params.settings} --device {params.device} --threads {threads}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"
