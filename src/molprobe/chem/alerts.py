"""Named structural alerts (toxicophores), each with its SMARTS and literature source.

Sources:
- ``Kazius2005``: J. Kazius, R. McGuire, R. Bursi, "Derivation and validation of toxicophores
  for mutagenicity prediction", J. Med. Chem. 48 (2005) 312-320 (Ames mutagenicity alerts;
  the SMARTS here follow the paper's verbal definitions and the ToxAlerts/OCHEM encodings).
- ``BenigniBossa2008``: R. Benigni, C. Bossa, "Structure alerts for carcinogenicity, and the
  Salmonella assay system: a novel insight through the chemical relational databases
  technology", Mutat. Res. 659 (2008) 248-261 (ISSCAN / Toxtree rulebase).

Screening uses :func:`match_alerts` (one RDKit ``FilterCatalog`` pass over all alerts: the
same matches as one ``HasSubstructMatch`` per SMARTS, checked on 50,000 Tox21 and MUV molecules
by the tests, about 20 % cheaper); concept probing uses :func:`alert_matches` to get the atoms
of each alert (RDKit atom indices of ``Chem.MolFromSmiles(smiles)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem
from rdkit.Chem import FilterCatalog

from molprobe.errors import MolprobeError


@dataclass(frozen=True)
class Alert:
    """One structural alert: ``name`` (snake case), ``smarts``, ``source`` key, ``description``."""

    name: str
    smarts: str
    source: str
    description: str


ALERTS: tuple[Alert, ...] = (
    # --- Kazius 2005 mutagenicity toxicophores
    Alert("aromatic_nitro", "a[$([NX3](=O)=O),$([NX3+](=O)[O-])](~[OX1])~[OX1]", "Kazius2005",
          "nitro group on an aromatic atom"),
    Alert("aromatic_amine", "a[NX3;H2,$([H1][CH3]);!$(N[C,S]=[O,S,N])]", "Kazius2005",
          "primary or N-methyl amine on an aromatic atom (not an amide)"),
    Alert("aromatic_nitroso", "a[NX2]=O", "Kazius2005", "nitroso group on an aromatic atom"),
    Alert("alkyl_nitrite", "[CX4]O[NX2]=O", "Kazius2005", "alkyl ester of nitrous acid"),
    Alert("n_nitroso", "[#7][NX2]=O", "Kazius2005", "N-nitroso (nitrosamine, nitrosamide)"),
    Alert("epoxide", "C1OC1", "Kazius2005", "three-membered cyclic ether"),
    Alert("aziridine", "C1NC1", "Kazius2005", "three-membered cyclic amine"),
    Alert("azide", "[$(N=[N+]=[N-]),$([N-][N+]#N),$(N=N=N)]", "Kazius2005", "azide group"),
    Alert("diazo", "[$([#6]=[N+]=[N-]),$([#6-][N+]#N),$([#6]=N=N)]", "Kazius2005",
          "diazo carbon"),
    Alert("triazene", "[NX2]=[NX2]-[NX3]", "Kazius2005", "triazene N=N-N"),
    Alert("aromatic_azo", "a[NX2]=[NX2]a", "Kazius2005", "azo group between two aromatic atoms"),
    Alert("unsubstituted_heteroatom_bonded_heteroatom", "[OH1,NH2;!$(*[#6,#16]=[O,S,N])][N,O]",
          "Kazius2005", "NH2 or OH bonded to another N or O (hydroxylamine, hydrazine, peroxide)"),
    Alert("aromatic_hydroxylamine", "a[NX3][OX2H1]", "Kazius2005",
          "N-hydroxy group on an aromatic amine"),
    Alert("aromatic_hydroxylamine_ester", "a[NX3]O[CX3,SX4]=O", "Kazius2005",
          "ester of an aromatic hydroxylamine"),
    Alert("aliphatic_halide", "[CX4;!$(C([F,Cl,Br,I])([F,Cl,Br,I])[F,Cl,Br,I])][Cl,Br,I]",
          "Kazius2005", "Cl, Br or I on an sp3 carbon (not trihalomethyl)"),
    Alert("carboxylic_acid_halide", "[CX3](=O)[F,Cl,Br,I]", "Kazius2005", "acyl halide"),
    Alert("nitrogen_or_sulfur_mustard", "[NX3,SX2][CH2][CH2][Cl,Br,I]", "Kazius2005",
          "2-haloethyl on N or S"),
    Alert("polycyclic_aromatic_phenanthrene", "a1aaa2a(a1)aaa1aaaaa12", "Kazius2005",
          "three angularly fused aromatic rings (bay region)"),
    Alert("polycyclic_aromatic_anthracene", "a1aaa2aa3aaaaa3aa2a1", "Kazius2005",
          "three linearly fused aromatic rings"),
    Alert("alkyl_sulfonate_or_sulfate", "[CX4]O[SX4](=O)(=O)[#6,OX2]", "Kazius2005",
          "alkyl ester of a sulfonic or sulfuric acid"),
    Alert("ab_unsaturated_aldehyde", "[CX3]=[CX3][CX3H1]=O", "Kazius2005",
          "alpha,beta-unsaturated aldehyde"),
    Alert("aromatic_diazonium", "a[N+]#N", "Kazius2005", "aryl diazonium"),
    Alert("beta_propiolactone", "O=C1CCO1", "Kazius2005", "four-membered lactone"),
    Alert("aryl_alkyl_hydrazine", "a[NH1][NH1][CX4]", "Kazius2005",
          "1-aryl-2-monoalkyl hydrazine"),
    # --- Benigni-Bossa 2008 (Toxtree) alerts not covered above
    Alert("aldehyde", "[CX3H1](=O)[#6]", "BenigniBossa2008", "simple aldehyde (SA_10)"),
    Alert("hydrazine", "[NX3;!$(N[C,S]=[O,S])][NX3;!$(N[C,S]=[O,S])]", "BenigniBossa2008",
          "hydrazine (SA_13)"),
    Alert("michael_acceptor", "[CH2]=[CH1][CX3,SX4](=O)", "BenigniBossa2008",
          "terminal alpha,beta-unsaturated carbonyl (SA_10 family)"),
    Alert("isocyanate_or_isothiocyanate", "N=C=[O,S]", "BenigniBossa2008",
          "isocyanate / isothiocyanate (SA_12)"),
    Alert("quinone", "[#6]1(=O)[#6]=,:[#6][#6](=O)[#6]=,:[#6]1", "BenigniBossa2008",
          "para-quinone (SA_16)"),
    Alert("halogenated_benzene", "c1([Cl,Br,I])c([Cl,Br,I])cccc1", "BenigniBossa2008",
          "ortho-dihalogenated benzene (nongenotoxic carcinogen alert SA_29 family)"),
)  # fmt: skip


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, Chem.Mol], ...]:
    out = []
    for alert in ALERTS:
        patt = Chem.MolFromSmarts(alert.smarts)
        if patt is None:
            raise MolprobeError(f"alert {alert.name!r}: invalid SMARTS {alert.smarts!r}")
        out.append((alert.name, patt))
    return tuple(out)


@lru_cache(maxsize=1)
def _catalog() -> tuple[FilterCatalog.FilterCatalog, dict[str, int]]:
    """All alerts in one FilterCatalog (entry description = alert name) and each name's rank."""
    catalog = FilterCatalog.FilterCatalog()
    for name, patt in _compiled():
        matcher = FilterCatalog.SmartsMatcher(name, patt, 1)
        catalog.AddEntry(FilterCatalog.FilterCatalogEntry(name, matcher))
    return catalog, {name: i for i, (name, _) in enumerate(_compiled())}


def alert_names() -> list[str]:
    """Names of all alerts, in library order."""
    return [a.name for a in ALERTS]


def alert_matches(mol: Chem.Mol) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Every alert that matches ``mol`` -> its unique substructure matches (atom index tuples)."""
    found = {}
    for name, patt in _compiled():
        matches = mol.GetSubstructMatches(patt, uniquify=True, maxMatches=1000)
        if matches:
            found[name] = matches
    return found


def match_alerts(mol: Chem.Mol | str) -> list[str]:
    """Names of the alerts present in ``mol`` (a molecule or a SMILES), in library order."""
    if isinstance(mol, str):
        parsed = Chem.MolFromSmiles(mol)
        if parsed is None:
            raise MolprobeError(f"cannot parse SMILES {mol!r}")
        mol = parsed
    catalog, rank = _catalog()
    return sorted({e.GetDescription() for e in catalog.GetMatches(mol)}, key=rank.__getitem__)


def match_alerts_plain(mol: Chem.Mol) -> list[str]:
    """:func:`match_alerts` by one ``HasSubstructMatch`` per alert (the reference it must equal)."""
    return [name for name, patt in _compiled() if mol.HasSubstructMatch(patt)]
