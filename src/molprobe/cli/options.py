"""The words every subcommand shares, and old spellings kept for one release.

One vocabulary across `molprobe` subcommands:

- ``--output-dir DIR``: folder for a command's outputs (old: ``--outdir``);
- ``--workers N``: worker processes (old: ``--jobs``, ``-j``);
- ``--models PATH...``: model folders (searched recursively); family names go under
  ``--families NAME...``.

`add_option` adds an option with its deprecated spellings: they still work (required options
stay required whichever spelling is used) and print one note on stderr naming the new one.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["DeprecatedAlias", "add_compute_options", "add_option", "add_output_dir", "add_workers"]


class DeprecatedAlias(argparse.Action):
    """``store`` for an option with old spellings: using one prints a deprecation note."""

    def __init__(self, option_strings, dest, deprecated: tuple[str, ...] = (), **kwargs):
        self.deprecated = tuple(deprecated)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in self.deprecated:
            new = self.option_strings[0]
            print(
                f"{parser.prog}: note: {option_string} is deprecated, use {new} "
                "(the old spelling goes in the next release)",
                file=sys.stderr,
            )
        setattr(namespace, self.dest, values)


def add_option(parser: argparse.ArgumentParser, name: str, *old: str, **kwargs) -> argparse.Action:
    """``parser.add_argument(name, *old, **kwargs)`` where the spellings `old` are deprecated.

    For value-taking options (argparse's default ``store`` action); `dest` follows `name`.
    """
    if not old:
        return parser.add_argument(name, **kwargs)
    kwargs.setdefault("dest", name.lstrip("-").replace("-", "_"))
    if kwargs.get("help") not in (None, argparse.SUPPRESS):
        kwargs["help"] += f" (old spelling {', '.join(old)}: deprecated)"
    return parser.add_argument(name, *old, action=DeprecatedAlias, deprecated=old, **kwargs)


def add_workers(
    parser: argparse.ArgumentParser, default: int = 1, help: str = "worker processes"
) -> argparse.Action:
    """``--workers N`` (old: ``--jobs``, ``-j``)."""
    return add_option(
        parser, "--workers", "--jobs", "-j", type=int, default=default, metavar="N", help=help
    )


def add_output_dir(parser: argparse.ArgumentParser, **kwargs) -> argparse.Action:
    """``--output-dir DIR`` (old: ``--outdir``); `kwargs` as for `add_argument`."""
    kwargs.setdefault("metavar", "DIR")
    return add_option(parser, "--output-dir", "--outdir", **kwargs)


def add_compute_options(parser: argparse.ArgumentParser) -> None:
    """``--device`` (auto: CUDA when present) and ``--threads`` (torch CPU threads)."""
    parser.add_argument("--device", default="auto", help="auto (default) | cpu | cuda")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
