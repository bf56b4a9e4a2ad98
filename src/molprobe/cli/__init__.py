"""`molprobe <command>`: thin subcommands; each parses arguments, reads/writes files
and calls the library. One module per command group, each exposing ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from molprobe import __version__
from molprobe.errors import MolprobeError

# command-group modules, in the order they appear in `molprobe --help`
COMMAND_MODULES = [
    "molprobe.cli.dataset",  # fetch, split
    "molprobe.cli.data",  # standardize
    "molprobe.cli.featurize",  # featurize
    "molprobe.cli.train",  # train, evaluate, compare
    "molprobe.cli.final",  # train-final, calibration, conformal
    "molprobe.cli.pretrain",  # pretrain
    "molprobe.cli.distill",  # distill
    "molprobe.cli.dynamics",  # gradients, lstm-credit
    "molprobe.cli.report",  # report data/models/probes/dynamics/screen/summary
    "molprobe.cli.experiments",  # depth-table
    "molprobe.cli.probe",  # concepts, probe
    "molprobe.cli.screen",  # screen, split-library, gather-hits
    "molprobe.cli.shortcuts",  # shortcuts
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="molprobe",
        description="Train deep nets on molecules, look inside them, screen libraries.",
    )
    parser.add_argument("--version", action="version", version=f"molprobe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else (logging.INFO if args.verbose else logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        rc = args.func(args)
    except MolprobeError as err:
        if args.debug:
            raise
        print(f"molprobe {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"molprobe {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
