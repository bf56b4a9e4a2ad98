# molprobe: train deep nets on molecules, look inside them, screen libraries with them.
# Run with:  snakemake --cores 2 --workflow-profile workflow/profiles/default   (or `make run`)
# Report:    snakemake --cores 2 --workflow-profile workflow/profiles/default --report results/report.html
import os
import shlex
import sys

from snakemake.utils import min_version, validate

min_version("9.0")

# Jobs that do not find `molprobe` on PATH look beside the Python running Snakemake (e.g.
# .venv/bin), so `.venv/bin/snakemake ...` works from a plain shell, venv activated or not.
shell.prefix(
    "set -euo pipefail; command -v molprobe >/dev/null"
    f' || export PATH={shlex.quote(os.path.dirname(sys.executable))}:"$PATH"; '
)


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/featurize.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/dynamics.smk"
include: "workflow/rules/probe.smk"
include: "workflow/rules/screen.smk"
include: "workflow/rules/shortcuts.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/pretrain.smk"


# small bookkeeping jobs run on the submitting node, never as cluster jobs
localrules:
    all,
    fetch,
    split,
    compare,
    depth_table,
    library_chunks,
    screen_gather,
    report_data,
    report_models,
    report_depth,
    report_probes,
    report_dynamics,
    report_screen,
    report_summary,
    report_findings,
    report_figures,


rule all:
    default_target: True
    input:
        all_targets(),
        dynamics_targets(),
        probe_targets(),
        screen_targets(),
        shortcut_targets(),
        report_targets(),
