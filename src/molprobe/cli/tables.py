"""The molecule-table readers for the CLI commands (they live in :mod:`molprobe.training.tables`)."""

from molprobe.training.tables import read_labelled_molecules, read_molecule_table, task_columns

__all__ = ["read_labelled_molecules", "read_molecule_table", "task_columns"]
