"""Cost of the structural alerts per molecule, three exact ways, in one run.

    .venv/bin/python benchmarks/bench_alerts.py [--n 20000] [--rounds 2]

On the first ``--n`` parsable molecules of Tox21 + MUV (``MOLPROBE_MIRROR`` or
/work/shared/data), one thread, CPU seconds per molecule of:

- ``plain``: one ``HasSubstructMatch`` per alert SMARTS (``match_alerts_plain``, the reference);
- ``filter catalog``: one RDKit ``FilterCatalog`` pass over all alerts (``match_alerts``,
  what screening runs);
- ``pattern-fingerprint pre-screen``: RDKit's exact substructure screen (issue 19 item 5):
  the molecule's ``PatternFingerprint`` (2048 bits), then ``HasSubstructMatch`` only for the
  alerts whose query bits it holds (``AllProbeBitsMatch``), the way ``SubstructLibrary``
  screens; also the fingerprint alone.

Each way must give the same alert names for every molecule (the run stops otherwise).
Printed: microseconds per molecule (median over ``--rounds`` interleaved rounds), the share of
(molecule, alert) matches the pre-screen leaves to run, and the ratios to ``plain``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pandas as pd
from rdkit import Chem, DataStructs, RDLogger

from molprobe.chem.alerts import _compiled, match_alerts, match_alerts_plain

RDLogger.DisableLog("rdApp.*")
FP_SIZE = 2048


def molecules(n: int) -> list[Chem.Mol]:
    """The first ``n`` parsable Tox21 then MUV molecules of the mirror."""
    mirror = Path(os.environ.get("MOLPROBE_MIRROR", "/work/shared/data"))
    smiles = []
    for name in ("tox21.csv.gz", "muv.csv.gz"):
        smiles += pd.read_csv(mirror / name, usecols=["smiles"])["smiles"].tolist()
    mols = [m for m in map(Chem.MolFromSmiles, smiles[: int(n * 1.05) + 100]) if m is not None]
    if len(mols) < n:
        raise SystemExit(f"only {len(mols)} parsable molecules, --n {n}")
    return mols[:n]


def prescreened(mols, queries, counts: dict) -> list[list[str]]:
    """Alert names per molecule through the pattern-fingerprint screen; ``counts["run"]``:
    the (molecule, alert) matches it left to run."""
    out, n_run = [], 0
    for mol in mols:
        fp = Chem.PatternFingerprint(mol, fpSize=FP_SIZE)
        names = []
        for name, patt, bits in queries:
            if DataStructs.AllProbeBitsMatch(bits, fp):
                n_run += 1
                if mol.HasSubstructMatch(patt):
                    names.append(name)
        out.append(names)
    counts["run"] = n_run
    return out


def cpu(fn, *args):
    t = time.process_time()
    out = fn(*args)
    return time.process_time() - t, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20_000, help="molecules")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    args = p.parse_args(argv)
    mols = molecules(args.n)
    queries = [(name, patt, Chem.PatternFingerprint(patt, fpSize=FP_SIZE))
               for name, patt in _compiled()]  # fmt: skip
    counts: dict[str, int] = {}
    ways = {
        "plain (one HasSubstructMatch per SMARTS)": lambda: [match_alerts_plain(m) for m in mols],
        "filter catalog (screening)": lambda: [match_alerts(m) for m in mols],
        "pattern-fingerprint pre-screen": lambda: prescreened(mols, queries, counts),
        "pattern fingerprint alone": lambda: [
            Chem.PatternFingerprint(m, fpSize=FP_SIZE) for m in mols
        ],  # fmt: skip
    }
    seconds: dict[str, list[float]] = {k: [] for k in ways}
    reference = None
    for _ in range(args.rounds):
        for name, fn in ways.items():
            dt, out = cpu(fn)
            seconds[name].append(dt)
            if name.startswith("plain"):
                reference = out
            elif "alone" not in name and out != reference:
                raise SystemExit(f"{name}: alerts differ from one match per SMARTS")
    flagged = sum(bool(r) for r in reference)
    print(f"{len(mols)} molecules (Tox21 + MUV), {len(queries)} alerts, {flagged} molecules "
          f"with an alert; identical alerts in every way; {args.rounds} rounds, one thread")  # fmt: skip
    plain = statistics.median(seconds[next(iter(ways))])
    for name in ways:
        s = statistics.median(seconds[name])
        print(f"  {name:42s} {s / len(mols) * 1e6:7.1f} us/molecule  {s / plain:5.2f} x plain")
    share = counts["run"] / (len(mols) * len(queries))
    print(f"  the pre-screen leaves {share:.1%} of the (molecule, alert) matches to run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
