"""Applicability domain: max Tanimoto similarity (ECFP4, 2048 bits) to the training molecules.

A library molecule is *in domain* when its nearest training neighbour has Tanimoto
similarity >= ``threshold`` (default 0.35; below ~0.3 ECFP4 neighbours are rarely related).

The reference fingerprints are kept bit-major, as a 0/1 matrix (n_bits, n_reference) uint8
(12 MB for 6,000 training molecules): a query's ~50 on-bits select ~50 rows whose column
sums are the bits it shares with every reference molecule. That is about 10x faster than
RDKit's ``BulkTanimotoSimilarity`` per query and gives the same float32 values (RDKit's
float64 quotients rounded; computed in float32, which rounds them identically).

Fingerprinting the reference (parse + ECFP4, ~0.2 ms per molecule: 1.3 CPU-s for 6,000) is
paid once per reference set: ``fit(..., cache_dir=...)`` keeps the bits packed (256 bytes a
molecule) in ``domain-<hash>.npy``, the hash covering the unique reference SMILES, the
fingerprint and the RDKit version, so every later screening process (cluster chunk) loads them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem, RDLogger, rdBase

from molprobe.chem.featurize import ECFP
from molprobe.fileio import atomic_path

DEFAULT_THRESHOLD = 0.35
N_BITS = 2048
RADIUS = 2
CACHE_ENV = "MOLPROBE_CACHE_DIR"  # folder of cached reference fingerprints; empty: no cache


def default_cache_dir() -> Path | None:
    """``$MOLPROBE_CACHE_DIR``, else ``$XDG_CACHE_HOME/molprobe``, else ``~/.cache/molprobe``;
    None (no cache) when ``MOLPROBE_CACHE_DIR`` is set but empty."""
    if CACHE_ENV in os.environ:
        return Path(os.environ[CACHE_ENV]) if os.environ[CACHE_ENV] else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "molprobe"


def fingerprint_featurizer() -> ECFP:
    """The domain's fingerprint: the ECFP featurizer with radius 2, 2048 bits, no counts,
    no chirality (its ``spec`` names the cached block screening shares with ECFP models)."""
    return ECFP(radius=RADIUS, n_bits=N_BITS)


def fingerprints(mols: Sequence[Chem.Mol | None]) -> np.ndarray:
    """ECFP4 bits of ``mols``, uint8 0/1 (n, N_BITS); zeros for None: exactly the block the
    featurizer of :func:`fingerprint_featurizer` gives, so screening computes it once."""
    fp = fingerprint_featurizer()
    out = np.zeros((len(mols), N_BITS), dtype=np.uint8)
    for i, mol in enumerate(mols):
        if mol is not None:
            out[i] = fp.mol_features(mol)
    return out


@dataclass
class DomainModel:
    """Nearest-neighbour applicability domain over a reference set of SMILES."""

    threshold: float = DEFAULT_THRESHOLD

    def fit(self, smiles: Sequence[str], cache_dir: str | os.PathLike | None = None) -> DomainModel:
        """Fingerprint the unique, parsable reference SMILES (unparsable ones are skipped);
        with ``cache_dir``, load them from / save them to its cache file (module docstring)."""
        unique = list(dict.fromkeys(smiles))  # order kept
        cache = None if cache_dir is None else Path(cache_dir) / f"domain-{_key(unique)}.npy"
        packed = _read_packed(cache) if cache is not None else None
        if packed is None:
            RDLogger.DisableLog("rdApp.*")
            mols = [m for m in map(Chem.MolFromSmiles, unique) if m is not None]
            packed = np.packbits(fingerprints(mols), axis=1)  # (n_reference, N_BITS / 8)
            if cache is not None:
                _write_packed(cache, packed)
        # bit-major straight from the bytes (row 8j + k: bit k of byte j), no 12 MB transpose
        bits = np.unpackbits(np.ascontiguousarray(packed.T), axis=0, count=N_BITS)
        self.reference_bits_ = bits  # uint8 0/1 (n_bits, n_reference)
        self.reference_counts_ = bits.sum(axis=0, dtype=np.int64)  # (n_reference,) on-bits
        return self

    @property
    def n_reference(self) -> int:
        return int(self.reference_bits_.shape[1])

    def similarity(self, mols: Sequence[Chem.Mol | None]) -> np.ndarray:
        """Max Tanimoto to the reference per molecule, float32 (n,); NaN for None."""
        return self.similarity_from_fingerprints(fingerprints(mols), [m is not None for m in mols])

    def similarity_from_fingerprints(
        self, bits: np.ndarray, valid: Sequence[bool] | np.ndarray | None = None
    ) -> np.ndarray:
        """Max Tanimoto per molecule from its ECFP4 bits (uint8 0/1, (n, N_BITS), as
        :func:`fingerprints` gives), float32 (n,); NaN where ``valid`` is False.

        Two empty fingerprints have similarity 0, as in RDKit.
        """
        out = np.full(len(bits), np.nan, dtype=np.float32)
        if self.n_reference == 0:
            return out
        ref = self.reference_bits_
        counts = self.reference_counts_.astype(np.float32)  # exact: < 2**24
        valid = np.ones(len(bits), bool) if valid is None else np.asarray(valid, bool)
        for i in np.flatnonzero(valid):
            on = np.flatnonzero(bits[i])
            if on.size == 0:
                out[i] = 0.0
                continue
            # shared bits fit in uint8 when the query has < 256 on-bits (nearly always):
            # a uint8 row sum runs twice as fast as a widening uint16 one
            dtype = np.uint8 if on.size < 256 else np.uint16
            shared = np.add.reduce(ref[on], axis=0, dtype=dtype).astype(np.float32)
            # float32 division of integers < 2**24 is correctly rounded, and a quotient of
            # integers < 2**12 is never within 2**-37 of a float32 tie: the same float32 as
            # the float64 quotient rounded (and max commutes with monotone rounding)
            out[i] = np.max(shared / ((counts + on.size) - shared))  # union > 0
        return out

    def in_domain(self, similarity: np.ndarray) -> np.ndarray:
        return np.nan_to_num(similarity, nan=0.0) >= self.threshold


def _key(unique: Sequence[str]) -> str:
    digest = hashlib.sha256(f"ecfp r{RADIUS} {N_BITS} bits rdkit {rdBase.rdkitVersion}".encode())
    digest.update("\n".join(unique).encode())
    return digest.hexdigest()[:32]


def _read_packed(path: Path) -> np.ndarray | None:
    try:
        packed = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None  # absent or unreadable: fingerprint anew
    ok = packed.dtype == np.uint8 and packed.ndim == 2 and packed.shape[1] == N_BITS // 8
    return packed if ok else None


def _write_packed(path: Path, packed: np.ndarray) -> None:
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, packed, allow_pickle=False)
    except OSError:  # a read-only or full cache folder only costs the next process time
        pass
