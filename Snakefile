# molprobe: train deep nets on molecules, look inside them, screen libraries with them.
# Run with:  snakemake --cores 2 --workflow-profile workflow/profiles/default   (or `make run`)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/featurize.smk"


rule all:
    input:
        all_targets(),
    default_target: True
