"""CLI: dynamics commands (filled in by its stage)."""


def register(sub) -> None:
    """Add this group's subcommands to the `molprobe` parser."""
