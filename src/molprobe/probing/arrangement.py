"""Molecules for the planted level-3 control: "a donor and an acceptor 5-7 bonds apart",
built so that nothing local tells positives from negatives.

Each molecule is ``donor + linker + acceptor + tail + cap``: one donor group whose donor atom
starts an unbranched carbon linker, one acceptor group in the chain, an unbranched carbon tail
and a cap. Molecules come in matched pairs, a positive and a negative
with the same building blocks, chain length and cap: only the linker length (and with
it the tail length, so the atom count stays the same) differs. The donor atom is >= 5 bonds from every atom of the
acceptor group (linker >= 4 carbons) and the cap >= 5 bonds from it (tail >= 5), so no ball of
radius 2 around any atom holds both ends of the arrangement, and the multiset of radius-2
environments does not depend on the label: two message-passing steps (and any
count of atoms, groups or centres) carry no information on the label, while a 5-6 bond pair
falls inside one ball of radius 3 and a 7 bond pair inside one of radius 4.

On Tox21 molecules the same label is largely decided by local structure (measured, README
"Probing"): it cannot serve as a control whose answer is known.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from molprobe.chem.centres import find_centres

# donor group, written so that its donor atom is the last atom (bonded to the linker); any
# acceptor of the group itself lies within 2 bonds of its donor atom
DONORS = ("S", "O", "N", "CN", "CC(=O)N", "c1ccccc1N", "CS(=O)(=O)N")
# acceptor group, written from the atom bonded to the linker; no donor in it
ACCEPTORS = ("O", "N(C)", "C(=O)", "C(C#N)", "S(=O)(=O)", "C(=O)O")
CAPS = ("", "F", "Cl", "Br", "C(C)C", "C(C)(C)C", "c1ccccc1", "C1CCCCC1", "C1CCCC1",
        "c1ccc(C)cc1", "c1ccc(Cl)cc1", "C1CC1", "c1ccc2ccccc2c1", "C(F)(F)F")  # fmt: skip
CHAIN = (15, 16, 17)  # linker + tail carbons
LINKERS = {1.0: (4, 5, 6), 0.0: (7, 8, 9, 10)}  # donor atom to acceptor group: linker + 1 bonds


def donor_acceptor_distance_label(mol: Chem.Mol, lo: int = 5, hi: int = 7) -> float:
    """1 when some donor and some acceptor atom are ``lo``..``hi`` bonds apart, 0 when
    not, NaN when the molecule lacks a donor or an acceptor (centres of
    :mod:`molprobe.chem.centres`)."""
    c = find_centres(mol)
    donors = [a for (a,) in c["Donor"]]
    acceptors = [a for (a,) in c["Acceptor"]]
    if not donors or not acceptors:
        return np.nan
    d = Chem.GetDistanceMatrix(mol)[np.ix_(donors, acceptors)]
    return float(((d >= lo) & (d <= hi)).any())


def arrangement_smiles(donor: str, linker: int, acceptor: str, tail: int, cap: str) -> str:
    """SMILES of ``donor + C*linker + acceptor + C*tail + cap``."""
    return donor + "C" * linker + acceptor + "C" * tail + cap


def arrangement_molecules(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``n // 2`` matched pairs of distinct molecules: a positive (a donor and an acceptor 5-7
    bonds apart) and a negative (8 or more bonds apart) with the same donor, acceptor, chain
    length and cap, so their radius-2 environments are the same multiset.

    Returns (canonical smiles, labels (n,) float32 in {0, 1}, groups (n,) int64: the
    building-block combination (donor, acceptor, cap), the analogue of a scaffold for
    grouped folds)."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[tuple[str, float, int]] = []
    for _ in range(200 * n):
        if len(out) >= 2 * (n // 2):
            break
        di, ai, ci = (int(rng.integers(k)) for k in (len(DONORS), len(ACCEPTORS), len(CAPS)))
        chain = int(rng.choice(CHAIN))
        pair = []
        for label in (1.0, 0.0):
            linker = int(rng.choice(LINKERS[label]))
            smi = arrangement_smiles(DONORS[di], linker, ACCEPTORS[ai], chain - linker, CAPS[ci])
            mol = Chem.MolFromSmiles(smi)
            if mol is None or donor_acceptor_distance_label(mol) != label:
                break  # e.g. a carbonyl O 8 bonds from the donor: not a positive
            pair.append(Chem.MolToSmiles(mol))
        if len(pair) == 2 and not seen & set(pair):
            seen |= set(pair)
            group = (di * len(ACCEPTORS) + ai) * len(CAPS) + ci
            out += [(pair[0], 1.0, group), (pair[1], 0.0, group)]
    if len(out) < 2 * (n // 2):
        raise ValueError(f"could not build {n} distinct arrangement molecules")
    order = rng.permutation(len(out))
    smiles = [out[i][0] for i in order]
    labels = np.array([out[i][1] for i in order], np.float32)
    groups = np.array([out[i][2] for i in order], np.int64)
    return smiles, labels, groups
