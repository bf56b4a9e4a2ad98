# Probing: concept labels once per dataset, then every hidden layer of each configured neural
# model family (all seeds of one split) against them, with random-init and permuted controls.


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
        timeout=lambda wc: (config.get("concepts") or {}).get("timeout_s", 1.0),
        pharm2d=lambda wc: (
            ""
            if (config.get("concepts") or {}).get("pharm2d", True)
            else "--no-pharm2d"
        ),
    shell:
        "molprobe concepts {input:q} --output-dir {params.outdir:q} --jobs {threads}"
        " --timeout {params.timeout} {params.pharm2d} > {log:q} 2>&1"


rule probe:
    input:
        metas=probe_model_dirs,
        splits=probe_splits,
        molecules="results/{dataset}/data/molecules.parquet",
        concepts="results/{dataset}/concepts/meta.parquet",
        features=lambda wc: [
            f"results/{wc.dataset}/features/{FEATURE_FILES[f]}"
            for f in model_entry(wc.model)["features"]
        ],
    output:
        probes="results/{dataset}/probes/{model}/probes.parquet",
        neurons="results/{dataset}/probes/{model}/neurons.parquet",
        verdict="results/{dataset}/probes/{model}/verdict.md",
        heatmap="results/{dataset}/probes/{model}/heatmap.png",
        examples="results/{dataset}/probes/{model}/examples.parquet",
    log:
        "results/logs/{dataset}/probe_{model}.log",
    wildcard_constraints:
        model=r"snn|fnn_bn|gine|attentivefp|lstm",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.probes, parent=True),
        dirs=lambda wc, input: " ".join(os.path.dirname(m) for m in input.metas),
        features=lambda wc, input: " ".join(f"--features {f}" for f in input.features),
        concepts=subpath(input.concepts, parent=True),
        settings=lambda wc: (
            f"--part {probe_settings()['part']} --n-random {probe_settings()['n_random']}"
            f" --outer {probe_settings()['outer']} --max-dim {probe_settings()['max_dim']}"
            f" --node-max-atoms {probe_settings()['node_max_atoms']}"
        ),
    shell:
        "molprobe probe --model-dirs {params.dirs} --molecules {input.molecules:q}"
        " {params.features} --concepts {params.concepts:q} --splits {input.splits}"
        " {params.settings} --device {params.device} --threads {threads}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"
