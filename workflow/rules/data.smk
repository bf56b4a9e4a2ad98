# Data: fetch (mirror or URL) -> standardize (with rejected ledger) -> split.


rule fetch:
    output:
        "data/raw/{dataset}.csv.gz",
    params:
        flags=fetch_flags,
    log:
        "results/logs/{dataset}/fetch.log",
    threads: 1
    conda:
        "../envs/molprobe.yaml"
    shell:
        "molprobe fetch {wildcards.dataset:q} {params.flags} --output {output:q} > {log:q} 2>&1"


rule standardize:
    input:
        "data/raw/{dataset}.csv.gz",
    output:
        molecules="results/{dataset}/data/molecules.parquet",
        rejected="results/{dataset}/data/rejected.csv",
        summary="results/{dataset}/data/standardize.json",
    params:
        flags=standardize_flags,
    log:
        "results/logs/{dataset}/standardize.log",
    threads: 2
    conda:
        "../envs/molprobe.yaml"
    shell:
        "molprobe standardize {input:q} {params.flags} --jobs {threads}"
        " --output {output.molecules:q} --rejected {output.rejected:q}"
        " --summary {output.summary:q} > {log:q} 2>&1"


rule split:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        "results/{dataset}/splits/{split}/seed{seed}.json",
    params:
        fractions=lambda wc: " ".join(str(f) for f in split_settings()[2]),
    log:
        "results/logs/{dataset}/split_{split}_seed{seed}.log",
    threads: 1
    conda:
        "../envs/molprobe.yaml"
    shell:
        "molprobe split {input:q} --method {wildcards.split} --seed {wildcards.seed}"
        " --fractions {params.fractions} --output {output:q} > {log:q} 2>&1"
