# Featurize once per dataset; every model reads these cached files.


rule featurize:
    input:
        "results/{dataset}/data/molecules.parquet",
    output:
        "results/{dataset}/features/{featurizer}.{ext}",
    wildcard_constraints:
        ext=r"npz|pt",
    params:
        flags=featurizer_flags,
    log:
        "results/logs/{dataset}/featurize_{featurizer}.{ext}.log",
    threads: 2
    conda:
        "../envs/molprobe.yaml"
    shell:
        "molprobe featurize {input:q} --featurizer {wildcards.featurizer}"
        " {params.flags} --jobs {threads} --output {output:q} > {log:q} 2>&1"
