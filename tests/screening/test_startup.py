"""Start-up of `molprobe screen`: only the screening command's module and what it needs load."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from molprobe.cli import COMMAND_MODULES, build_parser, command_module

#: libraries the screening path never needs (captum, plotting, scikit-learn, PyG, SciPy)
NOT_NEEDED = ("captum", "matplotlib", "sklearn", "torch_geometric", "scipy")


def test_each_module_registers_exactly_the_declared_commands():
    for name, declared in COMMAND_MODULES.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        assert tuple(sub.choices) == declared, name
    full = build_parser()
    commands = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    assert list(commands.choices) == [c for cmds in COMMAND_MODULES.values() for c in cmds]


def test_command_module_finds_the_command_after_global_flags():
    assert command_module(["screen", "--models", "m"]) == "molprobe.cli.screen"
    assert command_module(["--debug", "-v", "gather-hits"]) == "molprobe.cli.screen"
    assert command_module(["train", "--model", "snn"]) == "molprobe.cli.train"
    # no command, an unknown one or --help first: the full parser (its errors and help)
    assert command_module([]) is None
    assert command_module(["--help"]) is None
    assert command_module(["scren"]) is None


def test_screen_path_imports_no_unneeded_library():
    code = (
        "import sys\n"
        "from molprobe.cli import build_parser, command_module\n"
        "build_parser([command_module(['screen'])])\n"
        "import molprobe.screening.screen, molprobe.screening.ensemble\n"
        "import molprobe.screening.pipeline, molprobe.chem.featurize\n"
        f"print(','.join(m for m in {NOT_NEEDED!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
