"""Vector featurizers (ECFP, RDKit descriptors), the featurizer registry, parallel featurization
and the feature cache.

A featurizer is a small callable with a JSON-serialisable ``spec`` (``{"name": ..., **params}``)
that is saved with every model; :func:`make_featurizer` rebuilds it from that spec, so screening
featurizes exactly as training did. Inputs are standardized canonical SMILES (the ``smiles``
column of molecules.parquet); a SMILES that does not parse raises :class:`MolprobeError`.

Registry names: ``ecfp`` (:class:`ECFP`), ``descriptors`` (:class:`RDKitDescriptors`),
``descriptors_fast`` (:class:`FastDescriptors`, the cheap subset :data:`FAST_DESCRIPTORS`),
``graph`` (:class:`molprobe.chem.graphs.MolGraph`), ``tokens``
(:class:`molprobe.chem.tokens.SmilesTokenizer`).
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import multiprocessing
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator

from molprobe.errors import MolprobeError
from molprobe.fileio import write_bytes

RDLogger.DisableLog("rdApp.*")

#: Descriptor values beyond this magnitude (e.g. ``Ipc`` of large molecules) are treated as missing.
DESCRIPTOR_ABS_MAX = 1e10


def parse_smiles(smiles: str) -> Chem.Mol:
    """Parse one (standardized) SMILES; raise MolprobeError naming it if RDKit cannot."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise MolprobeError(f"RDKit cannot parse SMILES {smiles!r} (standardize the input first)")
    return mol


# ----------------------------------------------------------------------------- ECFP


class ECFP:
    """Morgan / ECFP fingerprints (radius 2 = ECFP4), folded to ``n_bits``.

    ``__call__(smiles)`` returns uint8 (n_molecules, n_bits): bits 0/1, or with ``counts=True``
    the number of times a bit's environments occur, capped at 255.
    """

    name = "ecfp"

    def __init__(
        self, radius: int = 2, n_bits: int = 2048, counts: bool = False, chirality: bool = False
    ):
        if int(radius) < 0 or int(n_bits) < 1:
            raise MolprobeError(f"ecfp: need radius >= 0 and n_bits >= 1, got {radius}, {n_bits}")
        self.radius = int(radius)
        self.n_bits = int(n_bits)
        self.counts = bool(counts)
        self.chirality = bool(chirality)
        self._gen = rdFingerprintGenerator.GetMorganGenerator(
            radius=self.radius, fpSize=self.n_bits, includeChirality=self.chirality
        )

    @property
    def spec(self) -> dict:
        return {
            "name": self.name,
            "radius": self.radius,
            "n_bits": self.n_bits,
            "counts": self.counts,
            "chirality": self.chirality,
        }

    @property
    def n_features(self) -> int:
        return self.n_bits

    def mol_features(self, mol: Chem.Mol) -> np.ndarray:
        """Fingerprint of one RDKit molecule, uint8 (n_bits,)."""
        if self.counts:
            return np.minimum(self._gen.GetCountFingerprintAsNumPy(mol), 255).astype(np.uint8)
        return self._gen.GetFingerprintAsNumPy(mol)

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.empty((len(smiles), self.n_bits), dtype=np.uint8)
        gen = self._gen
        fp = gen.GetCountFingerprintAsNumPy if self.counts else gen.GetFingerprintAsNumPy
        from_smiles = Chem.MolFromSmiles
        for i, smi in enumerate(smiles):
            mol = from_smiles(smi)
            if mol is None:
                parse_smiles(smi)  # raises with the SMILES named
            if self.counts:
                np.minimum(fp(mol), 255, out=out[i], casting="unsafe")
            else:
                out[i] = fp(mol)
        return out

    def __repr__(self) -> str:
        return f"ECFP(radius={self.radius}, n_bits={self.n_bits}, counts={self.counts}, chirality={self.chirality})"


# ----------------------------------------------------------------------------- descriptors


# RDKit's four E-state extremes each recompute all E-state indices (an O(n_atoms^2) Python
# loop, ~0.25 ms per molecule) unless called with force=False, which reads the indices the
# first call cached on the molecule: same values, three computations fewer per molecule
_ESTATE_EXTREMES = ("MaxEStateIndex", "MinEStateIndex", "MaxAbsEStateIndex", "MinAbsEStateIndex")
_RDKIT_CACHES = ("_eStateIndices", "_vsaEState", "_eStateVSA")  # per-molecule caches of RDKit


def descriptor_functions() -> dict[str, Any]:
    """RDKit descriptor name -> function of a molecule, in ``Descriptors._descList`` order."""
    from rdkit.Chem import Descriptors

    functions = dict(Descriptors._descList)
    for name in _ESTATE_EXTREMES:
        if name in functions:
            functions[name] = functools.partial(functions[name], force=False)
    return functions


#: RDKit's binned VSA families: ``<prefix><k>`` is bin k-1 of one rdMolDescriptors call
_VSA_FAMILIES = ("PEOE_VSA", "SMR_VSA", "SlogP_VSA")


def _plan_descriptors(names: Sequence[str], functions: Sequence[Any]):
    """Split descriptors into ``singles`` [(column, fn)] and ``groups`` [(binned fn,
    [(column, bin)])]: RDKit's ``PEOE_VSA3`` is ``PEOE_VSA_(mol, force=False)[2]``, so one
    ``PEOE_VSA_`` call per molecule gives every bin (same values, ~14x fewer calls)."""
    from rdkit.Chem import rdMolDescriptors

    singles, grouped = [], {}
    for j, (name, fn) in enumerate(zip(names, functions, strict=True)):
        match = re.fullmatch(r"(PEOE_VSA|SMR_VSA|SlogP_VSA)(\d+)", name)
        if match is None:
            singles.append((j, fn))
        else:
            grouped.setdefault(match.group(1), []).append((j, int(match.group(2)) - 1))
    groups = [(getattr(rdMolDescriptors, f"{prefix}_"), grouped[prefix])
              for prefix in _VSA_FAMILIES if prefix in grouped]  # fmt: skip
    return singles, groups


class RDKitDescriptors:
    """All RDKit 2D descriptors (``rdkit.Chem.Descriptors._descList``), float32 (n, n_descriptors).

    Values that raise, are NaN/inf or exceed 1e10 in magnitude come out as NaN; impute and
    scale them with :class:`DescriptorScaler` fitted on training rows. ``names`` fixes the
    descriptor list (saved in the spec) so a model trained with one RDKit version refuses a
    different list rather than silently shifting columns.
    """

    name = "descriptors"

    def __init__(self, names: Sequence[str] | None = None):
        available = descriptor_functions()
        if names is None:
            names = list(available)
        missing = [n for n in names if n not in available]
        if missing:
            raise MolprobeError(
                f"descriptors: this RDKit has no descriptor(s) {missing[:5]}"
                f"{' ...' if len(missing) > 5 else ''}; the features were made with another RDKit version"
            )
        self.names = list(names)
        self._functions = [available[n] for n in self.names]
        self._singles, self._groups = _plan_descriptors(self.names, self._functions)

    @property
    def spec(self) -> dict:
        return {"name": self.name, "names": list(self.names)}

    @property
    def n_features(self) -> int:
        return len(self.names)

    def mol_features(self, mol: Chem.Mol) -> np.ndarray:
        """Descriptors of one molecule, float64 (n_descriptors,), NaN where undefined."""
        for cache in _RDKIT_CACHES:  # computed afresh for this molecule, then shared
            if hasattr(mol, cache):
                delattr(mol, cache)
        values = np.full(len(self._functions), np.nan)
        for j, fn in self._singles:
            try:
                v = float(fn(mol))
            except Exception:  # RDKit descriptors raise assorted errors on odd molecules
                continue
            if math.isfinite(v) and abs(v) <= DESCRIPTOR_ABS_MAX:
                values[j] = v
        for binned, columns in self._groups:  # one call fills every bin of a VSA family
            try:
                bins = binned(mol, force=False)
            except Exception:
                continue
            for j, k in columns:
                v = float(bins[k])
                if math.isfinite(v) and abs(v) <= DESCRIPTOR_ABS_MAX:
                    values[j] = v
        return values

    @property
    def atom_order_free(self) -> bool:
        """Whether every descriptor of the set has the same value in any atom order of a
        molecule, to float rounding (:data:`ATOM_ORDER_FREE_DESCRIPTORS`)."""
        return set(self.names) <= ATOM_ORDER_FREE_DESCRIPTORS

    def __call__(
        self, smiles: Sequence[str], mols: Sequence[Chem.Mol | None] | None = None
    ) -> np.ndarray:
        """float32 (n, n_features) for ``smiles``. ``mols``: aligned with ``smiles``, each
        exactly ``Chem.MolFromSmiles(smiles[i])`` (parsed from that very string, so atom
        order and every value are the same; for an `atom_order_free` set, the molecule of
        ``smiles[i]`` in any atom order) or None; given ones are read, not parsed again."""
        out = np.empty((len(smiles), self.n_features), dtype=np.float32)
        if mols is not None and len(mols) != len(smiles):
            raise MolprobeError(f"{len(mols)} molecules for {len(smiles)} SMILES")
        for i, smi in enumerate(smiles):
            mol = mols[i] if mols is not None else None
            out[i] = self.mol_features(mol if mol is not None else parse_smiles(smi))
        return out

    def __repr__(self) -> str:
        return f"RDKitDescriptors({self.n_features} descriptors)"


#: The ``descriptors_fast`` set (45 of the 217, RDKit order): every descriptor that costs
#: <= 9 µs per molecule on its own (counts, weights, rings, stereo centres, Chi0/Chi1, Kappa1,
#: HallKierAlpha, LabuteASA, TPSA; ``benchmarks/bench_descriptors.py``), plus the 14
#: PEOE_VSA bins (Gasteiger charge x surface, one RDKit call for all). Left out as too slow:
#: Crippen logP/MR and their VSA bins (~330 µs), E-state (~250 µs), QED, BCUT2D, BertzCT, Ipc,
#: higher Chi/Kappa, fragment counts (~5 µs each, 85 of them, which ECFP bits cover).
FAST_DESCRIPTORS: tuple[str, ...] = (
    "MolWt",
    "HeavyAtomMolWt",
    "ExactMolWt",
    "Chi0n",
    "Chi0v",
    "Chi1n",
    "Chi1v",
    "HallKierAlpha",
    "Kappa1",
    "LabuteASA",
    "PEOE_VSA1",
    "PEOE_VSA10",
    "PEOE_VSA11",
    "PEOE_VSA12",
    "PEOE_VSA13",
    "PEOE_VSA14",
    "PEOE_VSA2",
    "PEOE_VSA3",
    "PEOE_VSA4",
    "PEOE_VSA5",
    "PEOE_VSA6",
    "PEOE_VSA7",
    "PEOE_VSA8",
    "PEOE_VSA9",
    "TPSA",
    "FractionCSP3",
    "HeavyAtomCount",
    "NHOHCount",
    "NOCount",
    "NumAliphaticCarbocycles",
    "NumAliphaticHeterocycles",
    "NumAliphaticRings",
    "NumAmideBonds",
    "NumAromaticCarbocycles",
    "NumAromaticHeterocycles",
    "NumAromaticRings",
    "NumAtomStereoCenters",
    "NumHDonors",
    "NumHeteroatoms",
    "NumHeterocycles",
    "NumSaturatedCarbocycles",
    "NumSaturatedHeterocycles",
    "NumSaturatedRings",
    "NumUnspecifiedAtomStereoCenters",
    "RingCount",
)


#: Descriptors whose values do not depend on the atom order of the molecule, to float
#: rounding: the fast set, checked against the canonical parse on 99,963 randomized SMILES of
#: MUV + HIV structures (bitwise equal except 3 HallKierAlpha values, off by <= 1.7e-16;
#: ``tests/screening/test_speedups.py``). Not the full set: AvgIpc differs by up to 0.016 and
#: Gasteiger-charge minima turn NaN in one order (5 of 2,998 molecules), so screening computes
#: it on the parsed canonical SMILES, as training did.
ATOM_ORDER_FREE_DESCRIPTORS: frozenset[str] = frozenset(FAST_DESCRIPTORS)


class FastDescriptors(RDKitDescriptors):
    """Registry name ``descriptors_fast``: :class:`RDKitDescriptors` restricted to
    :data:`FAST_DESCRIPTORS` (float32 (n, len(FAST_DESCRIPTORS))).

    Its spec is a plain ``descriptors`` spec with the names listed, so training scales it,
    checkpoints rebuild it and screening computes it exactly like the full set.
    """

    def __init__(self, names: Sequence[str] | None = None):
        super().__init__(FAST_DESCRIPTORS if names is None else names)


class DescriptorScaler:
    """Median imputation + standardisation + clipping for descriptor matrices.

    Fit on training rows only: ``median_`` fills NaN, then ``(x - mean_) / std_`` (constant
    columns get std 1), then values are clipped to ``±clip`` standard deviations.
    """

    def __init__(self, clip: float = 10.0):
        self.clip = float(clip)

    def fit(self, X: np.ndarray) -> DescriptorScaler:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            raise MolprobeError(f"DescriptorScaler.fit needs a non-empty 2D array, got {X.shape}")
        X = np.where(np.isfinite(X), X, np.nan)
        all_nan = np.isnan(X).all(axis=0)
        median = np.zeros(X.shape[1])
        if (~all_nan).any():
            median[~all_nan] = np.nanmedian(X[:, ~all_nan], axis=0)
        filled = np.where(np.isnan(X), median, X)
        std = filled.std(axis=0)
        std[~(std > 1e-12)] = 1.0
        self.median_ = median
        self.mean_ = filled.mean(axis=0)
        self.std_ = std
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scaled copy, float32 (n, d); NaN/inf become the training median."""
        if not hasattr(self, "mean_"):
            raise MolprobeError("DescriptorScaler: call fit() before transform()")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.mean_.shape[0]:
            raise MolprobeError(
                f"DescriptorScaler: expected (n, {self.mean_.shape[0]}) descriptors, got {X.shape}"
            )
        X = np.where(np.isfinite(X), X, self.median_)
        Z = (X - self.mean_) / self.std_
        return np.clip(Z, -self.clip, self.clip).astype(np.float32)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def to_dict(self) -> dict:
        """JSON-serialisable state (saved next to the model)."""
        if not hasattr(self, "mean_"):
            raise MolprobeError("DescriptorScaler: not fitted")
        return {
            "clip": self.clip,
            "median": self.median_.tolist(),
            "mean": self.mean_.tolist(),
            "std": self.std_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict) -> DescriptorScaler:
        scaler = cls(clip=state["clip"])
        scaler.median_ = np.asarray(state["median"], dtype=np.float64)
        scaler.mean_ = np.asarray(state["mean"], dtype=np.float64)
        scaler.std_ = np.asarray(state["std"], dtype=np.float64)
        return scaler


# ----------------------------------------------------------------------------- registry

#: featurizer name -> class, or "module:Class" imported on first use (keeps torch out of ECFP runs)
FEATURIZERS: dict[str, Any] = {
    "ecfp": ECFP,
    "descriptors": RDKitDescriptors,
    "descriptors_fast": FastDescriptors,
    "ecfp_counts": "molprobe.chem.fingerprints:ECFPCounts",
    "fp_counts": "molprobe.chem.fingerprints:CountFingerprint",
    "graph": "molprobe.chem.graphs:MolGraph",
    "tokens": "molprobe.chem.tokens:SmilesTokenizer",
}


def featurizer_class(name: str) -> type:
    """The class registered under ``name``."""
    try:
        target = FEATURIZERS[name]
    except KeyError:
        raise MolprobeError(
            f"unknown featurizer {name!r}; choose one of {sorted(FEATURIZERS)}"
        ) from None
    if isinstance(target, str):
        module, cls = target.split(":")
        target = getattr(importlib.import_module(module), cls)
    return target


def make_featurizer(spec: dict | str):
    """Build a featurizer from its spec (``{"name": ..., **params}``) or a bare name."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise MolprobeError(f"a featurizer spec needs a 'name', got {spec!r}")
    params = {k: v for k, v in spec.items() if k != "name"}
    cls = featurizer_class(spec["name"])
    if hasattr(cls, "from_spec"):
        return cls.from_spec(spec)
    try:
        return cls(**params)
    except TypeError as err:
        raise MolprobeError(
            f"featurizer {spec['name']!r}: bad parameters {params}: {err}"
        ) from None


def spec_difference(expected: dict, found: dict) -> str | None:
    """A one-line description of how two featurizer specs differ, or None if they are equal."""
    expected = json.loads(json.dumps(expected))
    found = json.loads(json.dumps(found))
    if expected == found:
        return None
    diffs = []
    for key in sorted(set(expected) | set(found), key=lambda k: (k != "name", k)):
        a, b = expected.get(key, "<absent>"), found.get(key, "<absent>")
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            only_a = [x for x in a if x not in b][:3]
            only_b = [x for x in b if x not in a][:3]
            detail = f"{len(b)} entries vs {len(a)} expected"
            if only_a or only_b:
                detail += f" (missing {only_a}, extra {only_b})"
            else:
                detail += " (same entries, different order)"
            diffs.append(f"{key!r}: {detail}")
        else:
            diffs.append(f"{key!r} is {b!r}, expected {a!r}")
    return "; ".join(diffs)


def check_spec(expected: dict, found: dict, what: str = "features") -> None:
    """Raise MolprobeError naming the differing parameter(s) if ``found`` != ``expected``."""
    diff = spec_difference(expected, found)
    if diff is not None:
        raise MolprobeError(f"featurizer mismatch in {what}: {diff}")


# ----------------------------------------------------------------------------- parallel

_WORKER_CACHE: dict[str, Any] = {}


def _worker_featurizer(spec_json: str):
    fz = _WORKER_CACHE.get(spec_json)
    if fz is None:
        fz = make_featurizer(json.loads(spec_json))
        _WORKER_CACHE.clear()
        _WORKER_CACHE[spec_json] = fz
    return fz


def _featurize_chunk(task: tuple[str, list[str]]):
    """Worker: rebuild the featurizer from its spec and featurize one chunk (numpy output)."""
    spec_json, chunk = task
    fz = _worker_featurizer(spec_json)
    # graphs: return plain numpy arrays, so workers never touch torch (safe under fork)
    if hasattr(fz, "compute_arrays"):
        return fz.compute_arrays(chunk)
    return fz(chunk)


def featurize_parallel(
    featurizer,
    smiles: Sequence[str],
    n_jobs: int = 1,
    chunk_size: int = 1000,
    mp_context: str | None = None,
):
    """Featurize ``smiles`` with ``n_jobs`` processes; output rows in input order.

    Workers rebuild the featurizer from ``featurizer.spec`` (works with fork and spawn).
    ``n_jobs <= 0`` uses all cores. Returns what ``featurizer(smiles)`` returns: an array
    (n, n_features) or, for graphs, one concatenated GraphStore.
    """
    smiles = list(smiles)
    if n_jobs <= 0:
        n_jobs = os.cpu_count() or 1
    chunk_size = max(1, int(chunk_size))
    n_chunks = math.ceil(len(smiles) / chunk_size)
    if n_jobs == 1 or n_chunks <= 1:
        return featurizer(smiles)
    # balance: at least 2 chunks per worker when there is enough work
    chunk_size = min(chunk_size, max(1, math.ceil(len(smiles) / (2 * n_jobs))))
    spec_json = json.dumps(featurizer.spec, sort_keys=True)
    tasks = [(spec_json, smiles[i : i + chunk_size]) for i in range(0, len(smiles), chunk_size)]
    ctx = multiprocessing.get_context(mp_context)
    with ctx.Pool(processes=min(n_jobs, len(tasks))) as pool:
        parts = pool.map(_featurize_chunk, tasks, chunksize=1)
    if hasattr(featurizer, "compute_arrays"):
        return featurizer.from_arrays(parts)
    return np.concatenate(parts, axis=0)


# ----------------------------------------------------------------------------- cache


def save_features(path: str | os.PathLike, features, spec: dict) -> None:
    """Write features + their featurizer spec atomically.

    Arrays go to an ``.npz`` holding ``X`` and ``spec`` (JSON text); a GraphStore goes through
    :meth:`GraphStore.save` with the spec inside.
    """
    spec_json = json.dumps(spec, sort_keys=True)
    if isinstance(features, np.ndarray):
        write_bytes(path, lambda fh: np.savez(fh, X=features, spec=np.array(spec_json)))
        return
    if hasattr(features, "save"):
        features.save(path, spec=spec)
        return
    raise MolprobeError(f"save_features: cannot save {type(features).__name__}")


def load_features(path: str | os.PathLike, expected_spec: dict | None = None):
    """Read cached features; returns ``(features, spec)``.

    With ``expected_spec``, refuse (MolprobeError naming the parameter) features made with a
    different featurizer.
    """
    path = Path(path)
    if not path.exists():
        raise MolprobeError(f"{path}: no such feature file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        raise MolprobeError(f"{path}: not a molprobe feature file") from None
    if "X.npy" in names:
        with np.load(path, allow_pickle=False) as data:
            features = data["X"]
            spec = json.loads(str(data["spec"]))
    else:
        from molprobe.chem.graphs import GraphStore

        features = GraphStore.load(path)
        spec = features.spec
        if spec is None:
            raise MolprobeError(f"{path}: graph file carries no featurizer spec")
    if expected_spec is not None:
        check_spec(expected_spec, spec, what=str(path))
    return features, spec
