"""The shared CLI words: new spellings, old ones still accepted with a note."""

from __future__ import annotations

import argparse

import pytest

from molprobe.cli.options import add_option, add_output_dir, add_workers


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="molprobe demo")
    add_output_dir(p, required=True, help="folder for the results")
    add_workers(p)
    add_option(p, "--families", "--models", nargs="+", help="model families")
    return p


def test_new_spellings_parse_silently(capsys):
    args = parser().parse_args(["--output-dir", "out", "--workers", "3", "--families", "snn"])
    assert (args.output_dir, args.workers, args.families) == ("out", 3, ["snn"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "argv, old, new",
    [
        (["--outdir", "out"], "--outdir", "--output-dir"),
        (["--output-dir", "out", "--jobs", "3"], "--jobs", "--workers"),
        (["--output-dir", "out", "-j", "3"], "-j", "--workers"),
        (["--output-dir", "out", "--models", "snn", "gine"], "--models", "--families"),
    ],
)
def test_old_spellings_still_work_with_one_note(capsys, argv, old, new):
    args = parser().parse_args(argv)
    assert args.output_dir == "out"
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"molprobe demo: note: {old} is deprecated, use {new} "
        "(the old spelling goes in the next release)"
    ]
    assert vars(args) == vars(parser().parse_args([a if a != old else new for a in argv]))


def test_required_option_is_still_required(capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["--workers", "2"])
    assert "--output-dir" in capsys.readouterr().err


def test_help_names_the_old_spelling():
    text = " ".join(parser().format_help().split())  # argparse wraps lines
    assert "old spelling --outdir: deprecated" in text
    assert "old spelling --jobs, -j: deprecated" in text
