# Shortcut audit: is each trained model right for the right reason? (analog bias, trivial
# descriptors, counter-ions, attribution on toxicophores, shuffled-label control)


rule shortcuts:
    input:
        shortcut_inputs,
    output:
        similarity="results/{dataset}/shortcuts/similarity_bins.parquet",
        trivial="results/{dataset}/shortcuts/trivial_baselines.parquet",
        counterions="results/{dataset}/shortcuts/counterions.parquet",
        attribution="results/{dataset}/shortcuts/attribution.parquet",
        permuted="results/{dataset}/shortcuts/permuted_labels.parquet",
        findings="results/{dataset}/shortcuts/findings.md",
        similarity_png=_shortcut_item("similarity_bins", "similarity", "1 analog bias"),
        trivial_png=_shortcut_item(
            "trivial_baselines", "trivial", "2 trivial-feature baselines"
        ),
        counterions_png=_shortcut_item(
            "counterions", "counterions", "3 counter-ion sensitivity"
        ),
        attribution_png=_shortcut_item(
            "attribution", "attribution", "4 attribution on toxicophores"
        ),
        permuted_png=_shortcut_item(
            "permuted_labels", "permuted", "5 shuffled-label control"
        ),
    log:
        "results/logs/{dataset}/shortcuts.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.findings, parent=True),
        flags=lambda wc: (
            f"--models {' '.join(shortcut_settings()['models'])}"
            f" --top {shortcut_settings()['top']}"
            f" --permuted-epochs {shortcut_settings()['permuted']['epochs']}"
            f" --permuted-trees {shortcut_settings()['permuted']['trees']}"
            f" --counterion-molecules {shortcut_settings()['counterion_molecules']}"
            f" --trivial-model {shortcut_settings()['trivial_model']}"
            f" --margin {shortcut_settings()['margin']}"
        ),
    shell:
        "molprobe shortcuts --dataset-dir results/{wildcards.dataset}"
        " --output-dir {params.outdir:q} {params.flags}"
        " --device {params.device} --threads {threads} > {log:q} 2>&1"
