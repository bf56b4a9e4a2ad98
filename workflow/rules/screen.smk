# Screening: cut each library into chunks (a checkpoint), score every chunk with the
# ensemble as its own job (one cluster job per chunk, submitted as SLURM job arrays of 25
# when the slurm-array profile is layered over the cluster profile; an interrupted run
# redoes only the missing chunks), gather the parts into
# a ranked table, a top-N CSV and an SDF. Within a job `screen.workers` processes featurize
# and the job's own process runs every model on `device` (CUDA when present under auto).


checkpoint library_chunks:
    input:
        library_source,
    output:
        chunks=directory("results/libraries/{library}/chunks"),
        manifest="results/libraries/{library}/chunks.json",
    log:
        "results/logs/libraries/{library}_chunks.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        size=lambda wc: screen_settings()["chunk_size"],
    shell:
        "molprobe split-library {input:q} --chunk-size {params.size} --output-dir {output.chunks:q}"
        " --manifest {output.manifest:q} > {log:q} 2>&1"


rule screen_chunk:
    input:
        chunk="results/libraries/{library}/chunks/chunk-{chunk}.csv.gz",
        models=screen_model_metas,
    output:
        hits="results/{dataset}/screen/{library}/chunks/hits-{chunk}.parquet",
        rejected="results/{dataset}/screen/{library}/chunks/hits-{chunk}.rejected.csv",
    log:
        "results/logs/{dataset}/screen/{library}_chunk{chunk}.log",
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        "../envs/molprobe.yaml"
    threads: screen_settings()["workers"]  # featurizing processes; the job's own process predicts
    params:
        dirs=lambda wc, input: " ".join(os.path.dirname(m) for m in input.models),
        device=config.get("device", "auto"),
        offset=lambda wc: int(wc.chunk) * screen_settings()["chunk_size"],
        ad=lambda wc: screen_settings()["ad_threshold"],
        smiles=lambda wc: dataset_entry(wc.library).get("smiles_column", "smiles"),
    shell:
        "molprobe screen --models {params.dirs} --input {input.chunk:q}"
        " --output {output.hits:q} --row-offset {params.offset} --top 0 --no-progress"
        " --smiles-column {params.smiles:q} --ad-threshold {params.ad}"
        " --workers {threads} --device {params.device} > {log:q} 2>&1"


rule screen_gather:
    input:
        hits=screened_chunks,
        manifest="results/libraries/{library}/chunks.json",
    output:
        hits="results/{dataset}/screen/{library}/hits.parquet",
        rejected="results/{dataset}/screen/{library}/hits.rejected.csv",
        top="results/{dataset}/screen/{library}/hits.top.csv",
        sdf="results/{dataset}/screen/{library}/hits.top.sdf",
    log:
        "results/logs/{dataset}/screen/{library}_gather.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        top=lambda wc: screen_settings()["top"],
        hits_dir=lambda wc: f"results/{wc.dataset}/screen/{wc.library}/chunks",
    shell:  # the chunk list from the manifest: 10^4 paths would overflow one shell argument
        "molprobe gather-hits --manifest {input.manifest:q} --hits-dir {params.hits_dir:q}"
        " --output {output.hits:q} --top {params.top} > {log:q} 2>&1"


rule screen_explain:
    input:
        top="results/{dataset}/screen/{library}/hits.top.csv",
        models=screen_model_metas,
    output:
        "results/{dataset}/screen/{library}/hits.top.explained.csv",
    log:
        "results/logs/{dataset}/screen/{library}_explain.log",
    conda:
        "../envs/molprobe.yaml"
    threads: 1
    params:
        dirs=lambda wc, input: " ".join(os.path.dirname(m) for m in input.models),
    shell:
        "molprobe explain-hits {input.top:q} --models {params.dirs} --output {output:q}"
        " > {log:q} 2>&1"
