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

# command-group modules, in the order they appear in `molprobe --help`, with the commands each
# registers: `main` imports only the module of the command it runs (a screening job does not
# pay for captum, matplotlib and scikit-learn), `build_parser` imports them all
COMMAND_MODULES = {
    "molprobe.cli.dataset": ("fetch", "split"),
    "molprobe.cli.data": ("standardize",),
    "molprobe.cli.featurize": ("featurize",),
    "molprobe.cli.train": ("train", "evaluate", "compare"),
    "molprobe.cli.final": ("train-final", "calibration", "conformal"),
    "molprobe.cli.pretrain": ("pretrain",),
    "molprobe.cli.distill": ("distill",),
    "molprobe.cli.dynamics": ("gradients", "planted-credit", "attention"),
    "molprobe.cli.report": ("report",),  # report data/models/probes/dynamics/screen/summary
    "molprobe.cli.experiments": ("lstm-credit", "depth-run", "depth-table"),
    "molprobe.cli.probe": ("concepts", "probe", "planted"),
    "molprobe.cli.screen": ("screen", "split-library", "gather-hits", "explain-hits"),
    "molprobe.cli.shortcuts": ("shortcuts", "shortcuts-planted"),
}


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of those registered by ``modules``."""
    parser = argparse.ArgumentParser(
        prog="molprobe",
        description="Train deep nets on molecules, look inside them, screen libraries.",
    )
    parser.add_argument("--version", action="version", version=f"molprobe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES if modules is None else modules:
        importlib.import_module(name).register(sub)
    return parser


def command_module(argv: list[str]) -> str | None:
    """The module registering the command ``argv`` runs (its first non-option word), or
    None (no command, unknown command, or top-level options such as --help first)."""
    words = [a for a in argv if a not in ("--debug", "-v", "--verbose")]
    if not words or words[0].startswith("-"):
        return None
    return next((m for m, cmds in COMMAND_MODULES.items() if words[0] in cmds), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    module = command_module(argv)
    parser = build_parser(None if module is None else [module])
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
