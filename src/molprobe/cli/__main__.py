"""``python -m molprobe.cli``: the ``molprobe`` command, for machines where the package is on
PYTHONPATH but not installed (e.g. the device check in ``benchmarks/bench_gpu.py``)."""

from molprobe.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
