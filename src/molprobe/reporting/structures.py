"""Structure depictions for the report (RDKit ``rdMolDraw2D``): molecule grids with legends,
highlighted atoms (a matched concept, an alert) or atoms shaded by a per-atom weight
(attention, attribution: red = positive, blue = negative, radius ∝ |weight|)."""

from __future__ import annotations

import html
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
    key: str | None = None,
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
        key: colour key under an SVG grid (:data:`WEIGHT_KEY`, :data:`HIGHLIGHT_KEY`, ``""``
            for none; default: from the arguments). Legends are drawn in ASCII
            (:func:`ascii_label`) as SVG text of :data:`LABEL_FONT_PX` px.
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
    prepared = [_prepared(mol, sanitize) for mol in mols]
    legends = [ascii_label(str(x)) for x in legends]
    cols = max(1, min(mols_per_row, n))
    if fmt == "png":
        return _draw_png(prepared, legends, h_atoms, h_colours, h_radii, cols, size)
    if key is None:
        key = WEIGHT_KEY if atom_weights is not None else HIGHLIGHT_KEY if highlight_atoms else ""
    return _compose_svg(prepared, legends, h_atoms, h_colours, h_radii, cols, size, key)


WEIGHT_KEY = "weight"  # colour key of atom weights: red (+) raises, blue (-) lowers the score
HIGHLIGHT_KEY = "highlight"  # colour key of highlighted atoms: orange = matched
LABEL_FONT_PX = 13  # legend text under each molecule (>= 9 pt at 96 dpi is 12 px)
_ASCII = {"\u00b1": "+/-", "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2026": "...",
          "\u00b7": ",", "\u00d7": "x", "\u2265": ">=", "\u2264": "<=", "\u2192": "->",
          "\u0394": "delta ", "\u00b5": "u", "\u202f": " ", "\u00a0": " ", "\u2248": "~"}  # fmt: skip


def ascii_label(text: str) -> str:
    """``text`` in plain ASCII, so every character survives any font: ± -> +/-, − -> -,
    … -> ..., · -> ","; anything else outside ASCII becomes its closest ASCII or "?"."""
    import unicodedata

    for k, v in _ASCII.items():
        text = text.replace(k, v)
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out.append(base or "?")
    return "".join(out)


def _prepared(mol: Chem.Mol, sanitize: bool) -> Chem.Mol:
    try:
        return rdMolDraw2D.PrepareMolForDrawing(mol, kekulize=sanitize)
    except Exception:  # an unsanitizable rejected input: draw it as parsed
        from rdkit.Chem import rdDepictor

        m = Chem.Mol(mol)
        rdDepictor.Compute2DCoords(m)
        return m


def _draw_png(prepared, legends, h_atoms, h_colours, h_radii, cols, size) -> bytes:
    rows = (len(prepared) + cols - 1) // cols
    w, h = size
    drawer = rdMolDraw2D.MolDraw2DCairo(cols * w, rows * h, w, h)
    opts = drawer.drawOptions()
    opts.legendFontSize = 14
    opts.legendFraction = 0.2
    opts.prepareMolsBeforeDrawing = False
    drawer.DrawMolecules(prepared, legends=legends, highlightAtoms=h_atoms,
                         highlightAtomColors=h_colours, highlightAtomRadii=h_radii,
                         highlightBonds=[[] for _ in prepared])  # fmt: skip
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def _mol_svg(mol, atoms, colours, radii, w: int, h: int) -> str:
    """One molecule as an SVG fragment (RDKit's header and root element dropped)."""
    drawer = rdMolDraw2D.MolDraw2DSVG(w, h)
    opts = drawer.drawOptions()
    opts.prepareMolsBeforeDrawing = False
    opts.clearBackground = False
    drawer.DrawMolecule(mol, highlightAtoms=atoms, highlightAtomColors=colours,
                        highlightAtomRadii=radii, highlightBonds=[])  # fmt: skip
    drawer.FinishDrawing()
    text = drawer.GetDrawingText()
    body = text.split("<!-- END OF HEADER -->", 1)[-1]
    return body.rsplit("</svg>", 1)[0]


def _key_svg(key: str, y: int) -> tuple[str, int]:
    """The colour key drawn under the grid, and its height in pixels."""
    if key == WEIGHT_KEY:
        items = [((255, 80, 80), "(+) red: the atom raises the score"),
                 ((110, 110, 255), "(-) blue: the atom lowers it; circle size ~ |weight|")]  # fmt: skip
    elif key == HIGHLIGHT_KEY:
        items = [((255, 153, 51), "orange: atoms matched by the concept; (+) the molecule has "
                  "the concept, (-) it does not")]  # fmt: skip
    else:
        return "", 0
    parts, x = [], 8
    for (r, g, b), label in items:
        parts.append(f'<circle cx="{x + 7}" cy="{y + 11}" r="7" fill="rgb({r},{g},{b})"/>'
                     f'<text x="{x + 20}" y="{y + 16}" font-family="sans-serif" '
                     f'font-size="{LABEL_FONT_PX}" fill="#222">{html.escape(label)}</text>')  # fmt: skip
        x += 30 + int(len(label) * LABEL_FONT_PX * 0.55)
    return "".join(parts), 24


def _compose_svg(prepared, legends, h_atoms, h_colours, h_radii, cols, size, key) -> str:
    """A grid of molecules with legends as SVG ``<text>`` (not RDKit glyphs), >= 13 px."""
    w, h = size
    n_lines = max(1, max(len(x.split("\n")) for x in legends)) if any(legends) else 0
    line_h = LABEL_FONT_PX + 3
    cell_h = h + n_lines * line_h + (6 if n_lines else 0)
    rows = (len(prepared) + cols - 1) // cols
    parts = []
    for k, mol in enumerate(prepared):
        x, y = (k % cols) * w, (k // cols) * cell_h
        parts.append(f'<svg x="{x}" y="{y}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
                     f'overflow="hidden">{_mol_svg(mol, h_atoms[k], h_colours[k], h_radii[k], w, h)}</svg>')  # fmt: skip
        for i, line in enumerate(legends[k].split("\n") if legends[k] else []):
            parts.append(f'<text class="legend" x="{x + w / 2:.0f}" y="{y + h + (i + 1) * line_h}" '
                         f'text-anchor="middle" font-family="sans-serif" font-size="{LABEL_FONT_PX}" '
                         f'fill="#222">{html.escape(line)}</text>')  # fmt: skip
    key_svg, key_h = _key_svg(key, rows * cell_h + 4)
    total_w, total_h = cols * w, rows * cell_h + key_h + (8 if key_h else 0)
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{total_w}px" '
        f'height="{total_h}px" viewBox="0 0 {total_w} {total_h}">'
        f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}{key_svg}</svg>\n'
    )


def substructure_atoms(smiles: str, smarts: str) -> list[int]:
    """Atom indices of ``smiles`` matched by the SMARTS pattern (all matches joined)."""
    mol = Chem.MolFromSmiles(smiles)
    patt = Chem.MolFromSmarts(smarts)
    if patt is None:
        raise MolprobeError(f"not a valid SMARTS pattern: {smarts!r}")
    if mol is None:
        return []
    return sorted({a for match in mol.GetSubstructMatches(patt) for a in match})
