"""The import graph of ``src/molprobe`` follows the layers of docs/architecture.md.

Every ``import`` of every module (including imports inside functions: they are real
dependencies) is parsed with ``ast``. Checked: no cycle between packages, no import of a
higher layer or of a peer package on the same layer, no ``_private`` name imported from
another module. Known violations in code that other work is changing are listed in the
allow-lists below, each with its reason; an entry that no longer occurs fails the test, so
the lists only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SRC = REPO / "src"

# Layer of each package (or top-level module); a module may import its own package and any
# lower layer. Same number = peers, which must not import each other.
LAYERS = {
    "molprobe": 0,  # __init__ (version)
    "molprobe.errors": 0,
    "molprobe.fileio": 0,
    "molprobe.chem": 1,
    "molprobe.datasets": 2,
    "molprobe.models": 2,
    "molprobe.training": 3,
    "molprobe.inference": 4,
    "molprobe.attribution": 5,
    "molprobe.probing": 6,
    "molprobe.dynamics": 6,
    "molprobe.shortcuts": 6,
    "molprobe.screening": 6,
    "molprobe.reporting": 7,
    "molprobe.app": 8,  # application functions: modules named run.py in any package
    "molprobe.cli": 9,
}
NEVER = {("molprobe.reporting", "molprobe.training")}  # reporting reads result tables only

# (importer, imported) edges between packages that break the rules today (none left);
# an entry here must name its issue, and the test fails once its edge is gone.
ALLOWED_EDGES: set[tuple[str, str]] = set()
# (importing module, imported module, name) private imports that exist today.
ALLOWED_PRIVATE: set[tuple[str, str, str]] = set()


# CLI modules over the 250-line limit (none left)
LONG_CLI_ALLOWED: set[str] = set()
CLI_MAX_LINES = 250


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, src: Path = SRC) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import statement in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, src)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out += [(base, a.name) for a in node.names]
    return out


def package_of(module: str) -> str:
    """The layer key of a module: ``molprobe.app`` for application modules (``*.run``), else
    the longest key of :data:`LAYERS` that is a prefix of it."""
    if module.rpartition(".")[2] == "run":
        return "molprobe.app"
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        key = ".".join(parts[:k])
        if key in LAYERS:
            return key
    raise KeyError(f"{module}: no layer in tests/test_architecture.py LAYERS")


def resolve(imported: str, name: str | None, src: Path = SRC) -> str:
    """``from molprobe.chem import io`` names the module molprobe.chem.io."""
    if name and (src / Path(*f"{imported}.{name}".split("."))).with_suffix(".py").is_file():
        return f"{imported}.{name}"
    return imported


def import_graph(src: Path = SRC) -> dict[str, list[tuple[str, str | None]]]:
    """module -> [(imported molprobe module, imported name or None)] for every module."""
    graph = {}
    for p in sorted((src / "molprobe").rglob("*.py")):
        found = imports(p, src)
        graph[module_name(p, src)] = [
            (resolve(i, n, src), n)
            for i, n in found
            if i == "molprobe" or i.startswith("molprobe.")
        ]
    return graph


GRAPH = import_graph()
MODULES = set(GRAPH)


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges`` as a node path, or None."""
    nodes = sorted({n for e in edges for n in e})
    succ = {n: sorted(b for a, b in edges if a == n) for n in nodes}
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> list[str] | None:
        state[n] = 1
        for m in succ[n]:
            if state.get(m) == 1:
                return [*path[path.index(m) :], m]
            if m not in state and (cycle := visit(m, [*path, m])):
                return cycle
        state[n] = 2
        return None

    for n in nodes:
        if n not in state and (cycle := visit(n, [n])):
            return cycle
    return None


def private_imports(graph) -> set[tuple[str, str, str | None]]:
    """(module, imported module, name) where a ``_name`` is taken from another module."""
    found = set()
    for m, targets in graph.items():
        for target, name in targets:
            last = name or target.rpartition(".")[2]
            if last.startswith("_") and not last.startswith("__") and target != m:
                found.add((m, target, name))
    return found


def package_edges(graph=None) -> set[tuple[str, str]]:
    edges = set()
    for m, targets in (GRAPH if graph is None else graph).items():
        for target, _ in targets:
            a, b = package_of(m), package_of(target)
            if a != b:
                edges.add((a, b))
    return edges


def test_every_module_has_a_layer():
    for m in MODULES:
        assert package_of(m) in LAYERS


def upward(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Edges to a higher layer, to a peer package, or forbidden by :data:`NEVER`."""
    return {(a, b) for a, b in edges if LAYERS[b] >= LAYERS[a] or (a, b) in NEVER}


def test_no_upward_or_peer_imports():
    bad = upward(package_edges())
    assert bad - ALLOWED_EDGES == set(), "imports against the layer order"
    assert ALLOWED_EDGES - bad == set(), "fixed: remove these from ALLOWED_EDGES"


def test_no_package_cycles():
    cycle = find_cycle(package_edges() - ALLOWED_EDGES)
    assert cycle is None, "package import cycle: " + " -> ".join(cycle or [])


def test_no_module_cycles():
    """Also inside packages (e.g. chem.featurize <-> chem.graphs, even through lazy imports)."""
    edges = {(m, t) for m, targets in GRAPH.items() for t, _ in targets if t in MODULES and t != m}
    cycle = find_cycle(edges)
    assert cycle is None, "module import cycle: " + " -> ".join(cycle or [])


def test_no_private_names_across_modules():
    found = private_imports(GRAPH)
    assert found - ALLOWED_PRIVATE == set(), "private names imported from other modules"
    assert ALLOWED_PRIVATE - found == set(), "fixed: remove these from ALLOWED_PRIVATE"


def test_the_checks_find_planted_violations(tmp_path):
    """Positive control: a planted package with a lazy private import, a cycle between two
    modules and an upward import (chem -> training) is caught by every check."""
    pkg = tmp_path / "molprobe"
    (pkg / "chem").mkdir(parents=True)
    (pkg / "training").mkdir()
    for f in ("__init__.py", "chem/__init__.py", "training/__init__.py"):
        (pkg / f).write_text("")
    (pkg / "chem/a.py").write_text("def f():\n    from molprobe.chem.b import _helper\n")
    (pkg / "chem/b.py").write_text("from molprobe.chem import a\nfrom . import c\n")
    (pkg / "chem/c.py").write_text("import molprobe.training.loop\n")
    (pkg / "training/loop.py").write_text("from molprobe.chem.a import f\n")
    graph = import_graph(tmp_path)
    assert private_imports(graph) == {("molprobe.chem.a", "molprobe.chem.b", "_helper")}
    modules = set(graph)
    edges = {(m, t) for m, ts in graph.items() for t, _ in ts if t in modules and t != m}
    assert find_cycle(edges) in (
        ["molprobe.chem.a", "molprobe.chem.b", "molprobe.chem.a"],
        ["molprobe.chem.b", "molprobe.chem.a", "molprobe.chem.b"],
    )
    assert package_edges(graph) == {
        ("molprobe.chem", "molprobe.training"),
        ("molprobe.training", "molprobe.chem"),
    }
    assert find_cycle(package_edges(graph)) is not None
    assert upward(package_edges(graph)) == {("molprobe.chem", "molprobe.training")}
    # and a clean graph has none
    assert find_cycle({("molprobe.cli", "molprobe.chem")}) is None


def test_cli_modules_stay_thin():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (SRC / "molprobe/cli").glob("*.py")}
    long = {name for name, n in sizes.items() if n > CLI_MAX_LINES}
    assert long - LONG_CLI_ALLOWED == set(), {n: sizes[n] for n in long}
    assert LONG_CLI_ALLOWED - long == set(), "now thin: remove from LONG_CLI_ALLOWED"
