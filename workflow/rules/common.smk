# Helpers shared by the rules: config look-ups and target lists. No rule lives here.
import json
import os
import shlex


wildcard_constraints:
    dataset=r"[A-Za-z0-9_\-]+",
    split=r"random|scaffold",
    seed=r"\d+",
    featurizer=r"ecfp|descriptors|descriptors_fast|graph|tokens",


RESULTS = "results"
FEATURE_FILES = {
    "ecfp": "ecfp.npz",
    "descriptors": "descriptors.npz",
    "descriptors_fast": "descriptors_fast.npz",
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


def featurizer_params(name):
    """The `featurizers: {name}:` settings of the config ({} when none)."""
    return (config.get("featurizers") or {}).get(name) or {}


def featurizer_flags(wildcards):
    params = featurizer_params(wildcards.featurizer)
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
        targets += [
            f"{RESULTS}/{ds}/splits/{m}/seed{s}.json" for m in methods for s in seeds
        ]
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
    "snn_fast": ["ecfp", "descriptors_fast"],
    "fnn_bn_fast": ["ecfp", "descriptors_fast"],
    "gine_pretrained": ["graph"],
}


def registry_model(family):
    """The registry model a family trains: `models: {family}: model:`, else the family's own
    name (a family of another name is an alias: e.g. a second fine-tune of gine_pretrained).
    """
    entry = (config.get("models") or {}).get(family) or {}
    name = entry.get("model", family)
    if name not in MODEL_FEATURES:
        raise ValueError(
            f"model family {family!r} is not a registry model "
            f"({', '.join(sorted(MODEL_FEATURES))}): add `models: {family}: model: <one of them>`"
        )
    return name


def model_entry(model):
    """Config of one model family: registry `model`, features, params (hyperparameters +
    training settings)."""
    entry = dict((config.get("models") or {}).get(model) or {})
    entry["model"] = registry_model(model)
    entry.setdefault("features", MODEL_FEATURES[entry["model"]])
    entry.setdefault("params", {})
    return entry


def _params_flags(params):
    flags = []
    for key, value in params.items():
        value = str(value).lower() if isinstance(value, bool) else value
        flags.append(f"{key}={value}")
    return ["--params", *flags] if flags else []


def init_weights(model):
    """[the `pretrain` rule's encoder] for a family with `init:` (models: in the config), else []."""
    init = model_entry(model).get("init")
    return [f"{RESULTS}/pretrain/{init}/model.pt"] if init else []


#: graph families the `pretrain` rule can pretrain (an encoder's `model`)
PRETRAIN_MODELS = ("gine", "attentivefp")


def encoder_settings(name, named_by="the pretrain rule"):
    """Settings of the `pretrain` rule's encoder `name`: `pretrain:` (datasets, max_structures,
    seed, params) with `pretrain: encoders: {name}:` over them (its `params` over the shared
    ones, key by key, a null removing a shared key); `model` (the graph family pretrained)
    defaults to the name, so `gine` needs no entry. The shared `params` are the GINE
    encoder's (mean `pool`): an AttentiveFP encoder names its own, e.g. `afp: {model:
    attentivefp, params: {n_layers: 3, width: 128, pool: null}}`."""
    base = dict(config.get("pretrain") or {})
    named = base.pop("encoders", None) or {}
    own = dict(named.get(name) or {})
    params = {**(base.get("params") or {}), **(own.pop("params", None) or {})}
    params = {k: v for k, v in params.items() if v is not None}
    settings = {**base, "model": name, **own, "params": params}
    if settings["model"] not in PRETRAIN_MODELS:
        raise ValueError(
            f"encoder {name!r} ({named_by}) is neither {' nor '.join(PRETRAIN_MODELS)} "
            f"nor a `pretrain: encoders:` entry with `model:` one of them"
        )
    if settings["model"] == "attentivefp" and "pool" in params:
        raise ValueError(
            f"encoder {name!r} ({named_by}): AttentiveFP has no `pool`; give it a "
            f"`pretrain: encoders: {name}: params:` entry with `pool: null`"
        )
    return settings


def encoder_regex():
    """Wildcard constraint of the `pretrain` rule: the graph families and the named encoders."""
    names = list(PRETRAIN_MODELS) + list(
        (config.get("pretrain") or {}).get("encoders") or {}
    )
    return "|".join(dict.fromkeys(names))


def train_flags(wildcards):
    """--model (the family's registry model), --init, --features, --task-type, --params."""
    entry = model_entry(wildcards.model)
    flags = ["--model", entry["model"]]
    flags += [arg for path in init_weights(wildcards.model) for arg in ("--init", path)]
    for f in entry["features"]:
        flags += [
            "--features",
            f"results/{wildcards.dataset}/features/{FEATURE_FILES[f]}",
        ]
    flags += [
        "--task-type",
        dataset_entry(wildcards.dataset).get("task_type", "classification"),
    ]
    flags += _params_flags(entry["params"])
    return shlex.join(flags)


def depth_flags(wildcards):
    """--flags of `molprobe depth-run` from config `depth_experiment: params:`."""
    params = (config.get("depth_experiment") or {}).get("params") or {}
    names = {
        "learning_rates": "--learning-rates",
        "width": "--width",
        "max_epochs": "--max-epochs",
        "patience": "--patience",
        "clip_norm": "--clip-norm",
    }
    flags = []
    for key, flag in names.items():
        if params.get(key) is not None:
            value = params[key]
            flags += [flag] + [
                str(v) for v in (value if isinstance(value, list) else [value])
            ]
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
        d.get("models", ["snn", "fnn_bn", "relu_he", "residual"]),
        d.get("depths", [2, 4, 8, 16, 32]),
        d.get("splits", ["random", "scaffold"]),
        d.get("seeds", [0, 1, 2]),
    )


def depth_metrics(dataset):
    _, models, depths, splits, seeds = depth_settings()
    return [
        f"{RESULTS}/{dataset}/depth/{m}/depth{d}/{s}/seed{seed}/runs.csv"
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
            targets += [
                f"{RESULTS}/{ds}/comparison.csv",
                f"{RESULTS}/{ds}/comparison.png",
            ]
        if enabled:
            targets.append(f"{RESULTS}/{ds}/depth/depth.csv")
    return targets


def all_targets():
    return data_targets() + train_targets() + final_targets() + calibration_targets()


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


# ---------------------------------------------------------------- helpers of train.smk


def train_inputs(wildcards):
    model = model_entry(wildcards.model)
    return {
        "molecules": f"results/{wildcards.dataset}/data/molecules.parquet",
        "split": f"results/{wildcards.dataset}/splits/{wildcards.split}/seed{wildcards.seed}.json",
        "features": [
            f"results/{wildcards.dataset}/features/{FEATURE_FILES[f]}"
            for f in model["features"]
        ],
        "summary": f"results/{wildcards.dataset}/data/standardize.json",
        "init": init_weights(wildcards.model),
    }


# ------------------------------------------- helpers of train.smk: distilled students


def teachers(model):
    """Teacher families of a distilled student (`models: {model}: teachers:`), else []."""
    return list(model_entry(model).get("teachers") or [])


def distilled_regex():
    """Wildcard constraint of the distillation rules: the families with teachers."""
    names = [m for m in (config.get("models") or {}) if teachers(m)]
    return "|".join(names) if names else "(?!x)x"


def distill_settings():
    # defaults come from the schema (validate() fills them)
    return dict(config["distill"])


def distill_common(ds):
    return {
        "molecules": f"results/{ds}/data/molecules.parquet",
        "summary": f"results/{ds}/data/standardize.json",
        # standardized structures of other datasets: `molprobe distill` reads only `smiles`
        "unlabeled": [
            f"results/{u}/data/molecules.parquet"
            for u in distill_settings()["unlabeled"]
        ],
    }


def distill_inputs(wildcards):
    """Split run of a student: the teachers' runs of the same split and seed."""
    ds, run = wildcards.dataset, f"{wildcards.split}/seed{wildcards.seed}"
    return {
        **distill_common(ds),
        "split": f"results/{ds}/splits/{run}.json",
        "teachers": [
            f"results/{ds}/models/{t}/{run}/meta.json"
            for t in teachers(wildcards.model)
        ],
    }


def distill_final_inputs(wildcards):
    """Final student: the teachers' final models of the same seed, the student's split runs."""
    ds = wildcards.dataset
    return {
        **distill_common(ds),
        "teachers": [
            f"{final_dir(ds, t, wildcards.seed)}/meta.json"
            for t in teachers(wildcards.model)
        ],
        "runs": final_runs(ds, wildcards.model),
    }


def distill_flags(wildcards, input):
    """--teacher dirs, --featurizer specs (with `featurizers:` params), --params, sample size."""
    entry = model_entry(wildcards.model)
    specs = [json.dumps({"name": f, **featurizer_params(f)}) for f in entry["features"]]
    flags = ["--model", entry["model"], "--teacher"]
    flags += [os.path.dirname(p) for p in input.teachers]
    for spec in specs:
        flags += ["--featurizer", spec]
    flags += ["--max-unlabeled", str(distill_settings()["max_unlabeled"])]
    flags += _params_flags(entry["params"])
    return shlex.join(flags)


# ------------------------------------------- helpers of train.smk: final models, calibration


def final_settings():
    """`final:` with its null defaults resolved: models = the screening ensemble's families
    (their runs on every split method and seed choose the epochs, and are trained for that
    even when `train.models` does not list the family), seeds = the split seeds (so the
    screening ensemble keeps as many members and its spread)."""
    f = dict(config.get("final") or {})
    f.setdefault("enabled", True)
    models = f.get("models")
    if models is None:
        models = (config.get("screen") or {}).get("models") or []
    f["models"] = list(models) if f["enabled"] else []
    if f.get("seeds") is None:
        f["seeds"] = split_settings()[1]
    return f


def final_dir(dataset, model, seed):
    return f"{RESULTS}/{dataset}/final/{model}/seed_{seed}"


def final_runs(dataset, model):
    """metrics.json of the family's split runs (every method and seed): their best epochs."""
    methods, seeds, _ = split_settings()
    return [
        f"{RESULTS}/{dataset}/models/{model}/{m}/seed{s}/metrics.json"
        for m in methods
        for s in seeds
    ]


def final_inputs(wildcards):
    ds = wildcards.dataset
    return {
        "molecules": f"results/{ds}/data/molecules.parquet",
        "features": [
            f"results/{ds}/features/{FEATURE_FILES[f]}"
            for f in model_entry(wildcards.model)["features"]
        ],
        "summary": f"results/{ds}/data/standardize.json",
        "runs": final_runs(ds, wildcards.model),
        "init": init_weights(wildcards.model),
    }


def final_targets():
    f = final_settings()
    # distilled students' teachers have final models too (their soft labels)
    models = list(
        dict.fromkeys(f["models"] + [t for m in f["models"] for t in teachers(m)])
    )
    return [
        f"{final_dir(ds, m, s)}/meta.json"
        for ds in config["run_datasets"]
        for m in models
        for s in f["seeds"]
    ]


def calibration_runs(dataset):
    """Run folders of the configured split runs (test + validation predictions)."""
    return [os.path.dirname(m) for m in model_metrics(dataset)]


def calibration_targets():
    if not train_models():
        return []
    return [
        f"{RESULTS}/{ds}/calibration.csv"
        for ds in config["run_datasets"]
        if dataset_entry(ds).get("task_type", "classification") == "classification"
    ]


# ---------------------------------------------------------------- helpers of dynamics.smk


def dynamics_dataset():
    return (config.get("dynamics") or {}).get("dataset") or config["run_datasets"][0]


def dynamics_enabled():
    return bool((config.get("dynamics") or {}).get("enabled", True))


def _cli_flags(section, mapping):
    """--flag value(s) for the keys of config `dynamics: <section>:` that are set."""
    cfg = (config.get("dynamics") or {}).get(section) or {}
    flags = []
    for key, flag in mapping.items():
        if key in cfg and cfg[key] is not None:
            value = cfg[key]
            flags += [flag] + (
                [str(v) for v in value] if isinstance(value, list) else [str(value)]
            )
    return shlex.join(flags)


def dynamics_targets():
    if not dynamics_enabled():
        return []
    return [
        "results/dynamics/gradients.parquet",
        "results/dynamics/gradient_summary.csv",
        "results/dynamics/planted_credit_summary.csv",
        "results/dynamics/attention_summary.csv",
        "results/dynamics/lstm_credit.parquet",
        "results/dynamics/lstm_credit_summary.csv",
    ]


# ---------------------------------------------------------------- helpers of probe.smk


def probe_settings():
    p = dict(config.get("probe") or {})
    p.setdefault("models", [])
    p.setdefault("split", "random")
    p.setdefault("part", "test")
    p.setdefault("nets", "clean")
    p.setdefault("n_random", 3)
    p.setdefault("outer", 5)
    p.setdefault("n_boot", 200)
    p.setdefault("max_molecules", 0)
    p.setdefault("erasure", True)
    p.setdefault("controls", True)
    p.setdefault("planted", {})
    return p


def clean_features(model):
    """Inputs of a probe-clean twin: no concept columns (ECFP bits, or the graph alone)."""
    graph = "graph" in model_entry(model)["features"]
    return ["graph"] if graph else ["ecfp"]


def clean_train_flags(wildcards):
    entry = model_entry(wildcards.model)
    flags = []
    for f in clean_features(wildcards.model):
        flags += [
            "--features",
            f"results/{wildcards.dataset}/features/{FEATURE_FILES[f]}",
        ]
    flags += [
        "--task-type",
        dataset_entry(wildcards.dataset).get("task_type", "classification"),
    ]
    flags += _params_flags(entry["params"])
    return shlex.join(flags)


def probe_features(model):
    if probe_settings()["nets"] == "clean":
        return clean_features(model)
    return model_entry(model)["features"]


def _probe_dirs(dataset, model, kind):
    split = probe_settings()["split"]
    _, seeds, _ = split_settings()
    return [
        f"results/{dataset}/{kind}/{model}/{split}/seed{s}/meta.json" for s in seeds
    ]


def probe_model_dirs(wildcards):
    kind = "models_clean" if probe_settings()["nets"] == "clean" else "models"
    return _probe_dirs(wildcards.dataset, wildcards.model, kind)


def probe_compare_dirs(wildcards):
    """The accuracy models, whose test ROC-AUC the verdict shows beside the probed nets'."""
    if probe_settings()["nets"] != "clean" or wildcards.model not in train_models():
        return []
    return _probe_dirs(wildcards.dataset, wildcards.model, "models")


def probe_splits(wildcards):
    split = probe_settings()["split"]
    _, seeds, _ = split_settings()
    return [f"results/{wildcards.dataset}/splits/{split}/seed{s}.json" for s in seeds]


def probe_flags():
    p = probe_settings()
    flags = [
        f"--part {p['part']}",
        f"--n-random {p['n_random']}",
        f"--outer {p['outer']}",
        f"--n-boot {p['n_boot']}",
        f"--max-molecules {p['max_molecules']}",
    ]
    flags += [] if p["erasure"] else ["--no-erasure"]
    flags += [] if p["controls"] else ["--no-controls"]
    return " ".join(flags)


def probe_planted_flags():
    p = probe_settings()["planted"]
    seeds = " ".join(str(s) for s in p.get("seeds", [0, 1, 2]))
    return (
        f"--seeds {seeds} --n-molecules {p.get('n_molecules', 1500)}"
        f" --epochs {p.get('epochs', 80)}"
    )


def probe_targets():
    models = probe_settings()["models"]
    return [
        f"results/{ds}/probes/{m}/verdict.md"
        for ds in config["run_datasets"]
        for m in models
    ]


# ---------------------------------------------------------------- helpers of screen.smk


def screen_settings():
    # defaults come from the schema (validate() fills them); tests/test_defaults.py pins them
    return dict(config["screen"])


def screen_libraries():
    return list(screen_settings()["libraries"])


def library_source(wildcards):
    """A registry dataset is fetched like any dataset; anything else is a path."""
    lib = wildcards.library
    if lib in (config.get("datasets") or {}):
        return f"data/raw/{lib}.csv.gz"
    raise ValueError(f"screen library {lib!r} is not in the `datasets:` registry")


def screen_model_metas(wildcards):
    """The ensemble of screening and the report's hits: the final models (every labeled
    molecule) of each family that has them, else its runs on `screen.split`."""
    s, f = screen_settings(), final_settings()
    _, seeds, _ = split_settings()
    metas = []
    for m in s["models"]:
        if m in f["models"]:
            metas += [
                f"{final_dir(wildcards.dataset, m, seed)}/meta.json"
                for seed in f["seeds"]
            ]
        else:
            metas += [
                f"results/{wildcards.dataset}/models/{m}/{s['split']}/seed{seed}/meta.json"
                for seed in seeds
            ]
    return metas


def screened_chunks(wildcards):
    outdir = checkpoints.library_chunks.get(library=wildcards.library).output.chunks
    ids = glob_wildcards(os.path.join(outdir, "chunk-{chunk}.csv.gz")).chunk
    return [
        f"results/{wildcards.dataset}/screen/{wildcards.library}/chunks/hits-{i}.parquet"
        for i in sorted(ids)
    ]


def screen_targets():
    return [
        f"results/{ds}/screen/{lib}/hits.parquet"
        for ds in config["run_datasets"]
        for lib in screen_libraries()
    ]


# ---------------------------------------------------------------- helpers of shortcuts.smk


def shortcut_settings():
    s = dict(config.get("shortcuts") or {})
    s.setdefault("enabled", True)
    s.setdefault("models", train_models())
    s.setdefault("top", 50)
    s.setdefault("permuted", {})
    s["permuted"] = {"seeds": 3, "epochs": 0, "trees": 0, **(s["permuted"] or {})}
    s.setdefault("counterion_molecules", 200)
    s.setdefault("trivial_model", "hgb")
    s.setdefault("margin", 0.05)
    planted = {
        "enabled": True,
        "task": "SR-MMP",
        "n_molecules": 1500,
        "seeds": [0, 1, 2],
    }
    s["planted"] = {**planted, **(s.get("planted") or {})}
    return s


def shortcut_planted_path(dataset):
    return f"results/{dataset}/shortcuts/planted/planted_summary.parquet"


def shortcut_planted_flags(wildcards):
    """CLI flags of `molprobe shortcuts-planted`: the audited families as the config trains
    them, the featurizer settings, and the task (the dataset's first task when the configured
    one is not among its task columns)."""
    p = shortcut_settings()["planted"]
    tasks = dataset_entry(wildcards.dataset).get("task_columns") or []
    task = p["task"] if (p["task"] in tasks or not tasks) else tasks[0]
    families = {m: model_entry(m) for m in shortcut_settings()["models"]}
    flags = ["--task", task, "--n-molecules", str(p["n_molecules"]), "--seeds"]
    flags += [str(x) for x in p["seeds"]]
    flags += ["--families", json.dumps(families)]
    flags += ["--featurizers", json.dumps(config.get("featurizers") or {})]
    return shlex.join(flags)


def shortcut_flags(wildcards):
    s = shortcut_settings()
    flags = ["--families", *s["models"], "--top", str(s["top"])]
    flags += ["--permuted-seeds", str(s["permuted"]["seeds"])]
    flags += ["--permuted-epochs", str(s["permuted"]["epochs"])]
    flags += ["--permuted-trees", str(s["permuted"]["trees"])]
    flags += ["--counterion-molecules", str(s["counterion_molecules"])]
    flags += ["--trivial-model", s["trivial_model"], "--margin", str(s["margin"])]
    if s["planted"]["enabled"]:
        flags += ["--planted", shortcut_planted_path(wildcards.dataset)]
    return shlex.join(flags)


def shortcut_inputs(wildcards):
    s = shortcut_settings()
    methods, seeds, _ = split_settings()
    ds = wildcards.dataset
    files = [
        f"results/{ds}/data/molecules.parquet",
        f"results/{ds}/data/standardize.json",
        f"results/{ds}/features/ecfp.npz",
    ]
    files += [
        f"results/{ds}/splits/{m}/seed{seed}.json" for m in methods for seed in seeds
    ]
    for model in s["models"]:
        files += [
            f"results/{ds}/features/{FEATURE_FILES[f]}"
            for f in model_entry(model)["features"]
        ]
        files += [
            f"results/{ds}/models/{model}/{m}/seed{seed}/{name}"
            for m in methods
            for seed in seeds
            for name in ("meta.json", "metrics.json", "predictions.parquet")
        ]
    if s["planted"]["enabled"]:
        files.append(shortcut_planted_path(ds))
    return sorted(set(files))


def _shortcut_item(name, caption, figure):
    return report(
        f"results/{{dataset}}/shortcuts/{name}.png",
        caption=f"../report/shortcuts_{caption}.rst",
        category="6. Shortcut audit",
        subcategory="{dataset}",
        labels={"figure": figure},
    )


def shortcut_targets():
    if not shortcut_settings()["enabled"] or not shortcut_settings()["models"]:
        return []
    return [f"results/{ds}/shortcuts/findings.md" for ds in config["run_datasets"]]


# ---------------------------------------------------------------- helpers of report.smk

import os

REPORT = f"{RESULTS}/report"


REPORT_STAGES = ("data", "models", "probes", "dynamics", "screen")


CATEGORY = {
    "summary": "0. Summary",
    "data": "1. Data",
    "models": "2. Models",
    "probes": "3. Probes",
    "dynamics": "4. Dynamics and LSTM",
    "screen": "5. Screening",
}


def report_settings():
    """The `report:` config section with defaults filled in (n_examples, n_hits: schema)."""
    r = dict(config.get("report") or {})
    r.setdefault("stages", derived_report_stages())
    r.setdefault(
        "probe_models", probe_settings()["models"]
    )  # results/{ds}/probes/{model}/
    r.setdefault("libraries", screen_libraries())  # results/{ds}/screen/{library}/
    r.setdefault(  # depth-experiment table, path template with {dataset}
        "depth_table",
        f"{RESULTS}/{{dataset}}/depth/depth.csv" if depth_settings()[0] else None,
    )
    unknown = sorted(set(r["stages"]) - set(REPORT_STAGES))
    if unknown:
        raise ValueError(
            f"report: stages: unknown stage(s) {unknown}; known: {list(REPORT_STAGES)}"
        )
    return r


# ---------------------------------------- helpers of report.smk: conformal sets of the hits


def conformal_runs(dataset):
    _, seeds, _ = split_settings()
    s = screen_settings()
    return [
        f"{RESULTS}/{dataset}/models/{m}/{s['split']}/seed{seed}"
        for m in s["models"]
        for seed in seeds
    ]


def conformal_input(wildcards):
    if report_settings().get("conformal_alpha") is None:
        return {}
    return {"conformal": f"{RESULTS}/{wildcards.dataset}/conformal.csv"}


def report_enabled(stage):
    return stage in report_settings()["stages"]


def _labels(**fixed):
    """labels= for report(): the fixed labels plus every wildcard of the job."""
    return lambda wc: {**{k: str(v) for k, v in wc.items()}, **fixed}


def _item(path, caption, stage, subcategory, **labels):
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category=CATEGORY[stage],
        subcategory=subcategory,
        labels=_labels(**labels),
    )


def report_split_files(wildcards):
    methods, seeds, _ = split_settings()
    return [
        f"{RESULTS}/{wildcards.dataset}/splits/{m}/seed{s}.json"
        for m in methods
        for s in seeds
    ]


# ---------------------------------------------------------------------------------- data


def report_headlines():
    """headline.json of every enabled stage (they also pull in all the stage's figures)."""
    r = report_settings()
    files = []
    for ds in config["run_datasets"]:
        if report_enabled("data"):
            files.append(f"{REPORT}/{ds}/data/headline.json")
        if report_enabled("models"):
            files.append(f"{REPORT}/{ds}/models/headline.json")
        if report_enabled("probes"):
            files += [
                f"{REPORT}/{ds}/probes/{m}/headline.json" for m in r["probe_models"]
            ]
        if report_enabled("screen"):
            files += [
                f"{REPORT}/{ds}/screen/{lib}/headline.json" for lib in r["libraries"]
            ]
    if report_enabled("dynamics"):
        files.append(f"{REPORT}/dynamics/headline.json")
    return files


def report_extra_figures():
    """Figures written by rules without a headline (the depth experiment)."""
    r = report_settings()
    if report_enabled("models") and r["depth_table"]:
        return [f"{REPORT}/{ds}/models/depth.png" for ds in config["run_datasets"]]
    return []


def report_targets():
    """Every report figure and table of the enabled stages (for `rule all`)."""
    findings = [f"{REPORT}/{ds}/findings.html" for ds in config["run_datasets"]]
    return (
        report_headlines()
        + report_extra_figures()
        + [f"{REPORT}/summary.html"]
        + findings
    )


# ---------------------------------------------------------- helpers of report_findings

import shlex


def _stage_file(rule, name, fallback, **wildcards):
    """The path pattern of output ``name`` of ``rule`` (or ``fallback``), filled in."""
    out = getattr(rules, rule).output if hasattr(rules, rule) else None
    pattern = getattr(out, name) if out is not None and name in out.keys() else fallback
    return pattern.format(**wildcards) if pattern else None


def findings_inputs(wildcards):
    ds, r = wildcards.dataset, report_settings()
    files = {"headlines": [h for h in report_headlines() if f"/{ds}/data/" in h]}
    if report_enabled("models"):
        files["comparison"] = f"{RESULTS}/{ds}/comparison.csv"
        files["metrics"] = model_metrics(ds)
        files["predictions"] = [
            os.path.join(os.path.dirname(m), "predictions.parquet")
            for m in model_metrics(ds)
        ]
        if r["depth_table"]:
            files["depth"] = r["depth_table"].format(dataset=ds)
    if report_enabled("probes"):
        files["probes"] = [
            _stage_file(
                "probe",
                "verdict",
                f"{RESULTS}/{{dataset}}/probes/{{model}}/probes.parquet",
                dataset=ds,
                model=m,
            )
            for m in r["probe_models"]
        ]
    if report_enabled("dynamics"):
        files["gradients"] = _stage_file(
            "dynamics_gradients", "summary", f"{RESULTS}/dynamics/gradients.parquet"
        )
        files["credit"] = f"{RESULTS}/dynamics/lstm_credit_summary.csv"
    if report_enabled("screen"):
        files["hits"] = [
            f"{RESULTS}/{ds}/screen/{lib}/hits.top.explained.csv"
            for lib in r["libraries"]
        ]
    if shortcut_targets():
        files["shortcuts"] = _stage_file(
            "shortcuts",
            "findings_table",
            f"{RESULTS}/{{dataset}}/shortcuts/findings.md",
            dataset=ds,
        )
    return files


def findings_args(wildcards, input):
    """The CLI options of `molprobe report findings` for the declared inputs."""
    r, args = report_settings(), []
    if "comparison" in input.keys():
        args += ["--comparison", input.comparison]
        args += ["--runs", *[os.path.dirname(m) for m in input.metrics]]
    if "depth" in input.keys():
        args += ["--depth", input.depth]
    if "probes" in input.keys():
        opt = {".md": "--probe-verdict", ".parquet": "--probe-table"}
        for model, path in zip(r["probe_models"], input.probes):
            args += [opt[os.path.splitext(path)[1]], f"{model}={path}"]
    if "gradients" in input.keys():
        args += ["--gradients", input.gradients, "--lstm-credit", input.credit]
    if "hits" in input.keys():
        args += [
            "--hits",
            *[f"{lib}={p}" for lib, p in zip(r["libraries"], input.hits)],
        ]
    if "shortcuts" in input.keys():
        args += ["--shortcuts", input.shortcuts]
    return " ".join(shlex.quote(str(a)) for a in args)


# ---------------------------------------------------------------- checks at load


def configured_families():
    """Every family the config names: trained, screened, final, teachers, `models:` entries."""
    named = train_models() + list((config.get("screen") or {}).get("models") or [])
    named += final_settings()["models"] + list(config.get("models") or {})
    named += [t for m in named for t in teachers(m)]
    return list(dict.fromkeys(named))


def check_families():
    """Stop at load with one line for a family that names no registry model or encoder."""
    for family in configured_families():
        init = model_entry(family).get(
            "init"
        )  # model_entry resolves the registry model
        if init:
            encoder_settings(init, f"models: {family}: init")


check_families()
