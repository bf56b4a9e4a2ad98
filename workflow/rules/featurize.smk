# Featurize once per dataset; every model reads these cached files.


rule featurize:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        "results/{dataset}/features/{featurizer}.{ext}",
    log:
        "results/logs/{dataset}/featurize_{featurizer}.{ext}.log",
    wildcard_constraints:
        ext=r"npz|pt",
    conda:
        "../envs/molprobe.yaml"
    threads: 2
    params:
        flags=featurizer_flags,
    shell:
        "molprobe featurize {input:q} --featurizer {wildcards.featurizer}"
        " {params.flags} --workers {threads} --output {output:q} > {log:q} 2>&1"
