"""Credit per atom, bond and descriptor of each molecule, from the raw attributions.

- Vector nets (ECFP and/or descriptor blocks): IG over every column; each on-bit's credit is
  split equally over the atoms of the Morgan environments that set it (RDKit bitInfo), each
  descriptor keeps its own credit (``descriptors``, named by the featurizer spec).
- Graph nets: IG over atom features (summed per atom), bond features (summed over a bond's two
  directed edges, ``bonds``; half of it also goes to each end atom in ``atoms``) and the
  molecule-level descriptors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from molprobe.attribution.integrated import (
    IG_STEPS,
    gradient_x_input,
    graph_integrated_gradients,
    integrated_gradients,
)
from molprobe.errors import MolprobeError


@dataclass
class MoleculeAttribution:
    """Credit of one molecule for one task's logit.

    atoms (n_atoms,): atom credit (RDKit order of ``Chem.MolFromSmiles``), including the
    atom-mapped share of fingerprint bits / bonds; bonds (n_bonds,): bond credit (graph nets;
    empty otherwise); descriptors: name -> credit of each descriptor input; unmapped: credit
    that maps to no atom (fingerprint bits set by no environment); delta: completeness gap
    f(x) - f(baseline) - total credit (NaN for gradient x input).
    """

    atoms: np.ndarray
    bonds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    descriptors: dict[str, float] = field(default_factory=dict)
    unmapped: float = 0.0
    delta: float = float("nan")

    @property
    def total(self) -> float:
        """Sum of all credit (atoms already hold the bonds' credit)."""
        return float(self.atoms.sum() + sum(self.descriptors.values()) + self.unmapped)


def ecfp_bit_atoms(
    mol: Chem.Mol, radius: int = 2, n_bits: int = 2048, chirality: bool = False
) -> dict[int, list[int]]:
    """Folded ECFP bit -> the atoms of every environment that sets it (an atom appears once per
    environment it belongs to). Same generator settings as :class:`molprobe.chem.featurize.ECFP`."""
    gen = rdFingerprintGenerator.GetMorganGenerator(
        radius=radius, fpSize=n_bits, includeChirality=chirality
    )
    ao = rdFingerprintGenerator.AdditionalOutput()
    ao.AllocateBitInfoMap()
    gen.GetFingerprint(mol, additionalOutput=ao)
    out: dict[int, list[int]] = {}
    for bit, envs in ao.GetBitInfoMap().items():
        atoms: list[int] = []
        for center, rad in envs:
            if rad == 0:
                atoms.append(center)
                continue
            env = set()
            for b in Chem.FindAtomEnvironmentOfRadiusN(mol, rad, center):
                bond = mol.GetBondWithIdx(b)
                env.update((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
            atoms += sorted(env) if env else [center]
        out[int(bit)] = atoms
    return out


def bits_to_atoms(bit_attribution: np.ndarray, bit_atoms: dict[int, list[int]], n_atoms: int):
    """Atom scores (n_atoms,) from bit attributions (n_bits,): each bit's credit split equally
    over its environment atoms (``bit_atoms``); bits without environments give nothing."""
    out = np.zeros(n_atoms)
    for bit, atoms in bit_atoms.items():
        if atoms:
            np.add.at(out, atoms, bit_attribution[bit] / len(atoms))
    return out


def vector_blocks(specs: Sequence[dict]) -> list[tuple[dict, slice]] | None:
    """(spec, columns) of each block of a vector model's input, or None when a block is neither
    ``ecfp`` nor ``descriptors`` (no atom mapping known)."""
    out, start = [], 0
    for spec in specs:
        if spec.get("name") == "ecfp":
            width = int(spec["n_bits"])
        elif spec.get("name") == "descriptors":
            width = len(spec["names"])
        else:
            return None
        out.append((spec, slice(start, start + width)))
        start += width
    return out


def attribution_method(model_name: str, featurizers: Sequence[dict]) -> str | None:
    """``integrated_gradients`` (torch vector nets on ECFP/descriptors, graph nets) or None
    (scikit-learn baselines, the SMILES LSTM: no attribution)."""
    from molprobe.models.registry import get_spec

    spec = get_spec(model_name)
    if spec.framework != "torch":
        return None
    if spec.input_kind == "graph":
        return "integrated_gradients"
    if spec.input_kind == "vector" and vector_blocks(featurizers) is not None:
        return "integrated_gradients"
    return None


def _vector(model, specs, X, smiles, task, steps) -> list[MoleculeAttribution]:
    ig, delta = integrated_gradients(model, X, task, steps)
    out = []
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        atoms, desc, unmapped = np.zeros(mol.GetNumAtoms()), {}, 0.0
        for spec, cols in vector_blocks(specs):
            a = ig[i, cols]
            if spec["name"] == "descriptors":
                desc.update(zip(spec["names"], a.astype(float).tolist(), strict=True))
                continue
            bit_atoms = ecfp_bit_atoms(mol, int(spec["radius"]), int(spec["n_bits"]),
                                       bool(spec.get("chirality", False)))  # fmt: skip
            atoms += bits_to_atoms(a, bit_atoms, mol.GetNumAtoms())
            unmapped += float(np.delete(a, list(bit_atoms)).sum())
        out.append(MoleculeAttribution(atoms, np.zeros(0), desc, unmapped, float(delta[i])))
    return out


def _graph(model, specs, store, smiles, task, steps) -> list[MoleculeAttribution]:
    names = [n for s in specs[1:] for n in (s.get("names") or [])]
    edge_index, edge_ptr = store.edge_index.cpu().numpy(), store.edge_ptr.cpu().numpy()
    out = []
    for i, (g, smi) in enumerate(
        zip(graph_integrated_gradients(model, store, task, steps), smiles, strict=True)
    ):
        mol = Chem.MolFromSmiles(smi)
        atoms = g.atoms.sum(axis=1).astype(np.float64)
        bonds = np.zeros(mol.GetNumBonds())
        edges = edge_index[:, edge_ptr[i] : edge_ptr[i + 1]]
        for (u, v), credit in zip(edges.T, g.edges.sum(axis=1), strict=True):
            bond = mol.GetBondBetweenAtoms(int(u), int(v))
            if bond is None:
                raise MolprobeError(f"graph edge {u}-{v} is no bond of {smi!r}")
            bonds[bond.GetIdx()] += credit
            atoms[[u, v]] += credit / 2
        desc = {}
        if g.mol is not None:
            keys = names if len(names) == g.mol.size else [f"mol_{j}" for j in range(g.mol.size)]
            desc = dict(zip(keys, g.mol.astype(float).tolist(), strict=True))
        out.append(MoleculeAttribution(atoms, bonds, desc, 0.0, g.delta))
    return out


def molecule_attributions(
    model,
    model_name: str,
    featurizers: Sequence[dict],
    features,
    smiles: Sequence[str],
    task: int,
    method: str = "integrated_gradients",
    steps: int = IG_STEPS,
) -> list[MoleculeAttribution]:
    """Credit of each molecule for the logit of ``task`` (an index into the model's tasks).

    Args:
        model: a torch model; model_name / featurizers: its registry name and featurizer specs
            (meta.json); features: its input for exactly these ``smiles`` (vector (n, F) array
            or GraphStore with molecule features), built as at training.
        method: ``integrated_gradients`` (every input) or ``gradient_x_input`` (graph nets,
            atom features only: the cheap screening view).
    """
    if attribution_method(model_name, featurizers) is None:
        raise MolprobeError(f"no attribution method for model {model_name!r}")
    if method == "gradient_x_input":
        if isinstance(features, np.ndarray):
            raise MolprobeError("gradient_x_input covers graph nets only")
        return [MoleculeAttribution(np.asarray(a, dtype=np.float64))
                for a in gradient_x_input(model, features, task)]  # fmt: skip
    if method != "integrated_gradients":
        raise MolprobeError(f"unknown attribution method {method!r}")
    if isinstance(features, np.ndarray):
        return _vector(model, featurizers, features, smiles, task, steps)
    return _graph(model, featurizers, features, smiles, task, steps)
