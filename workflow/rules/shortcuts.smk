# Shortcut audit: is each trained model right for the right reason? (planted ping-pong
# control, analog bias, trivial descriptors, counter-ions, attribution on toxicophores,
# matched shuffled-label twins)


rule shortcuts_planted:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        runs="results/{dataset}/shortcuts/planted/planted_runs.parquet",
        summary="results/{dataset}/shortcuts/planted/planted_summary.parquet",
        png=report(
            "results/{dataset}/shortcuts/planted/planted.png",
            caption="../report/shortcuts_planted.rst",
            category="6. Shortcut audit",
            subcategory="{dataset}",
            labels={"figure": "0 planted ping-pong control"},
        ),
    log:
        "results/logs/{dataset}/shortcuts_planted.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.summary, parent=True),
        flags=shortcut_planted_flags,
    shell:
        "molprobe shortcuts-planted --molecules {input:q} --output-dir {params.outdir:q}"
        " {params.flags} --device {params.device} --threads {threads} > {log:q} 2>&1"


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
        findings_table="results/{dataset}/shortcuts/findings.csv",
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
            "permuted_labels", "permuted", "5 matched shuffled-label twins"
        ),
    log:
        "results/logs/{dataset}/shortcuts.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        device=config.get("device", "auto"),
        outdir=subpath(output.findings, parent=True),
        flags=shortcut_flags,
    shell:
        "molprobe shortcuts --dataset-dir results/{wildcards.dataset}"
        " --output-dir {params.outdir:q} {params.flags}"
        " --device {params.device} --threads {threads} > {log:q} 2>&1"
