"""Errors a user can act on: the CLI prints them as one line, no traceback."""


class MolprobeError(Exception):
    """A problem with the user's input, config or files, stated in one line."""


class InputError(MolprobeError):
    """An input file cannot be read: names the file, the row (when known) and the problem."""

    def __init__(self, path, problem: str, row: int | None = None):
        where = f"{path}" if row is None else f"{path}, row {row}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.row = row
        self.problem = problem
