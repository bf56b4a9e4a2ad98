# Data: fetch (mirror or URL) -> standardize (with rejected ledger) -> split.


rule fetch:
    output:
        "data/raw/{dataset}.csv.gz",
    log:
        "results/logs/{dataset}/fetch.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        flags=fetch_flags,
    shell:
        "molprobe fetch {wildcards.dataset:q} {params.flags} --output {output:q} > {log:q} 2>&1"


rule standardize:
    input:
        "data/raw/{dataset}.csv.gz",
    output:
        molecules="results/{dataset}/data/molecules.parquet",
        rejected="results/{dataset}/data/rejected.csv",
        summary="results/{dataset}/data/standardize.json",
    log:
        "results/logs/{dataset}/standardize.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        flags=standardize_flags,
    shell:
        "molprobe standardize {input:q} {params.flags} --workers {threads}"
        " --output {output.molecules:q} --rejected {output.rejected:q}"
        " --summary {output.summary:q} > {log:q} 2>&1"


rule split:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        "results/{dataset}/splits/{split}/seed{seed}.json",
    log:
        "results/logs/{dataset}/split_{split}_seed{seed}.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        fractions=lambda wc: " ".join(str(f) for f in split_settings()[2]),
    shell:
        "molprobe split {input:q} --method {wildcards.split} --seed {wildcards.seed}"
        " --fractions {params.fractions} --output {output:q} > {log:q} 2>&1"
