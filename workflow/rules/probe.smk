# Probing: concept labels once per dataset, then every hidden layer of each configured neural
# model family (all seeds of one split) against them, with random-init and permuted controls.


def probe_settings():
    p = dict(config.get("probe") or {})
    p.setdefault("models", [])
    p.setdefault("split", "random")
    p.setdefault("part", "test")
    p.setdefault("n_random", 3)
    p.setdefault("outer", 5)
    p.setdefault("max_dim", 256)
    p.setdefault("node_max_atoms", 4000)
    return p


def probe_model_dirs(wildcards):
    split = probe_settings()["split"]
    _, seeds, _ = split_settings()
    return [
        f"results/{wildcards.dataset}/models/{wildcards.model}/{split}/seed{s}/meta.json"
        for s in seeds
    ]


def probe_splits(wildcards):
    split = probe_settings()["split"]
    _, seeds, _ = split_settings()
    return [f"results/{wildcards.dataset}/splits/{split}/seed{s}.json" for s in seeds]


rule concepts:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        meta="results/{dataset}/concepts/meta.parquet",
        molecules="results/{dataset}/concepts/molecules.parquet",
    params:
        outdir=subpath(output.meta, parent=True),
        timeout=lambda wc: (config.get("concepts") or {}).get("timeout_s", 1.0),
        pharm2d=lambda wc: "" if (config.get("concepts") or {}).get("pharm2d", True) else "--no-pharm2d",
    log:
        "results/logs/{dataset}/concepts.log",
    threads: 2
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
    wildcard_constraints:
        model=r"snn|fnn_bn|gine|attentivefp|lstm",
    params:
        outdir=subpath(output.probes, parent=True),
        dirs=lambda wc, input: " ".join(os.path.dirname(m) for m in input.metas),
        features=lambda wc, input: " ".join(f"--features {f}" for f in input.features),
        concepts=subpath(input.concepts, parent=True),
        settings=lambda wc: (
            f"--part {probe_settings()['part']} --n-random {probe_settings()['n_random']}"
            f" --outer {probe_settings()['outer']} --max-dim {probe_settings()['max_dim']}"
            f" --node-max-atoms {probe_settings()['node_max_atoms']}"
        ),
    log:
        "results/logs/{dataset}/probe_{model}.log",
    threads: 2
    shell:
        "molprobe probe --model-dirs {params.dirs} --molecules {input.molecules:q}"
        " {params.features} --concepts {params.concepts:q} --splits {input.splits}"
        " {params.settings} --device {config[device]} --threads {threads}"
        " --output-dir {params.outdir:q} > {log:q} 2>&1"


def probe_targets():
    models = probe_settings()["models"]
    return [
        f"results/{ds}/probes/{m}/verdict.md" for ds in config["run_datasets"] for m in models
    ]
