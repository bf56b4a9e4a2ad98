# Helpers shared by the rules: config look-ups and target lists. No rule lives here.
import os
import shlex


wildcard_constraints:
    dataset=r"[A-Za-z0-9_\-]+",
    split=r"random|scaffold",
    seed=r"\d+",
    featurizer=r"ecfp|descriptors|graph|tokens",


RESULTS = "results"
FEATURE_FILES = {
    "ecfp": "ecfp.npz",
    "descriptors": "descriptors.npz",
    "graph": "graph.pt",
    "tokens": "tokens.npz",
}


def dataset_entry(dataset):
    """The registry entry of one dataset, with schema defaults filled in."""
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ValueError(
            f"dataset {dataset!r} is not in the `datasets:` registry of the config"
        ) from None


def fetch_flags(wildcards):
    entry = dataset_entry(wildcards.dataset)
    flags = ["--url", entry["url"]]
    if config.get("max_rows"):
        flags += ["--max-rows", str(config["max_rows"])]
    rename = entry.get("rename") or {}
    if rename:
        flags += ["--rename"] + [f"{k}={v}" for k, v in rename.items()]
    return shlex.join(flags)


def standardize_flags(wildcards):
    entry = dataset_entry(wildcards.dataset)
    recipe = config.get("standardize", {})
    flags = ["--smiles-column", entry.get("smiles_column", "smiles")]
    flags += ["--task-type", entry.get("task_type", "classification")]
    if entry.get("id_column"):
        flags += ["--id-column", entry["id_column"]]
    if entry.get("task_columns"):
        flags += ["--task-columns", *entry["task_columns"]]
    if not recipe.get("largest_fragment", True):
        flags.append("--no-largest-fragment")
    if not recipe.get("neutralize", True):
        flags.append("--no-neutralize")
    if recipe.get("cleanup", False):
        flags.append("--cleanup")
    flags += ["--max-heavy-atoms", str(recipe.get("max_heavy_atoms", 150))]
    return shlex.join(flags)


def featurizer_flags(wildcards):
    params = (config.get("featurizers") or {}).get(wildcards.featurizer) or {}
    flags = []
    for key, value in params.items():
        value = str(value).lower() if isinstance(value, bool) else value
        flags += ["--param", f"{key}={value}"]
    return shlex.join(flags)


def split_settings():
    s = config.get("splits", {})
    return (
        s.get("methods", ["random", "scaffold"]),
        s.get("seeds", [0, 1, 2]),
        s.get("fractions", [0.8, 0.1, 0.1]),
    )


def data_targets():
    methods, seeds, _ = split_settings()
    targets = []
    for ds in config["run_datasets"]:
        dataset_entry(ds)
        targets.append(f"{RESULTS}/{ds}/data/molecules.parquet")
        targets += [f"{RESULTS}/{ds}/splits/{m}/seed{s}.json" for m in methods for s in seeds]
        targets += [
            f"{RESULTS}/{ds}/features/{FEATURE_FILES[f]}"
            for f in (config.get("featurizers") or FEATURE_FILES)
        ]
    return targets




# ---------------------------------------------------------------- models

MODEL_FEATURES = {
    "snn": ["ecfp"],
    "fnn_bn": ["ecfp"],
    "gine": ["graph"],
    "attentivefp": ["graph"],
    "lstm": ["tokens"],
    "rf": ["ecfp"],
    "logreg": ["ecfp"],
}


def model_entry(model):
    """Config of one model family: features, params (hyperparameters + training settings)."""
    entry = dict((config.get("models") or {}).get(model) or {})
    entry.setdefault("features", MODEL_FEATURES[model])
    entry.setdefault("params", {})
    return entry


def _params_flags(params):
    flags = []
    for key, value in params.items():
        value = str(value).lower() if isinstance(value, bool) else value
        flags.append(f"{key}={value}")
    return ["--params", *flags] if flags else []


def train_flags(wildcards):
    entry = model_entry(wildcards.model)
    flags = []
    for f in entry["features"]:
        flags += ["--features", f"results/{wildcards.dataset}/features/{FEATURE_FILES[f]}"]
    flags += ["--task-type", dataset_entry(wildcards.dataset).get("task_type", "classification")]
    flags += _params_flags(entry["params"])
    return shlex.join(flags)


def depth_flags(wildcards):
    entry = model_entry(wildcards.model)
    depth_cfg = config.get("depth_experiment") or {}
    params = dict(entry["params"])
    params.update(depth_cfg.get("params") or {})
    params["n_layers"] = int(wildcards.depth)
    flags = []
    for f in entry["features"]:
        flags += ["--features", f"results/{wildcards.dataset}/features/{FEATURE_FILES[f]}"]
    flags += ["--task-type", dataset_entry(wildcards.dataset).get("task_type", "classification")]
    flags += _params_flags(params)
    return shlex.join(flags)


def train_models():
    return list((config.get("train") or {}).get("models") or [])


def model_metrics(dataset):
    methods, seeds, _ = split_settings()
    return [
        f"{RESULTS}/{dataset}/models/{m}/{s}/seed{seed}/metrics.json"
        for m in train_models()
        for s in methods
        for seed in seeds
    ]


def depth_settings():
    d = config.get("depth_experiment") or {}
    return (
        bool(d.get("enabled", False)),
        d.get("models", ["snn", "fnn_bn"]),
        d.get("depths", [2, 8, 32]),
        d.get("splits", ["random", "scaffold"]),
        d.get("seeds", [0]),
    )


def depth_metrics(dataset):
    _, models, depths, splits, seeds = depth_settings()
    return [
        f"{RESULTS}/{dataset}/depth/{m}/depth{d}/{s}/seed{seed}/metrics.json"
        for m in models
        for d in depths
        for s in splits
        for seed in seeds
    ]


def train_targets():
    targets = []
    enabled = depth_settings()[0]
    for ds in config["run_datasets"]:
        if train_models():
            targets += model_metrics(ds)
            targets += [f"{RESULTS}/{ds}/comparison.csv", f"{RESULTS}/{ds}/comparison.png"]
        if enabled:
            targets.append(f"{RESULTS}/{ds}/depth/depth.csv")
    return targets


def all_targets():
    return data_targets() + train_targets()


def derived_report_stages():
    """Report stages that follow from what the config runs (override with `report: stages`)."""
    stages = ["data"]
    if train_models():
        stages.append("models")
    if (config.get("probe") or {}).get("models"):
        stages.append("probes")
    if (config.get("dynamics") or {}).get("enabled", True):
        stages.append("dynamics")
    if (config.get("screen") or {}).get("libraries"):
        stages.append("screen")
    return stages
