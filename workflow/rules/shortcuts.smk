# Shortcut audit: is each trained model right for the right reason? (analog bias, trivial
# descriptors, counter-ions, attribution on toxicophores, shuffled-label control)


def shortcut_settings():
    s = dict(config.get("shortcuts") or {})
    s.setdefault("enabled", True)
    s.setdefault("models", train_models())
    s.setdefault("top", 50)
    s.setdefault("permuted", {})
    s["permuted"] = {"epochs": 3, "trees": 20, **(s["permuted"] or {})}
    s.setdefault("counterion_molecules", 200)
    s.setdefault("trivial_model", "hgb")
    s.setdefault("margin", 0.05)
    return s


def shortcut_inputs(wildcards):
    s = shortcut_settings()
    methods, seeds, _ = split_settings()
    ds = wildcards.dataset
    files = [
        f"results/{ds}/data/molecules.parquet",
        f"results/{ds}/data/standardize.json",
        f"results/{ds}/features/ecfp.npz",
    ]
    files += [f"results/{ds}/splits/{m}/seed{seed}.json" for m in methods for seed in seeds]
    for model in s["models"]:
        files += [
            f"results/{ds}/features/{FEATURE_FILES[f]}" for f in model_entry(model)["features"]
        ]
        files += [
            f"results/{ds}/models/{model}/{m}/seed{seed}/{name}"
            for m in methods
            for seed in seeds
            for name in ("meta.json", "metrics.json", "predictions.parquet")
        ]
    return sorted(set(files))


def _shortcut_item(name, caption, figure):
    return report(
        f"results/{{dataset}}/shortcuts/{name}.png",
        caption=f"../report/shortcuts_{caption}.rst",
        category="6. Shortcut audit",
        subcategory="{dataset}",
        labels={"figure": figure},
    )


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
        trivial_png=_shortcut_item("trivial_baselines", "trivial", "2 trivial-feature baselines"),
        counterions_png=_shortcut_item("counterions", "counterions", "3 counter-ion sensitivity"),
        attribution_png=_shortcut_item("attribution", "attribution", "4 attribution on toxicophores"),
        permuted_png=_shortcut_item("permuted_labels", "permuted", "5 shuffled-label control"),
    params:
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
    log:
        "results/logs/{dataset}/shortcuts.log",
    threads: 2
    shell:
        "molprobe shortcuts --dataset-dir results/{wildcards.dataset}"
        " --output-dir {params.outdir:q} {params.flags}"
        " --device {config[device]} --threads {threads} > {log:q} 2>&1"


def shortcut_targets():
    if not shortcut_settings()["enabled"] or not shortcut_settings()["models"]:
        return []
    return [f"results/{ds}/shortcuts/findings.md" for ds in config["run_datasets"]]
