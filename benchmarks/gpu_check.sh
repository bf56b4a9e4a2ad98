#!/usr/bin/env bash
# The prepared device check of issue 19 item 2 (benchmarks/bench_gpu.py), in two halves.
#
#   here, before asking for a device (needs PyPI):   bash benchmarks/gpu_check.sh fetch
#       .whl/ (git-ignored): the wheels molprobe needs that the device image lacks, for
#       CPython 3.12 on x86-64 (rdkit, skops + prettytable, wcwidth, captum, concept-erasure,
#       at this venv's versions), and .whl/data/: tox21 and muv from $MOLPROBE_MIRROR.
#   on the device machine (the device tool's `run`, carry [".whl"], timeout_s 560):
#       bash benchmarks/gpu_check.sh run
#       installs the wheels into /tmp/site, runs bench_gpu.py on CUDA (full Tox21, 3 epochs
#       a family, 30,000 MUV molecules with 1-14 featurizing workers) and leaves
#       $OUT/result.json and $OUT/log.txt (the work files stay in /tmp: $OUT returns 8 files).
# The device image holds torch, torch-geometric, pandas, pyarrow, scikit-learn, scipy, yaml,
# psutil and tqdm (/work/.library/device/KINDS.md); molprobe runs from src/ uninstalled.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(rdkit skops prettytable wcwidth captum concept-erasure)

case "${1:-}" in
fetch)
    mkdir -p .whl/data
    pins=()
    for p in "${PKGS[@]}"; do
        v=$(.venv/bin/python -m pip show "$p" 2>/dev/null | sed -n 's/^Version: //p')
        pins+=("$p${v:+==$v}")
    done
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "${pins[@]}"
    cp "${MOLPROBE_MIRROR:-../shared/data}"/{tox21,muv}.csv.gz .whl/data/
    du -sh .whl
    ;;
run)
    out=${OUT:-benchmarks/out/gpu}
    mkdir -p "$out"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/log.txt"
    python3 benchmarks/bench_gpu.py --data .whl/data/tox21.csv.gz \
        --library .whl/data/muv.csv.gz --out /tmp/gpu_check --device cuda --jobs 8 \
        --epochs 3 --cpu-epochs 1 --n-screen 30000 --n-equal 2000 --workers 1 2 4 8 14 \
        "${@:2}" 2>&1 | tee -a "$out/log.txt"
    cp /tmp/gpu_check/result.json "$out/"
    ;;
*)
    echo "usage: bash benchmarks/gpu_check.sh fetch|run [bench_gpu.py options]" >&2
    exit 2
    ;;
esac
