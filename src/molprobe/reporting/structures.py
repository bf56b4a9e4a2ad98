"""Structure depictions for the report (RDKit ``rdMolDraw2D``): molecule grids with legends,
highlighted atoms (a matched concept, an alert) or atoms shaded by a per-atom weight
(attention, attribution: red = positive, blue = negative, radius ∝ |weight|)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem.Draw import rdMolDraw2D

from molprobe.errors import MolprobeError

HIGHLIGHT = (1.0, 0.6, 0.2)  # orange: matched atoms


def _mol(smiles: str, sanitize: bool) -> Chem.Mol:
    """Parse for drawing: an unparsable SMILES becomes an empty molecule (its legend says so)."""
    blocker = rdBase.BlockLogs()  # a rejected input's parse errors are expected: keep logs quiet
    mol = Chem.MolFromSmiles(smiles) if sanitize else None
    if mol is None:
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is not None:
            mol.UpdatePropertyCache(strict=False)
            Chem.FastFindRings(mol)
    del blocker
    return mol if mol is not None else Chem.Mol()


def weight_colours(weights: Sequence[float]) -> tuple[dict[int, tuple], dict[int, float]]:
    """Per-atom colours and radii for weights: scaled by the largest |weight| of the
    molecule; red for positive, blue for negative, white-ish near zero."""
    w = np.asarray(weights, dtype=float)
    w = np.nan_to_num(w)
    scale = float(np.abs(w).max()) or 1.0
    colours, radii = {}, {}
    for i, v in enumerate(w / scale):
        a = abs(float(v))
        if a < 0.05:
            continue
        colours[i] = (1.0, 1.0 - a, 1.0 - a) if v > 0 else (1.0 - a, 1.0 - a, 1.0)
        radii[i] = 0.25 + 0.3 * a
    return colours, radii


def draw_grid(
    smiles: Sequence[str],
    legends: Sequence[str] | None = None,
    highlight_atoms: Sequence[Sequence[int] | None] | None = None,
    atom_weights: Sequence[Sequence[float] | None] | None = None,
    mols_per_row: int = 4,
    size: tuple[int, int] = (260, 220),
    fmt: str = "svg",
    sanitize: bool = True,
) -> str | bytes:
    """Draw molecules in a grid.

    Args:
        smiles: molecules to draw (an unparsable one is drawn empty; parse-only input is
            drawn unsanitized when ``sanitize`` is False, e.g. rejected inputs).
        legends: text under each molecule (default: none).
        highlight_atoms: per molecule, atom indices to highlight in orange (or None).
        atom_weights: per molecule, one weight per atom (or None); shades atoms by sign
            and size, and overrides ``highlight_atoms`` for that molecule.
        mols_per_row: grid width in molecules. size: one cell (width, height) in pixels.
        fmt: ``"svg"`` (returns str) or ``"png"`` (returns bytes).
    """
    if fmt not in ("svg", "png"):
        raise MolprobeError(f"draw_grid: fmt must be 'svg' or 'png', not {fmt!r}")
    n = len(smiles)
    if n == 0:
        raise MolprobeError("draw_grid: no molecules to draw")
    legends = list(legends) if legends is not None else [""] * n
    for name, seq in (
        ("legends", legends),
        ("highlight_atoms", highlight_atoms),
        ("atom_weights", atom_weights),
    ):
        if seq is not None and len(seq) != n:
            raise MolprobeError(f"draw_grid: {len(seq)} {name} for {n} molecules")
    mols = [_mol(s, sanitize) for s in smiles]
    h_atoms: list[list[int]] = []
    h_colours: list[dict[int, tuple]] = []
    h_radii: list[dict[int, float]] = []
    for k, mol in enumerate(mols):
        n_atoms = mol.GetNumAtoms()
        weights = atom_weights[k] if atom_weights is not None else None
        if weights is not None and len(weights) == n_atoms and n_atoms:
            colours, radii = weight_colours(weights)
        else:
            if weights is not None and len(weights) != n_atoms:
                raise MolprobeError(
                    f"draw_grid: molecule {k} has {n_atoms} atoms but {len(weights)} weights"
                )
            atoms = (
                highlight_atoms[k]
                if highlight_atoms is not None and highlight_atoms[k] is not None
                else []
            )
            atoms = [int(a) for a in atoms if 0 <= int(a) < n_atoms]
            colours, radii = dict.fromkeys(atoms, HIGHLIGHT), dict.fromkeys(atoms, 0.4)
        h_atoms.append(list(colours))
        h_colours.append(colours)
        h_radii.append(radii)
    cols = max(1, min(mols_per_row, n))
    rows = (n + cols - 1) // cols
    w, h = size
    if fmt == "svg":
        drawer = rdMolDraw2D.MolDraw2DSVG(cols * w, rows * h, w, h)
    else:
        drawer = rdMolDraw2D.MolDraw2DCairo(cols * w, rows * h, w, h)
    opts = drawer.drawOptions()
    opts.legendFontSize = 14
    opts.clearBackground = True
    opts.prepareMolsBeforeDrawing = False
    prepared = []
    for mol in mols:
        try:
            prepared.append(rdMolDraw2D.PrepareMolForDrawing(mol, kekulize=sanitize))
        except Exception:  # an unsanitizable rejected input: draw it as parsed
            m = Chem.Mol(mol)
            from rdkit.Chem import rdDepictor

            rdDepictor.Compute2DCoords(m)
            prepared.append(m)
    drawer.DrawMolecules(
        prepared,
        legends=[str(x) for x in legends],
        highlightAtoms=h_atoms,
        highlightAtomColors=h_colours,
        highlightAtomRadii=h_radii,
        highlightBonds=[[] for _ in mols],
    )
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def substructure_atoms(smiles: str, smarts: str) -> list[int]:
    """Atom indices of ``smiles`` matched by the SMARTS pattern (all matches joined)."""
    mol = Chem.MolFromSmiles(smiles)
    patt = Chem.MolFromSmarts(smarts)
    if patt is None:
        raise MolprobeError(f"not a valid SMARTS pattern: {smarts!r}")
    if mol is None:
        return []
    return sorted({a for match in mol.GetSubstructMatches(patt) for a in match})
